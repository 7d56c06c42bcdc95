"""A site of 1,000 forms: the time to load them, and submissions with 1 form or 1,000.

Part 1, start-up: 1,000 form files are written to a temporary folder with
``bench_load.py``'s generator (the car-service example, 249 copies of it with
other ids, and 750 synthetic forms of 20 to 40 fields; fixed seed), then
loaded, each round and contender in a fresh Python process (a service's
start-up begins with nothing loaded and nothing cached), contenders taking
turns:

* ``ours``: ``load_forms([folder])`` of this checkout;
* ``before``: the same with the project at ``--before`` (default the commit
  before the loading was made faster), checked out with ``git worktree`` into
  a temporary folder and run by this venv's Python (``--before ''`` skips it);
* ``naive CSafeLoader + model`` and ``naive yaml.safe_load + model``: the
  baselines of ``bench_load.py`` (each file read with PyYAML and checked with
  ``FormDefinition.model_validate`` only: no locations, rules or schemas).

Each process times the load alone (clock and CPU), after its imports; ``ours``
and ``before`` also time ``create_app`` on the forms loaded. Goal: ``ours``
loads the 1,000 forms in under 2 s (median of the rounds).

Part 2, submissions per second with 1 form against 1,000: two processes, one
with ``create_app`` on the car-service form alone and one on the same form
beside the 999 others, each with a SQLite store in a temporary folder and the
rate limit off. Each calls its app as an ASGI server does (no HTTP parsing,
no client library: only the service's work is measured), ``--submitters``
car-service submissions at a time for ``--seconds`` a round; the two take
turns, one round at a time, after a warm-up round each. Figures: the median
submissions per second of the process's CPU (steady on a shared machine) and
by the clock. Goal: with 1,000 forms at least 0.95 of the rate with one.

Run: ``.venv/bin/python benchmarks/bench_scale.py`` (``--quick`` for a smoke
test; ``--forms N`` for another number of forms).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _harness import asgi_post, describe_machine, worktree
from bench_load import EXAMPLE, write_forms

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = json.loads((ROOT / "examples" / "car-service" / "answers.json").read_text("utf-8"))
BEFORE = "1b5b51a"
GOAL_SECONDS = 2.0
GOAL_RATIO = 0.95

#: Loads ``argv[2]`` one way (``argv[1]``) and prints what it took as JSON;
#: ``intakeforms`` is the one found first on ``sys.path`` (PYTHONPATH).
LOAD = """
import json, sys, tempfile, time
kind, folder = sys.argv[1], sys.argv[2]
if kind.startswith("naive"):
    from pathlib import Path
    import yaml
    from intakeforms.language.models import FormDefinition
    loader = yaml.CSafeLoader if kind == "naive-c" else yaml.SafeLoader
    def load():
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix in (".yaml", ".yml"))
        return [FormDefinition.model_validate(yaml.load(p.read_text("utf-8"), Loader=loader))
                for p in files]
else:
    from intakeforms import load_forms
    from intakeforms.settings import Settings
    from intakeforms.web import create_app
    def load():
        return load_forms([folder])
clock, cpu = time.perf_counter(), time.process_time()
forms = load()
out = {"forms": len(forms), "load": time.perf_counter() - clock,
       "cpu": time.process_time() - cpu}
if not kind.startswith("naive"):
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(store=f"sqlite:///{scratch}/intake.db", secret="bench",
                            upload_dir=f"{scratch}/uploads", mail_dir=f"{scratch}/mail")
        clock = time.perf_counter()
        create_app(forms, settings)
        out["app"] = time.perf_counter() - clock
print(json.dumps(out))
"""


def write_site(folder: Path, total: int) -> None:
    """The car-service example and ``total - 1`` generated forms beside it."""
    copies = max(0, total // 4 - 1)
    write_forms(folder, copies=copies, synthetic=total - 1 - copies)
    shutil.copy(EXAMPLE, folder / "car-service.yaml")


@contextmanager
def maybe_worktree(rev: str) -> Iterator[Path | None]:
    """:func:`worktree`, or None when ``rev`` is empty."""
    if not rev:
        yield None
        return
    with worktree(rev) as folder:
        yield folder


def load_once(kind: str, folder: Path, source: Path) -> dict[str, float]:
    """One fresh process's load of ``folder``, with the project at ``source``."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(  # our own script
        [sys.executable, "-c", LOAD, kind, str(folder)],
        env=env,
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def startup(folder: Path, total: int, rounds: int, before: str) -> None:
    print(f"\n1. Loading {total} form files, each round a fresh process, median of {rounds}")
    with maybe_worktree(before) as old:
        contenders = [("ours", "ours", ROOT)]
        if old is not None:
            contenders.append((f"before ({before})", "ours", old))
        contenders += [
            ("naive CSafeLoader + model", "naive-c", ROOT),
            ("naive yaml.safe_load + model", "naive-py", ROOT),
        ]
        found: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in contenders}
        for _ in range(rounds):
            for name, kind, source in contenders:
                result = load_once(kind, folder, source)
                assert result["forms"] == total, (name, result)
                found[name].append(result)
    print(f"  {'contender':<32} {'load s':>7} {'best s':>7} {'CPU s':>7} {'create_app s':>12}")
    medians: dict[str, float] = {}
    for name, results in found.items():
        load = statistics.median(r["load"] for r in results)
        medians[name] = load
        app = statistics.median(r["app"] for r in results) if "app" in results[0] else None
        shown = "" if app is None else f"{app:12.3f}"
        best = min(r["load"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        print(f"  {name:<32} {load:7.3f} {best:7.3f} {cpu:7.3f} {shown}")
    ours = medians["ours"]
    for name, value in medians.items():
        if name != "ours":
            print(f"  ours / {name:<30} {ours / value:.2f}x")
    verdict = "MET" if ours < GOAL_SECONDS else "NOT met"
    print(f"  goal: {total} forms in under {GOAL_SECONDS:g} s: {ours:.3f} s, {verdict}")


# -- part 2: submissions per second, 1 form against 1,000 ---------------------


async def submit_for(app: Any, seconds: float, submitters: int) -> tuple[float, float]:
    """Submissions a second, ``submitters`` at a time, for ``seconds``: by the
    clock, and per second of this process's CPU."""
    body = json.dumps(ANSWERS).encode()
    done = 0
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()

    async def submitter() -> None:
        nonlocal done
        while time.perf_counter() - start < seconds:
            status = await asgi_post(app, "/forms/car-service/submissions", body)
            assert status == 201, status
            done += 1

    await asyncio.gather(*(submitter() for _ in range(submitters)))
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def serve_rounds(forms_at: str, scratch: str, submitters: int) -> None:
    """The worker: an app on the forms at ``forms_at``; each line on stdin is
    a round's seconds, answered with its rates on stdout."""
    from intakeforms import load_forms
    from intakeforms.settings import load_settings
    from intakeforms.web import create_app

    settings = load_settings(
        {
            "INTAKE_STORE": f"sqlite:///{scratch}/intake.db",
            "INTAKE_RATE_LIMIT": "0",
            "INTAKE_UPLOAD_DIR": f"{scratch}/uploads",
            "INTAKE_MAIL_DIR": f"{scratch}/mail",
        }
    )
    forms = load_forms([forms_at])
    app = create_app(forms, settings)
    print(json.dumps({"forms": len(forms)}), flush=True)

    async def main() -> None:
        for line in sys.stdin:
            clock, cpu = await submit_for(app, float(line), submitters)
            print(json.dumps({"clock": clock, "cpu": cpu}), flush=True)

    asyncio.run(main())


class Worker:
    """A process of :func:`serve_rounds`, driven one round at a time."""

    def __init__(self, forms_at: Path, scratch: Path, submitters: int) -> None:
        scratch.mkdir()
        more = ["--submitters", str(submitters)]
        self.process = subprocess.Popen(  # our own script
            [sys.executable, __file__, "--serve-rounds", str(forms_at), str(scratch), *more],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.forms = int(self._answer()["forms"])

    def _answer(self) -> dict[str, float]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("a worker stopped; run it by hand to see why")
        answer: dict[str, float] = json.loads(line)
        return answer

    def round(self, seconds: float) -> tuple[float, float]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{seconds}\n")
        self.process.stdin.flush()
        answer = self._answer()
        return answer["clock"], answer["cpu"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def submit_rates(folder: Path, scratch: Path, args: argparse.Namespace) -> None:
    rounds, seconds = args.rounds, args.seconds
    print(
        f"\n2. Submissions per second in process, {args.submitters} at a time, "
        f"{rounds} alternating rounds of {seconds:g} s after a warm-up each"
    )
    one = Worker(EXAMPLE, scratch / "one", args.submitters)
    many = Worker(folder, scratch / "many", args.submitters)
    try:
        workers = [("1 form", one), (f"{many.forms} forms", many)]
        found: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in workers}
        for _, worker in workers:
            worker.round(min(seconds, 2.0))
        for _ in range(rounds):
            for name, worker in workers:
                found[name].append(worker.round(seconds))
    finally:
        one.close()
        many.close()
    print(f"  {'app':<12} {'per CPU-s':>9} {'by clock':>9}  rounds (clock/CPU)")
    medians = {}
    for name, rates in found.items():
        clock = statistics.median(r[0] for r in rates)
        cpu = statistics.median(r[1] for r in rates)
        medians[name] = (clock, cpu)
        shown = ", ".join(f"{r[0]:.0f}/{r[1]:.0f}" for r in rates)
        print(f"  {name:<12} {cpu:9.0f} {clock:9.0f}  {shown}")
    (one_clock, one_cpu), (many_clock, many_cpu) = medians.values()
    ratio = many_cpu / one_cpu
    verdict = "MET" if ratio >= GOAL_RATIO else "NOT met"
    print(
        f"  {many.forms} forms / 1 form: {ratio:.3f} per CPU-s, "
        f"{many_clock / one_clock:.3f} by clock"
    )
    print(f"  goal: at least {GOAL_RATIO} of the rate with one form (per CPU-s): {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--forms", type=int, default=1000, help="forms in the site (1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each part (5)")
    parser.add_argument("--seconds", type=float, default=5.0, help="a submit round (5 s)")
    parser.add_argument("--submitters", type=int, default=4, help="submissions at a time (4)")
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare ({BEFORE})")
    parser.add_argument("--quick", action="store_true", help="2 short rounds: a smoke test")
    parser.add_argument("--skip-load", action="store_true", help="part 2 only")
    parser.add_argument("--skip-submit", action="store_true", help="part 1 only")
    parser.add_argument("--serve-rounds", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_rounds:
        forms_at, scratch = args.serve_rounds
        serve_rounds(forms_at, scratch, args.submitters)
        return 0
    if args.quick:
        args.rounds, args.seconds = 2, 1.0
    print(f"bench_scale: a site of {args.forms} forms")
    print(describe_machine())
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="intakeforms-scale-") as scratch:
        folder = Path(scratch) / "forms"
        folder.mkdir()
        write_site(folder, args.forms)
        if not args.skip_load:
            startup(folder, args.forms, args.rounds, args.before)
        if not args.skip_submit:
            submit_rates(folder, Path(scratch), args)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
