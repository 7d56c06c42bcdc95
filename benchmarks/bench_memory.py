"""The service's memory over 100,000 submissions: no growth per submission.

Starts the real service in a process of its own: uvicorn on a loopback port,
one worker, ``create_app`` on ``examples/`` with the in-process outbox worker
(``deliver_in_process``, as ``intakeforms serve`` runs it: the agents' mail goes
to ``.eml`` files in a temporary folder), a SQLite store in a temporary folder,
``INTAKE_TRUST_PROXY=true`` and the rate limit **on** (``--rate``, default
``1000000/second``: high enough never to refuse, so that its state is kept and
exercised; a period of a second, because this run is some 1,000 times a
real site's pace: with ``/minute`` the clients of the last minute or two,
some 100,000 here, are state the limiter rightly keeps, not growth).
``wrk`` (``apt-get install wrk``; one thread, ``--connections`` at a time,
keep-alive) POSTs the car-service answers as JSON, varied a little (plate,
model, mileage, name, email, phone), each from its own client address
in ``X-Forwarded-For`` (``--clients`` addresses in turn; by default as many
as submissions, as when every customer writes once), and with an
``Idempotency-Key`` on every tenth (and the same key, body and address
again five requests later, as a client retrying).

The server's resident memory (``VmRSS`` of ``/proc/PID/status``) is read
after 1,000, 10,000, 50,000 and 100,000 submissions (``--total`` scales
them; ``--no-worker`` serves without the outbox worker), with its parts
(``RssAnon``: the heap; ``RssFile``: mapped files, the code; ``RssShmem``)
and, for information, the RSS of its children (the outbox worker's mail
builder process). Goal: RSS after 100,000 at most 1.10
times RSS after 1,000. The ratio to RSS after 10,000 is printed too: between
1,000 and 10,000 the bounded caches and SQLite's page cache fill.

``--trace N`` instead runs the app in this process (called as an ASGI
server calls it, rate limit and proxy as above, no outbox worker) and prints
where memory grew between two ``tracemalloc`` snapshots ``N`` submissions
apart, after a warm-up: the quickest way to find what keeps growing.

Run: ``.venv/bin/python benchmarks/bench_memory.py`` (``--quick``: 20,000
submissions, checkpoints at a fifth of the usual counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

from _harness import asgi_post, describe_machine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ANSWERS = json.loads((EXAMPLES / "car-service" / "answers.json").read_text("utf-8"))
PATH = "/forms/car-service/submissions"
CHECKPOINTS = (1_000, 10_000, 50_000, 100_000)
GOAL = 1.10

#: The service, with its INTAKE_* settings as a JSON argument.
SERVE = """
import json, sys
import uvicorn
from intakeforms import load_forms
from intakeforms.delivery import deliver_in_process
from intakeforms.settings import load_settings
from intakeforms.web import create_app
settings = load_settings(json.loads(sys.argv[2]))
background = [deliver_in_process] if sys.argv[4] == "worker" else []
app = create_app(load_forms([sys.argv[3]]), settings, background=background)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error",
            access_log=False, proxy_headers=False)
"""

#: One wrk run: BENCH_COUNT answers, requests numbered from BENCH_OFFSET.
LUA = r"""
local target = tonumber(os.getenv("BENCH_COUNT"))
local offset = tonumber(os.getenv("BENCH_OFFSET"))
local clients = tonumber(os.getenv("BENCH_CLIENTS"))
local sent, answered = 0, 0
local models = {"Toyota Corolla 2018", "Volvo V70 2011", "Škoda Octavia 2020", "Kia Ceed 2016"}
local names = {"Matti Meikäläinen", "Anna Virtanen", "Erik Lindqvist", "Sanna Korhonen"}
local body = '{"plate":"%s","model":"%s","mileage":%d,"service":"repair",'
  .. '"symptoms":"Etupäästä kuuluu kolinaa hidastettaessa.","name":"%s",'
  .. '"email":"customer%d@example.com","phone":"040 %03d %04d","privacy":true}'

request = function()
  local n = offset + sent
  sent = sent + 1
  -- every tenth carries a key; five requests later the same one is sent again
  local m = (n % 10 == 5) and (n - 5) or n
  local c = m % clients
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.floor(c / 65536) % 256, math.floor(c / 256) % 256, c % 256),
    ["X-Forwarded-Proto"] = "https",
  }
  if m % 10 == 0 then headers["Idempotency-Key"] = "bench-" .. m end
  local letters = string.char(65 + m % 26, 65 + math.floor(m / 26) % 26,
    65 + math.floor(m / 676) % 26)
  local text = string.format(body, letters .. "-" .. (100 + m % 900), models[m % 4 + 1],
    1000 + (m * 37) % 400000, names[m % 4 + 1], m, math.floor(m / 10000) % 1000, m % 10000)
  return wrk.format("POST", nil, headers, text)
end

response = function(status, headers, body)
  answered = answered + 1
  if answered == target then
    -- stop() ends the thread's requests, not wrk's wait for -d: the bench
    -- reads this line and interrupts wrk, which then prints its summary
    wrk.thread:stop()
    io.write("REACHED\n")
    io.flush()
  end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d\n", summary.requests, summary.errors.status))
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(folder: Path, rate: str) -> dict[str, str]:
    return {
        "INTAKE_STORE": f"sqlite:///{folder}/intake.db",
        "INTAKE_UPLOAD_DIR": f"{folder}/uploads",
        "INTAKE_MAIL_DIR": f"{folder}/mail",
        "INTAKE_RATE_LIMIT": rate,
        "INTAKE_TRUST_PROXY": "true",
        "INTAKE_SECRET": "bench-memory",
    }


def memory_kib(pid: int) -> dict[str, int]:
    """The process's VmRSS and its parts (RssAnon, RssFile, RssShmem), in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            found[name] = int(value.split()[0])
    return found


def children_kib(pid: int) -> int:
    """The VmRSS of the process's children (the outbox worker's mail builder), in KiB."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                total += memory_kib(int(child)).get("VmRSS", 0)
            except OSError:  # it ended meanwhile
                continue
    return total


def rss_kib(pid: int) -> int:
    """The process's resident set size (VmRSS), in KiB."""
    return memory_kib(pid)["VmRSS"]


def start(folder: Path, rate: str, worker: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    settings = json.dumps(settings_for(folder, rate))
    background = "worker" if worker else "none"
    process = subprocess.Popen(  # our own script
        [sys.executable, "-c", SERVE, str(port), settings, str(EXAMPLES), background],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "wb"),  # noqa: SIM115 - the server keeps it
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # loopback
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the service did not start; see {folder / 'server.log'}")


def delivered(folder: Path, quiet: float = 1.0, limit: float = 120.0) -> int:
    """Wait until the worker has written mails and then none for ``quiet``
    seconds (it caught up); how many .eml files there are."""
    deadline = time.monotonic() + limit
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(list((folder / "mail").glob("**/*.eml")))
        if now != count:
            count, since = now, time.monotonic()
        elif count > 0 and time.monotonic() - since >= quiet:
            break
        time.sleep(0.2)
    return count


def run_wrk(url: str, script: Path, offset: int, count: int, args: Any) -> tuple[int, int]:
    """``count`` submissions numbered from ``offset``; (requests, non-2xx)."""
    env = {
        **os.environ,
        "BENCH_COUNT": str(count),
        "BENCH_OFFSET": str(offset),
        "BENCH_CLIENTS": str(args.clients or args.total),
    }
    options = ["-t1", f"-c{args.connections}", "-d3600s", "--timeout", "30s"]
    wrk = subprocess.Popen(
        ["wrk", *options, "-s", str(script), f"{url}{PATH}"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert wrk.stdout is not None
    said = []
    for line in wrk.stdout:
        said.append(line)
        if line.startswith("REACHED"):
            wrk.send_signal(signal.SIGINT)  # wrk's own way to end a run early
        elif line.startswith("BENCH "):
            _, requests, failed = line.split()
            wrk.wait(timeout=30)
            return int(requests), int(failed)
    wrk.wait(timeout=30)
    raise RuntimeError(f"wrk said: {''.join(said)}")


def over_http(args: Any) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    scale = args.total / CHECKPOINTS[-1]
    checkpoints = [round(c * scale) for c in CHECKPOINTS]
    print("bench_memory: the service's RSS over submissions")
    print(describe_machine())
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(
        f"POST {PATH}, wrk -t1 -c{args.connections}, rate limit {args.rate}, "
        f"{args.clients or args.total:,} client addresses, Idempotency-Key on 1 in 10 "
        + (
            "(and its retry), no outbox worker"
            if args.no_worker
            else "(and its retry), in-process outbox worker writing .eml files"
        )
    )
    with tempfile.TemporaryDirectory(prefix="intakeforms-memory-") as scratch:
        folder = Path(scratch)
        script = folder / "submit.lua"
        script.write_text(LUA, encoding="utf-8")
        process, url = start(folder, args.rate, not args.no_worker)
        try:
            print(f"  started: RSS {rss_kib(process.pid) / 1024:.1f} MiB")
            print(
                f"  {'submissions':>11} {'RSS MiB':>8} {'/ first':>8} {'req/s':>7} "
                f"{'non-2xx':>7}  {'anon':>6} {'file':>6} {'shmem':>6} {'children':>8}"
            )
            sent, failed, first, second = 0, 0, 0, 0
            for checkpoint in checkpoints:
                clock = time.perf_counter()
                requests, bad = run_wrk(url, script, sent, checkpoint - sent, args)
                rate = requests / (time.perf_counter() - clock)
                sent += requests
                failed += bad
                if not first and not args.no_worker:
                    # A real site takes hours over its first 1,000: their mails
                    # are sent by then, and the worker's first batch (its
                    # imports, its mail builder) is part of the base.
                    print(f"  (the first {delivered(folder)} mails written)")
                parts = memory_kib(process.pid)
                rss = parts["VmRSS"]
                first = first or rss
                second = rss if sent >= checkpoints[1] and not second else second
                print(
                    f"  {sent:>11,} {rss / 1024:8.1f} {rss / first:8.3f} {rate:7.0f} {bad:>7}  "
                    + " ".join(
                        f"{parts[k] / 1024:6.1f}" for k in ("RssAnon", "RssFile", "RssShmem")
                    )
                    + f" {children_kib(process.pid) / 1024:8.1f}"
                )
            ratio = rss / first
            verdict = "MET" if ratio <= GOAL else "NOT met"
            print(
                f"  RSS({checkpoints[-1]:,}) / RSS({checkpoints[0]:,}) = {ratio:.3f}; "
                f"goal at most {GOAL}: {verdict}"
            )
            print(f"  RSS({checkpoints[-1]:,}) / RSS({checkpoints[1]:,}) = {rss / second:.3f}")
            if failed:
                print(f"  {failed} answers were not 2xx: see {folder / 'server.log'}")
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


# -- --trace: where memory grows, in process -------------------------------------


def request_of(n: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers of submission ``n``, as the wrk script makes them."""
    m = n - 5 if n % 10 == 5 else n
    answers = {
        **ANSWERS,
        "mileage": 1000 + (m * 37) % 400000,
        "email": f"customer{m}@example.com",
        "phone": f"040 {m // 10000 % 1000:03d} {m % 10000:04d}",
    }
    headers = [
        (b"x-forwarded-for", f"10.{m >> 16 & 255}.{m >> 8 & 255}.{m & 255}".encode()),
        (b"x-forwarded-proto", b"https"),
    ]
    if m % 10 == 0:
        headers.append((b"idempotency-key", f"bench-{m}".encode()))
    return json.dumps(answers).encode(), headers


def trace(args: Any) -> None:
    from intakeforms import load_forms
    from intakeforms.delivery import deliver_in_process
    from intakeforms.settings import load_settings
    from intakeforms.web import create_app

    with tempfile.TemporaryDirectory(prefix="intakeforms-memory-") as scratch:
        settings = load_settings(settings_for(Path(scratch), args.rate))
        background = [deliver_in_process] if args.worker else []
        app = create_app(load_forms([EXAMPLES]), settings, background=background)

        async def submit(first: int, count: int) -> None:
            for n in range(first, first + count):
                status = await asgi_post(app, PATH, *request_of(n))
                assert status == 201, status

        async def main() -> None:
            async with app.router.lifespan_context(app):  # the outbox worker, if asked
                await traced()

        async def traced() -> None:
            await submit(0, args.warmup)  # caches, the store's statements
            tracemalloc.start(max(12, args.depth))
            before = tracemalloc.take_snapshot()
            await submit(args.warmup, args.trace)
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            stats = after.compare_to(before, "traceback")
            grown = sum(s.size_diff for s in stats)
            print(
                f"{args.trace:,} submissions: traced memory grew {grown / 1024:.1f} KiB, "
                f"{grown / args.trace:.1f} bytes a submission; the largest growth:"
            )
            for stat in stats[: args.top]:
                if stat.size_diff <= 0:
                    continue
                print(f"  {stat.size_diff / 1024:9.1f} KiB in {stat.count_diff:+,} blocks")
                for line in stat.traceback.format()[-args.depth :]:
                    print(f"      {line}")

        asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--total", type=int, default=CHECKPOINTS[-1], help="submissions")
    parser.add_argument("--connections", type=int, default=8, help="wrk's connections (8)")
    parser.add_argument("--clients", type=int, default=0, help="client addresses (--total)")
    parser.add_argument("--rate", default="1000000/second", help="INTAKE_RATE_LIMIT")
    parser.add_argument("--trace", type=int, default=0, help="in process: N submissions")
    parser.add_argument("--warmup", type=int, default=3000, help="--trace: first (3000)")
    parser.add_argument("--top", type=int, default=8, help="--trace: places shown (8)")
    parser.add_argument("--depth", type=int, default=6, help="--trace: lines of each (6)")
    parser.add_argument("--worker", action="store_true", help="--trace with the outbox worker")
    parser.add_argument("--no-worker", action="store_true", help="serve without the worker")
    parser.add_argument("--quick", action="store_true", help="20,000 submissions")
    args = parser.parse_args(argv)
    if args.trace:
        trace(args)
        return 0
    if args.quick:
        args.total = 20_000
    over_http(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
