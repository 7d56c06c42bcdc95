"""A small timing harness shared by the benchmark scripts (no dependencies).

Every contender is timed with ``time.perf_counter_ns`` in *rounds*: each round
runs every contender once for a fixed number of calls, in turn, so that a slow
patch of the machine (a noisy neighbour, a frequency change) hits all of them
alike instead of one. Before the rounds each contender is warmed up, and the
number of calls per sample is calibrated so that one sample lasts at least
``min_sample_s``. The garbage collector stays enabled (real servers run with
it) and ``gc.collect()`` runs before every sample, so that no contender pays
for the garbage of another.

The figure reported is the **median** of the per-call times of the rounds; the
best (minimum) is printed next to it. Ratios are computed from the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Timing",
    "add_arguments",
    "asgi_post",
    "describe_machine",
    "measure",
    "ratio_text",
]


@dataclass(frozen=True)
class Timing:
    """The per-call times (ns) of one contender, one value per round."""

    name: str
    calls: int
    samples_ns: tuple[float, ...]

    @property
    def median_ns(self) -> float:
        """The median per-call time over the rounds."""
        return statistics.median(self.samples_ns)

    @property
    def best_ns(self) -> float:
        """The fastest per-call time over the rounds."""
        return min(self.samples_ns)

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the rounds were."""
        return (max(self.samples_ns) - min(self.samples_ns)) / self.median_ns


def add_arguments(parser: argparse.ArgumentParser, *, rounds: int, sample_s: float) -> None:
    """The options every benchmark script shares."""
    parser.add_argument(
        "--rounds", type=int, default=rounds, help=f"timed rounds (default {rounds})"
    )
    parser.add_argument(
        "--sample-seconds",
        type=float,
        default=sample_s,
        help=f"shortest duration of one sample, in seconds (default {sample_s})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds of short samples, for a smoke test"
    )


def _run(func: Callable[[], object], calls: int) -> int:
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(calls):
        func()
    return time.perf_counter_ns() - start


def _calibrate(func: Callable[[], object], min_sample_s: float, max_calls: int) -> int:
    calls = 1
    while calls < max_calls:
        if _run(func, calls) >= min_sample_s * 1e9:
            break
        calls *= 2
    return min(calls, max_calls)


def measure(
    contenders: Sequence[tuple[str, Callable[[], object]]],
    *,
    rounds: int = 15,
    min_sample_s: float = 0.05,
    warmup_s: float = 0.2,
    max_calls: int = 1 << 20,
) -> list[Timing]:
    """Time each ``(name, func)``: warm-up, calibrate, then interleaved rounds."""
    calls: list[int] = []
    for _, func in contenders:
        deadline = time.perf_counter() + warmup_s
        while time.perf_counter() < deadline:
            func()
        calls.append(_calibrate(func, min_sample_s, max_calls))
    samples: list[list[float]] = [[] for _ in contenders]
    for _ in range(rounds):
        for i, (_, func) in enumerate(contenders):
            samples[i].append(_run(func, calls[i]) / calls[i])
    return [
        Timing(name, n, tuple(s))
        for (name, _), n, s in zip(contenders, calls, samples, strict=True)
    ]


def ratio_text(ours: Timing, other: Timing) -> str:
    """``ours / other`` as text, like ``1.23x``."""
    return f"{ours.median_ns / other.median_ns:.2f}x"


def describe_machine() -> str:
    """One line naming the interpreter and platform the figures come from."""
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.system()} {platform.machine()}; "
        f"{sys.executable}"
    )


async def asgi_post(
    app: Any, path: str, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> int:
    """POST ``body`` (JSON) to ``app`` at ``path`` as an ASGI server hands it
    a request, with ``headers`` besides the usual ones; the answer's status.
    No HTTP parsing and no client library: only the app's own work."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    given = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer
        raise AssertionError  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


#: The project's checkout, where ``git worktree`` runs.
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """The project at commit ``rev``, checked out in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="bench-before-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), rev],
        check=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=True
        )
