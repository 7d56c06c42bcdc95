"""FAQ search in process: latency at 30, 1,000 and 10,000 entries, build time, memory.

Contenders, in the same run and on the same queries (the test set of
``tests/faq_queries.py``, all three languages, each against its language's
index):

* ``intakeforms``: ``LanguageIndex.search(query, limit=5)`` (stems, 3- and
  4-grams, IDF-weighted coverage, threshold).
* ``substring``: a naive scan that counts, per entry, the query's words found
  as substrings of the question, keywords and answer, and keeps the best five.
  It understands no inflection, compound or typo; it is the floor to beat on
  time per entry, not on quality.

The entries beyond the fixture's 18 per language are synthetic: each mixes one
fixture entry's question with another's keywords and answer and adds two
made-up words, so that the vocabulary grows with the FAQ as it would.

Per-query latency is timed call by call (p50, p95 over every query, repeated
``--rounds`` times); the harness's interleaved rounds give the medians and the
ratio. Build time is the median of a few builds; memory is the peak traced by
``tracemalloc`` while building.

Over HTTP: ``intakeforms serve examples`` (the workshop FAQ, a SQLite store in
a temporary folder, one uvicorn worker) is asked ``GET /faq/search`` for each
query of the test set, and ``GET /healthz`` after each, on one kept-alive
connection, in the same rounds: the ratio is the price of a search (the index,
the JSON and the recorded search) over the service's cheapest answer that
also touches the store.

Run: ``.venv/bin/python benchmarks/bench_faq.py`` (``--quick`` for a smoke test).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx
from _harness import add_arguments, describe_machine, measure, ratio_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from faq_queries import ENTRIES, QUERIES  # noqa: E402

from intakeforms.faq.search import LanguageIndex, SearchEntry  # noqa: E402

SIZES = (30, 1_000, 10_000)
GOAL_P95_MS = 5.0  # at 1,000 entries


def synthetic(language: str, count: int, seed: int = 13) -> list[SearchEntry]:
    """``count`` entries of ``language``: the fixture's, then mixtures of them."""
    base = ENTRIES[language]
    rng = random.Random(seed)
    out = list(base[:count])
    letters = "aeiouykstnrlmpvhdgb"
    while len(out) < count:
        a, b = rng.choice(base), rng.choice(base)
        made_up = ["".join(rng.choice(letters) for _ in range(rng.randint(5, 10))) for _ in "xy"]
        out.append(
            SearchEntry(
                f"{a.id}-{len(out)}",
                f"{a.question} {made_up[0]}",
                f"{b.answer} {made_up[1]}",
                tuple(b.keywords),
                a.forms,
            )
        )
    return out


class Searcher(Protocol):
    def search(self, query: str, limit: int = 5) -> list[Any]: ...


class SubstringScan:
    """The baseline: query words found as substrings, counted per entry."""

    def __init__(self, entries: Sequence[SearchEntry]) -> None:
        self.texts = [
            (e.id, f"{e.question} {' '.join(e.keywords)} {e.answer}".casefold()) for e in entries
        ]

    def search(self, query: str, limit: int = 5) -> list[Any]:
        words = query.casefold().split()
        scored = [(sum(w in text for w in words), entry_id) for entry_id, text in self.texts]
        return sorted(((n, i) for n, i in scored if n), reverse=True)[:limit]


def run_all(searchers: Mapping[str, Searcher], queries: Mapping[str, list[str]]) -> None:
    for language, searcher in searchers.items():
        for query in queries[language]:
            searcher.search(query)


def percentiles(index: Searcher, queries: list[str], rounds: int) -> tuple[float, float]:
    times: list[float] = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter_ns()
            index.search(query)
            times.append(time.perf_counter_ns() - start)
    times.sort()
    return times[len(times) // 2] / 1e6, times[int(len(times) * 0.95)] / 1e6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] / 1e6


def over_http(queries: Sequence[tuple[str, str]], rounds: int) -> None:
    """Time /faq/search beside /healthz on a real server."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "INTAKE_STORE": f"sqlite:///{folder}/bench.db",
            "INTAKE_MAIL_DIR": f"{folder}/mail",
            "INTAKE_UPLOAD_DIR": f"{folder}/uploads",
            "INTAKE_RATE_LIMIT": "0",
        }
        command = [sys.executable, "-m", "intakeforms", "serve", str(ROOT / "examples")]
        log = open(f"{folder}/serve.log", "w")  # noqa: SIM115  (closed with the server)
        server = subprocess.Popen(  # our own service, on loopback
            [*command, "--port", str(port), "--no-worker", "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=10) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        if server.poll() is not None or time.monotonic() > deadline:
                            said = Path(log.name).read_text()[-2000:]
                            raise SystemExit(f"the service did not start:\n{said}") from None
                        time.sleep(0.2)
                search: list[float] = []
                health: list[float] = []
                answered = 0
                for _ in range(rounds):
                    for language, query in queries:
                        start = time.perf_counter_ns()
                        found = client.get("/faq/search", params={"q": query, "lang": language})
                        search.append(time.perf_counter_ns() - start)
                        answered += bool(found.json()["results"])
                        start = time.perf_counter_ns()
                        client.get("/healthz")
                        health.append(time.perf_counter_ns() - start)
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    print(f"\nover HTTP ({len(queries)} queries x {rounds} rounds, one connection):")
    print(f"{'':>14} {'p50 ms':>7} {'p95 ms':>7}")
    for name, times in (("/faq/search", search), ("/healthz", health)):
        print(f"{name:>14} {_percentile(times, 0.5):>7.2f} {_percentile(times, 0.95):>7.2f}")
    ratio = statistics.median(search) / statistics.median(health)
    print(f"{'':>14} ratio search/healthz (medians): {ratio:.2f}x")
    print(f"{'':>14} searches answered: {answered / len(search):.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, rounds=15, sample_s=0.05)
    args = parser.parse_args()
    rounds, sample_s = (3, 0.01) if args.quick else (args.rounds, args.sample_seconds)
    print(describe_machine())
    by_language = {lang: [q for language, q, _ in QUERIES if language == lang] for lang in ENTRIES}
    print(f"{len(QUERIES)} queries in fi, sv, en; {rounds} rounds\n")
    header = (
        f"{'entries':>8} {'build ms':>9} {'peak MiB':>9} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'median/q':>9} {'substring/q':>12} {'ratio':>6}"
    )
    print(header)
    for size in SIZES:
        builds: list[float] = []
        indexes: dict[str, Searcher] = {}
        peak = 0
        for attempt in range(1 if size >= 10_000 and args.quick else 3):
            tracemalloc.start() if attempt == 0 else None
            start = time.perf_counter()
            indexes = {lang: LanguageIndex(synthetic(lang, size), lang) for lang in ENTRIES}
            builds.append((time.perf_counter() - start) * 1e3 / len(ENTRIES))
            if attempt == 0:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        scans = {lang: SubstringScan(synthetic(lang, size)) for lang in ENTRIES}
        p50s, p95s = [], []
        for lang, index in indexes.items():
            p50, p95 = percentiles(index, by_language[lang], max(1, rounds // 3))
            p50s.append(p50)
            p95s.append(p95)

        ours_t, naive_t = measure(
            [
                ("intakeforms", partial(run_all, indexes, by_language)),
                ("substring", partial(run_all, scans, by_language)),
            ],
            rounds=rounds,
            min_sample_s=sample_s,
            warmup_s=0.05 if args.quick else 0.2,
        )
        per_query = len(QUERIES)
        print(
            f"{size:>8,} {statistics.median(builds):>9.1f} {peak / 2**20 / len(ENTRIES):>9.1f}"
            f" {max(p50s):>7.3f} {max(p95s):>7.3f}"
            f" {ours_t.median_ns / per_query / 1e6:>8.3f}ms"
            f" {naive_t.median_ns / per_query / 1e6:>10.3f}ms {ratio_text(ours_t, naive_t):>6}"
        )
        if size == 1_000:
            verdict = "met" if max(p95s) < GOAL_P95_MS else "MISSED"
            print(f"{'':>8} goal p95 < {GOAL_P95_MS} ms at 1,000 entries: {verdict}")
    print(
        "\nbuild ms and peak MiB are per language index; p50/p95 the worst language's;"
        " ratio: intakeforms / substring per query (medians)."
    )
    over_http([(language, q) for language, q, _ in QUERIES], 1 if args.quick else 5)


if __name__ == "__main__":
    main()
