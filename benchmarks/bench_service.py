"""Requests per second and p99 latency of POSTing the car-service submission.

Two servers, one uvicorn worker each, loaded in turn by ``wrk`` (a separate
process) with the same JSON body:

- **ours**: ``create_app`` on the examples, SQLite store in a temporary folder,
  rate limit off; the full path (parse, spam judgement, validate, normalise,
  one transaction with the outbox row, 201 with the reference).
- **ours-proxy**: the same with ``INTAKE_TRUST_PROXY=true``, loaded with the
  ``X-Forwarded-*`` headers nginx sends: what taking the scheme, host and
  client address from a proxy costs.
- **ours-metrics**: the same with ``INTAKE_METRICS=true``: what counting
  every response for ``/metrics`` costs.
- **ours-pg**: the same on a PostgreSQL store, rate limit off.
- **ours-pg-limit**: the same on a PostgreSQL store with the rate limit on
  (high enough never to refuse), so every request also counts in the shared
  PostgreSQL rate-limit table, as several instances behind one balancer do.
  Skipped, saying why, when PostgreSQL is not there.
- **ceiling**: a bare Starlette endpoint that only parses the JSON and inserts
  it into SQLite the same way (WAL, synchronous=FULL, one transaction, off the
  event loop) and answers 201 with a reference.

Run: ``.venv/bin/python benchmarks/bench_service.py [--seconds 10] [--connections 16]
[--postgresql URL]`` (needs ``wrk``: ``apt-get install wrk``). Rounds alternate
the servers.
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

# Ours is started with its INTAKE_* settings as a JSON argument.
OURS = """
import json, sys
from intakeforms import load_forms
from intakeforms.settings import load_settings
from intakeforms.web import create_app
import uvicorn
folder = sys.argv[2]
settings = load_settings({
    "INTAKE_STORE": f"sqlite:///{folder}/ours.db",
    "INTAKE_RATE_LIMIT": "0",
    "INTAKE_UPLOAD_DIR": f"{folder}/uploads",
    **json.loads(sys.argv[4]),
})
app = create_app(load_forms([sys.argv[3]]), settings)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False,
            proxy_headers=False)
"""

CEILING = """
import json, secrets, sqlite3, sys, threading
import anyio, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
db = sqlite3.connect(f"{sys.argv[2]}/ceiling.db", check_same_thread=False, isolation_level=None)
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
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    code: str, folder: Path, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    extra = json.dumps(settings or {})
    process = subprocess.Popen(  # our own script
        [sys.executable, "-c", code, str(port), str(folder), str(ROOT / "examples"), extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/forms/car-service/submissions"
    body = json.dumps(ANSWERS).encode()
    deadline = time.monotonic() + 30
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
            f"ours-pg and ours-pg-limit skipped: PostgreSQL at {base_url}: {' '.join(str(exc).split())}"
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
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgresql", default=POSTGRESQL, help="a database for ours-pg-limit")
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
    with contextlib.ExitStack() as stack:
        postgresql = stack.enter_context(postgres_schema(args.postgresql))
        results = run(args, folder, script, postgresql)
    report(args, results)


def run(
    args: argparse.Namespace, folder: Path, script: Path, postgresql: str | None
) -> dict[str, list[tuple[float, float, int]]]:
    servers = {
        "ours": start(OURS, folder),
        "ours-proxy": start(OURS, folder, {"INTAKE_TRUST_PROXY": "true"}),
        "ours-metrics": start(OURS, folder, {"INTAKE_METRICS": "true"}),
        "ceiling": start(CEILING, folder),
    }
    if postgresql is not None:
        servers["ours-pg"] = start(OURS, folder, {"INTAKE_STORE": postgresql})
        servers["ours-pg-limit"] = start(
            OURS, folder, {"INTAKE_STORE": postgresql, "INTAKE_RATE_LIMIT": "1000000/second"}
        )
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in servers}
    try:
        for _ in range(args.rounds):
            for name, (_, url) in servers.items():
                results[name].append(wrk(url, args.seconds, args.connections, script))
    finally:
        for process, _ in servers.values():
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return results


def report(args: argparse.Namespace, results: dict[str, list[tuple[float, float, int]]]) -> None:
    print("bench_service: POST the car-service submission as JSON, one uvicorn worker each")
    print(
        f"Python {sys.version.split()[0]}; wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} alternating rounds; median of rounds; {os.cpu_count()} CPUs shared "
        "by server and load generator"
    )
    print(f"  {'server':<15}{'req/s':>10}{'p99 ms':>10}{'non-2xx':>10}{'/ ceiling':>11}")
    medians = {name: statistics.median(r[0] for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        p99 = statistics.median(r[1] for r in runs)
        share = medians[name] / medians["ceiling"]
        bad = sum(r[2] for r in runs)
        print(f"  {name:<15}{medians[name]:>10.0f}{p99:>10.1f}{bad:>10}{share:>11.2f}")
    share = medians["ours"] / medians["ceiling"]
    print(f"  ours / ceiling: {share:.2f} of the ceiling's requests per second")
    print(f"  goal at least 0.95: {'MET' if share >= 0.95 else 'NOT MET'}")


if __name__ == "__main__":
    main()
