"""Requests per second and p99 latency of POSTing the car-service submission.

Servers, loaded in turn by ``wrk`` (a separate process) with the same JSON
body, all under uvicorn with the same settings (log level error, no access
log), one process each unless named ``-2p``:

- **ours**: the app ``intakeforms serve`` builds (``intakeforms.cli``'s
  factory) on the examples, SQLite store in a temporary folder, rate limit
  off, no delivery in the process; the full path (parse, spam judgement,
  validate, normalise, one transaction with the outbox row, committed in
  groups, 201 with the reference).
- **ours-2p**: the same in two processes on one port, as ``intakeforms serve
  --workers 2`` runs it (uvicorn's process manager, the same factory).
- **ours-2p-limit**: ours-2p with the rate limit on (high enough never to
  refuse): in several processes every request also counts in the store.
- **ours-proxy**: ours with ``INTAKE_TRUST_PROXY=true``, loaded with the
  ``X-Forwarded-*`` headers nginx sends: what taking the scheme, host and
  client address from a proxy costs.
- **ours-metrics**: ours with ``INTAKE_METRICS=true``: what counting every
  response for ``/metrics`` costs.
- **ours-pg**, **ours-pg-2p**: ours on a PostgreSQL store, one and two processes.
- **ours-pg-limit**: ours-pg with the rate limit on (high enough never to
  refuse), so every request also counts in the shared rate-limit table.
- **no-store**: a bare Starlette endpoint that parses the same JSON and
  answers 201 with a reference, storing nothing: the most a Python server
  on uvicorn can do here.
- **per-request-commit**: a bare Starlette endpoint that parses the JSON and
  inserts it with an outbox row into SQLite (WAL, synchronous=FULL, one
  transaction per request, off the event loop), 201 with a reference.
- **pg-bare**: a bare Starlette endpoint inserting the same two rows into
  PostgreSQL with psycopg, one transaction per request, on a pool of async
  connections as large as ours (10).

The PostgreSQL servers are skipped, saying why, when PostgreSQL is not there.

Run: ``.venv/bin/python benchmarks/bench_service.py [--seconds 10]
[--connections 32] [--rounds 3] [--only ours,no-store] [--postgresql URL]``
(needs ``wrk``: ``apt-get install wrk``). Rounds alternate the servers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = json.loads((ROOT / "examples" / "car-service" / "answers.json").read_text())
POSTGRESQL = os.environ.get("INTAKE_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")

# What nginx sends with the usual proxy_set_header lines; the ones without
# INTAKE_TRUST_PROXY ignore them.
PROXY_HEADERS = {
    "Host": "forms.example.com",
    "X-Real-IP": "203.0.113.7",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
}

# Ours is built by the factory `intakeforms serve` uses, from the plan it
# leaves in the environment; its INTAKE_* settings come as a JSON argument.
OURS = """
import json, os, sys
import uvicorn
from intakeforms.serve import PLAN_VARIABLE, Plan
port, folder, forms, extra, workers = sys.argv[1:6]
os.environ.update({
    "INTAKE_STORE": f"sqlite:///{folder}/ours.db",
    "INTAKE_RATE_LIMIT": "0",
    "INTAKE_UPLOAD_DIR": f"{folder}/uploads",
    **json.loads(extra),
})
# No delivery in the process: the other servers deliver nothing either.
os.environ[PLAN_VARIABLE] = Plan((forms,), deliver=False, workers=int(workers)).to_json()
uvicorn.run("intakeforms.cli:app_from_environment", factory=True, workers=int(workers),
            host="127.0.0.1", port=int(port), log_level="error", access_log=False,
            proxy_headers=False)
"""

NO_STORE = """
import secrets, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def submit(request):
    data = await request.json()
    if not isinstance(data, dict):
        return JSONResponse({"errors": []}, status_code=400)
    return JSONResponse({"reference": "CAR-" + secrets.token_hex(8).upper()}, status_code=201)
app = Starlette(routes=[Route("/forms/car-service/submissions", submit, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False,
            proxy_headers=False)
"""

PER_REQUEST_COMMIT = """
import json, secrets, sqlite3, sys, threading
import anyio, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
db = sqlite3.connect(f"{sys.argv[2]}/per-request.db", check_same_thread=False, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("PRAGMA busy_timeout=5000")
db.execute("CREATE TABLE IF NOT EXISTS submissions (reference TEXT PRIMARY KEY, form TEXT, data TEXT, submitted_at TEXT)")
db.execute("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, reference TEXT, target TEXT)")
lock = threading.Lock()
def insert(reference, data):
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO submissions VALUES (?, 'car-service', ?, datetime('now'))", (reference, data))
            db.execute("INSERT INTO outbox (reference, target) VALUES (?, 'email:0')", (reference,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
async def submit(request):
    data = await request.json()
    reference = "CAR-" + secrets.token_hex(8).upper()  # no collisions to retry
    await anyio.to_thread.run_sync(insert, reference, json.dumps(data, ensure_ascii=False, sort_keys=True))
    return JSONResponse({"reference": reference}, status_code=201)
app = Starlette(routes=[Route("/forms/car-service/submissions", submit, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False,
            proxy_headers=False)
"""

# The store URL comes as INTAKE_STORE in the JSON argument, as for ours.
PG_BARE = """
import asyncio, contextlib, json, secrets, sys
import psycopg, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
url = json.loads(sys.argv[4])["INTAKE_STORE"]
SIZE = 10  # as many connections as ours-pg's pool
pool = asyncio.Queue()
@contextlib.asynccontextmanager
async def lifespan(app):
    for _ in range(SIZE):
        pool.put_nowait(await psycopg.AsyncConnection.connect(url))
    connection = await pool.get()
    async with connection.transaction():
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bare_submissions (reference text PRIMARY KEY,"
            " form text NOT NULL, data jsonb NOT NULL, submitted_at timestamptz NOT NULL DEFAULT now())")
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bare_outbox (id bigserial PRIMARY KEY,"
            " reference text NOT NULL REFERENCES bare_submissions, target text NOT NULL)")
    pool.put_nowait(connection)
    yield
    while not pool.empty():
        await pool.get_nowait().close()
async def submit(request):
    data = await request.json()
    reference = "CAR-" + secrets.token_hex(8).upper()  # no collisions to retry
    connection = await pool.get()
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO bare_submissions (reference, form, data) VALUES (%s, 'car-service', %s)",
                (reference, json.dumps(data, ensure_ascii=False, sort_keys=True)))
            await connection.execute(
                "INSERT INTO bare_outbox (reference, target) VALUES (%s, 'email:0')", (reference,))
    finally:
        pool.put_nowait(connection)
    return JSONResponse({"reference": reference}, status_code=201)
app = Starlette(routes=[Route("/forms/car-service/submissions", submit, methods=["POST"])],
                lifespan=lifespan)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False,
            proxy_headers=False)
"""

#: The servers by name: their code, settings, processes, and whether they
#: need PostgreSQL.
SERVERS: dict[str, tuple[str, dict[str, str], int, bool]] = {
    "ours": (OURS, {}, 1, False),
    "ours-2p": (OURS, {}, 2, False),
    "ours-2p-limit": (OURS, {"INTAKE_RATE_LIMIT": "1000000/second"}, 2, False),
    "ours-proxy": (OURS, {"INTAKE_TRUST_PROXY": "true"}, 1, False),
    "ours-metrics": (OURS, {"INTAKE_METRICS": "true"}, 1, False),
    "ours-pg": (OURS, {}, 1, True),
    "ours-pg-2p": (OURS, {}, 2, True),
    "ours-pg-limit": (OURS, {"INTAKE_RATE_LIMIT": "1000000/second"}, 1, True),
    "no-store": (NO_STORE, {}, 1, False),
    "per-request-commit": (PER_REQUEST_COMMIT, {}, 1, False),
    "pg-bare": (PG_BARE, {}, 1, True),
}

#: The ratios the goals are stated in: (ours, baseline, goal or None).
RATIOS: tuple[tuple[str, str, float | None], ...] = (
    ("ours", "no-store", 0.6),
    ("ours-pg", "pg-bare", 1.5),
    ("ours-pg", "no-store", 0.5),
    ("ours-2p", "ours", None),
    ("ours-pg-2p", "ours-pg", None),
    ("ours-2p-limit", "ours-2p", None),
    ("ours", "per-request-commit", None),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    code: str, folder: Path, settings: dict[str, str], workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    extra = json.dumps(settings)
    command = [sys.executable, "-c", code, str(port), str(folder), str(ROOT / "examples")]
    process = subprocess.Popen(  # our own script
        [*command, extra, str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/forms/car-service/submissions"
    body = json.dumps(ANSWERS).encode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                url, data=body, headers={"content-type": "application/json", **PROXY_HEADERS}
            )
            with urllib.request.urlopen(request, timeout=5) as answer:  # loopback only
                if answer.status == 201:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("a server did not start; run its code by hand to see why")


def wrk(url: str, seconds: int, connections: int, script: Path) -> tuple[float, float, int]:
    """(requests/s, p99 ms, non-2xx count) from one wrk run."""
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)", output)
    assert p99, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", output)
    return rate, float(p99.group(1)) * scale, int(bad.group(1)) if bad else 0


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str | None]:
    """A fresh schema, dropped afterwards; yields its store URL, or None
    (after saying why) when PostgreSQL cannot be reached."""
    try:
        psycopg.connect(base_url, connect_timeout=5).close()
    except psycopg.Error as exc:
        print(
            f"the PostgreSQL servers skipped: PostgreSQL at {base_url}: {' '.join(str(exc).split())}"
        )
        yield None
        return
    schema = f"bench_service_{secrets.token_hex(6)}"
    with psycopg.connect(base_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}".encode())
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE".encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32, help="the goals are stated at 32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        type=names,
        default=list(SERVERS),
        metavar="NAME,NAME",
        help=f"run only these servers, of {', '.join(SERVERS)}",
    )
    parser.add_argument("--postgresql", default=POSTGRESQL, help="a database for the pg servers")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    script = folder / "post.lua"
    body = json.dumps(ANSWERS, ensure_ascii=False).replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(
        textwrap.dedent(
            f"""
            wrk.method = "POST"
            wrk.body = "{body}"
            wrk.headers["Content-Type"] = "application/json"
            """
        )
        + "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in PROXY_HEADERS.items()),
        encoding="utf-8",
    )
    load = os.getloadavg()
    with contextlib.ExitStack() as stack:
        wanted = any(SERVERS[name][3] for name in args.only)
        postgresql = stack.enter_context(postgres_schema(args.postgresql)) if wanted else None
        results = run(args, folder, script, postgresql)
    report(args, results, load)


def names(text: str) -> list[str]:
    """``--only``: server names, comma-separated."""
    given = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in given if name not in SERVERS]
    if unknown or not given:
        raise argparse.ArgumentTypeError(
            f"unknown server {', '.join(unknown) or '(none given)'}; "
            f"the servers are {', '.join(SERVERS)}"
        )
    return given


def run(
    args: argparse.Namespace, folder: Path, script: Path, postgresql: str | None
) -> dict[str, list[tuple[float, float, int]]]:
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    results: dict[str, list[tuple[float, float, int]]] = {}
    try:
        for name in args.only:
            code, settings, workers, needs_postgresql = SERVERS[name]
            if needs_postgresql:
                if postgresql is None:
                    continue
                settings = {"INTAKE_STORE": postgresql, **settings}
            servers[name] = start(code, folder, settings, workers)
            results[name] = []
        for _ in range(args.rounds):
            for name, (_, url) in servers.items():
                results[name].append(wrk(url, args.seconds, args.connections, script))
    finally:
        for process, _ in servers.values():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return results


def report(
    args: argparse.Namespace,
    results: dict[str, list[tuple[float, float, int]]],
    load: tuple[float, float, float],
) -> None:
    print("bench_service: POST the car-service submission as JSON")
    print(
        f"Python {sys.version.split()[0]}; wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} alternating rounds; median of rounds; {os.cpu_count()} CPUs shared "
        "by the servers and the load generator"
    )
    after = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}"
    )
    medians = {name: statistics.median(r[0] for r in runs) for name, runs in results.items()}
    baseline = "no-store" if "no-store" in medians else None
    print(
        f"  {'server':<20}{'req/s':>10}{'p99 ms':>10}{'non-2xx':>10}"
        + (f"{'/ no-store':>12}" if baseline else "")
    )
    for name, runs in results.items():
        p99 = statistics.median(r[1] for r in runs)
        bad = sum(r[2] for r in runs)
        share = f"{medians[name] / medians[baseline]:>12.2f}" if baseline else ""
        print(f"  {name:<20}{medians[name]:>10.0f}{p99:>10.1f}{bad:>10}{share}")
    for ours, base, goal in RATIOS:
        if ours not in medians or base not in medians:
            continue
        ratio = medians[ours] / medians[base]
        verdict = (
            "no goal"
            if goal is None
            else f"goal >= {goal}: {'MET' if ratio >= goal else 'NOT MET'}"
        )
        print(f"  {ours} / {base}: {ratio:.2f} ({verdict})")


if __name__ == "__main__":
    main()
