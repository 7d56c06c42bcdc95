"""Agent emails per second from the outbox, and draining a backlog of jobs.

Everything goes to one local aiosmtpd server in **its own process** whose
handler only finds the ``X-Intake-Reference`` header and counts it; the
script asks it (over a pipe) what it received and how much CPU it used, so
every figure comes with a check that each job arrived exactly once and with
the server's CPU use (a server near 100 % of a core would be the bottleneck).

1. **Emails per second** (``--emails`` per round, default 600), in alternating
   rounds on the same submissions:

   - **ours**: ``Worker.run_once()`` until drained (batch 50) on a SQLite store
     holding N car-service submissions with one email job each (a fresh copy
     of one filled file per round), ``smtp_url`` pointing at the server;
   - **ceiling**: raw aiosmtplib ``send_message`` of the same messages, built
     once beforehand with ``build_agent_email``, over one connection;
   - two contenders for information: ``build_agent_email`` + ``send_message``
     (no store: what mail building costs), and ``sendmail`` of prebuilt bytes
     (no flattening either: what the wire alone costs).

2. **Draining a backlog** of ``--backlog`` jobs (default 10,000) with
   ``intakeforms worker examples --batch 50 --once`` processes: SQLite with
   one worker, PostgreSQL with one and with two. Seconds from starting the
   workers until they exit, jobs per second, and the exactly-once checks
   (references counted by the server, the store's ``counts()``).

``--profile`` adds a breakdown of one in-process drain by component (claim,
mail building, SMTP, complete) and the top of cProfile's output.

Run: ``.venv/bin/python benchmarks/bench_delivery.py [--quick] [--profile]``
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import datetime as dt
import functools
import gc
import inspect
import io
import json
import os
import pstats
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import aiosmtplib
import aiosmtplib.smtp
import anyio
import psycopg
from _harness import describe_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from intakeforms import Form, load_forms
from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery import smtp as smtp_module
from intakeforms.delivery.smtp import PreparedMail, SmtpTransport
from intakeforms.mail import build_agent_email
from intakeforms.mail.policy import POLICY
from intakeforms.settings import Settings
from intakeforms.store import (
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    SqliteStore,
    StoredSubmission,
    open_store,
    outbox,
)
from intakeforms.targets import email as email_target

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ANSWERS: dict[str, Any] = json.loads((EXAMPLES / "car-service" / "answers.json").read_text())
HOST = "127.0.0.1"
POSTGRESQL = os.environ.get("INTAKE_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")
GOAL = 0.9
#: Two workers on PostgreSQL against one: drain time ratio.
SCALE_GOAL = 1.7


@functools.cache
def forms() -> dict[str, Form]:
    """The example forms (not loaded by the SMTP server process)."""
    return {form.id: form for form in load_forms([EXAMPLES])}


def car() -> Form:
    return forms()["car-service"]


# -- the counting SMTP server (runs in its own process) ---------------------------

REFERENCE_HEADER = re.compile(rb"^X-Intake-Reference:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)


@dataclass
class CountingHandler:
    """Accepts every message and counts it by its ``X-Intake-Reference``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    references: collections.Counter[str] = field(default_factory=collections.Counter)
    messages: int = 0
    unreferenced: int = 0
    sessions: set[int] = field(default_factory=set)
    first: float | None = None
    last: float | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        end = content.find(b"\n\r\n")
        if end < 0:
            end = content.find(b"\n\n")
        found = REFERENCE_HEADER.search(content, 0, end if end >= 0 else len(content))
        now = time.monotonic()
        with self.lock:
            self.messages += 1
            self.sessions.add(id(session))
            if found:
                self.references[found.group(1).decode("ascii", "replace")] += 1
            else:
                self.unreferenced += 1
            if self.first is None:
                self.first = now
            self.last = now
        return "250 OK counted"

    def answer(self, command: str) -> dict[str, Any]:
        with self.lock:
            if command == "reset":
                self.references.clear()
                self.messages = self.unreferenced = 0
                self.sessions.clear()
                self.first = self.last = None
                return {"ok": True}
            if command == "references":
                return dict(self.references)
            return {
                "messages": self.messages,
                "unreferenced": self.unreferenced,
                "sessions": len(self.sessions),
                "first": self.first,
                "last": self.last,
                "cpu": time.process_time(),
            }


def serve_smtp() -> None:
    """The server process: print the port, then answer commands read from stdin."""
    handler = CountingHandler()
    port = free_port()
    controller = Controller(
        handler, hostname=HOST, port=port, server_hostname="bench.localhost", ready_timeout=10
    )
    controller.start()
    print(port, flush=True)
    try:
        for line in sys.stdin:
            print(json.dumps(handler.answer(line.strip())), flush=True)
    finally:
        controller.stop()


class SmtpSink:
    """The parent's handle on the server process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--smtp-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise SystemExit("the SMTP server process did not start; see its error above")
        self.port = int(line)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}?timeout=30"

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def references(self) -> collections.Counter[str]:
        return collections.Counter({str(k): int(v) for k, v in self.ask("references").items()})

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# -- stores ------------------------------------------------------------------------


async def fill(store_url: str, n: int, concurrency: int = 10) -> list[str]:
    """Store ``n`` car-service submissions, each with one email job.

    Saves run ``concurrency`` at a time: SQLite commits them in groups,
    PostgreSQL spreads them over its pool (10 connections by default).
    """
    form = car()
    data = dict(form.validate(ANSWERS))
    store = open_store(store_url)
    await store.open()
    references: list[str] = []
    limiter = anyio.Semaphore(concurrency)

    async def save_one() -> None:
        async with limiter:
            result = await store.save(
                NewSubmission(
                    form=form.id,
                    form_version=form.version,
                    reference_prefix=form.reference_prefix,
                    locale="fi",
                    data=data,
                    targets=["email:0"],
                )
            )
        references.append(result.reference)

    try:
        async with anyio.create_task_group() as group:
            for _ in range(n):
                group.start_soon(save_one)
    finally:
        await store.close()
    return references


async def store_counts(store_url: str) -> dict[str, int]:
    store = open_store(store_url)
    await store.open()
    try:
        return await store.counts()
    finally:
        await store.close()


def admin(query: str, url: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(query.encode())


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema, dropped afterwards; yields the store URL that uses it."""
    schema = f"bench_delivery_{secrets.token_hex(6)}"
    admin(f"CREATE SCHEMA {schema}", base_url)
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        admin(f"DROP SCHEMA {schema} CASCADE", base_url)


def postgres_problem(url: str) -> str | None:
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


def sqlite_copy(template: Path, target: Path) -> Path:
    """A fresh copy of a closed (checkpointed) SQLite file."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return target


# -- machine-wide and per-process CPU -------------------------------------------------


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat; None off Linux."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- part 1: emails per second -----------------------------------------------------


@dataclass
class Run:
    """One timed drain or send loop."""

    wall: float
    client_cpu: float
    server_cpu: float = 0.0

    def rate(self, n: int) -> float:
        return n / self.wall


async def timed(work: Callable[[], Awaitable[None]]) -> Run:
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    await work()
    return Run(time.perf_counter() - start, time.process_time() - cpu)


def process_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) used so far by the processes ``pids``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        # Fields 14 and 15 (utime, stime) come after the parenthesised name.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def ours_round(
    db: Path, settings: Settings, batch: int, builders: int
) -> tuple[Run, dict[str, int]]:
    async with SqliteStore(db) as store:
        worker = Worker(
            store=store,
            forms=forms(),
            settings=settings,
            transport=mail_transport(settings),
            batch=batch,
            builders=builders,
        )
        # Untimed, as for a running worker: the build processes start once,
        # with the worker, not per batch.
        await worker.start()
        pids = worker._builder.pids
        before = process_cpu(pids)

        async def drain() -> None:
            while await worker.run_once():
                pass
            await worker.transport.close()

        try:
            run = await timed(drain)
            # What the build processes used counts as the worker's CPU.
            run.client_cpu += process_cpu(pids) - before
        finally:
            await worker.close()
        return run, await store.counts()


def smtp_client(port: int) -> aiosmtplib.SMTP:
    # The options SmtpTransport uses for smtp://127.0.0.1:PORT?timeout=30.
    return aiosmtplib.SMTP(hostname=HOST, port=port, timeout=30, start_tls=None)


async def send_messages(messages: Sequence[EmailMessage], port: int) -> Run:
    async def send() -> None:
        client = smtp_client(port)
        await client.connect()
        for message in messages:
            await client.send_message(message)
        await client.quit()

    return await timed(send)


async def build_and_send(
    submissions: Sequence[StoredSubmission], settings: Settings, port: int
) -> Run:
    form = car()

    async def send() -> None:
        client = smtp_client(port)
        await client.connect()
        for submission in submissions:
            message = build_agent_email(
                form,
                submission,
                mail_from=settings.mail_from,
                upload_dir=settings.upload_dir,
                target_index=0,
            )
            await client.send_message(message)
        await client.quit()

    return await timed(send)


async def send_bytes(wire: Sequence[tuple[str, list[str], bytes]], port: int) -> Run:
    async def send() -> None:
        client = smtp_client(port)
        await client.connect()
        for sender, recipients, data in wire:
            await client.sendmail(sender, recipients, data)
        await client.quit()

    return await timed(send)


async def read_submissions(db: Path, references: Sequence[str]) -> list[StoredSubmission]:
    found: list[StoredSubmission] = []
    async with SqliteStore(db) as store:
        for reference in references:
            submission = await store.get(reference)
            assert submission is not None
            found.append(submission)
    return found


def forget_headers() -> None:
    """Empty the mail policy's cache of parsed headers (this benchmark only)."""
    factory: Any = POLICY.header_factory
    factory._parsed.clear()


def on_the_wire(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """What aiosmtplib's send_message sends: envelope from the headers, CRLF bytes."""
    sender = message["From"].addresses[0].addr_spec
    recipients = [a.addr_spec for a in message["To"].addresses]
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    return sender, recipients, data


def bench_rate(args: argparse.Namespace, sink: SmtpSink, folder: Path, settings: Settings) -> None:
    n = args.emails
    template = folder / "rate-template.db"
    references = anyio.run(fill, f"sqlite:///{template}", n, 64)
    expected = collections.Counter(references)
    submissions = anyio.run(read_submissions, template, references)
    messages = [
        build_agent_email(
            car(), s, mail_from=settings.mail_from, upload_dir=settings.upload_dir, target_index=0
        )
        for s in submissions
    ]
    wire = [on_the_wire(m) for m in messages]
    size = statistics.mean(len(data) for _, _, data in wire)
    db = folder / "rate.db"
    builders = settings.mail_builders
    names = [
        f"ours: Worker.run_once (SQLite, batch {args.batch}, {builders} build process)",
        "ceiling: aiosmtplib send_message (prebuilt)",
        "info: build_agent_email + send_message",
        "info: aiosmtplib sendmail (prebuilt bytes)",
        "info: ours with mail_builders=0 (threads)",
    ]
    problems: list[str] = []

    def ours_checked(builders: int) -> Run:
        sqlite_copy(template, db)
        run, counts = anyio.run(ours_round, db, settings, args.batch, builders)
        got = sink.references()
        if got != expected or counts["delivered"] != n or sum(counts.values()) != n:
            problems.append(
                f"ours ({builders} build processes): store counts {counts}, "
                f"server {sum(got.values())} messages"
            )
        return run

    def fresh() -> list[EmailMessage]:
        """The messages built again, untimed, from empty header caches: a
        header object remembers its folding (and equal headers are one
        object), so messages flattened in an earlier round would flatten
        faster than any new message does."""
        forget_headers()
        return [
            build_agent_email(
                car(), s, mail_from=settings.mail_from, upload_dir=settings.upload_dir
            )
            for s in submissions
        ]

    def build_and_send_fresh() -> Run:
        forget_headers()  # as a new process would: every mail's own headers new
        return anyio.run(build_and_send, submissions, settings, sink.port)

    contenders: list[Callable[[], Run]] = [
        lambda: ours_checked(builders),
        lambda: anyio.run(send_messages, fresh(), sink.port),
        build_and_send_fresh,
        lambda: anyio.run(send_bytes, wire, sink.port),
        lambda: ours_checked(0),
    ]

    # One untimed warm-up of each, then alternating rounds.
    for contender in contenders:
        sink.ask("reset")
        contender()
    runs: list[list[Run]] = [[] for _ in contenders]
    for _ in range(args.rounds):
        for i, contender in enumerate(contenders):
            sink.ask("reset")
            before = sink.ask("stats")["cpu"]
            run = contender()
            after = sink.ask("stats")
            run.server_cpu = after["cpu"] - before
            if after["messages"] != n or after["sessions"] != 1:
                problems.append(
                    f"{names[i]}: the server got {after['messages']} messages "
                    f"in {after['sessions']} sessions"
                )
            runs[i].append(run)

    print(
        f"\n1. Emails per second: {n} car-service emails per round ({size / 1024:.1f} KiB "
        f"each), {args.rounds} alternating rounds, median (after one warm-up round)"
    )
    print(
        f"  {'contender':<58}{'emails/s':>9}{'best':>7}{'spread':>7}"
        f"{'client CPU':>11}{'server CPU':>11}{'server':>8}"
    )
    print(f"  {'':<58}{'':>9}{'':>7}{'':>7}{'ms/email':>11}{'ms/email':>11}{'% core':>8}")
    medians: list[float] = []
    client_ms: list[float] = []
    server_ms: list[float] = []
    for name, rounds in zip(names, runs, strict=True):
        rates = [r.rate(n) for r in rounds]
        median = statistics.median(rates)
        medians.append(median)
        client_ms.append(statistics.median(r.client_cpu for r in rounds) / n * 1000)
        server_ms.append(statistics.median(r.server_cpu for r in rounds) / n * 1000)
        busy = statistics.median(r.server_cpu / r.wall for r in rounds)
        spread = (max(rates) - min(rates)) / median
        print(
            f"  {name:<58}{median:>9.0f}{max(rates):>7.0f}{spread:>6.0%} "
            f"{client_ms[-1]:>10.2f} {server_ms[-1]:>10.2f}{busy:>8.0%}"
        )
    share = medians[0] / medians[1]
    print(f"  ours / ceiling: {share:.2f} of the ceiling's emails per second")
    print(f"  goal at least {GOAL}: {'MET' if share >= GOAL else 'NOT MET'}")
    print(
        f"  with the build processes in threads instead (mail_builders=0): "
        f"{medians[4] / medians[1]:.2f} of the ceiling"
    )
    print(
        f"  by client CPU per email instead (leaves the server out; ours counts its build "
        f"processes' CPU): ceiling / ours = {client_ms[1] / client_ms[0]:.2f}"
    )
    per_email = [1000 / m for m in medians]
    print(
        f"  wall ms per email, from the medians: ours in threads {per_email[4]:.2f} = ceiling "
        f"{per_email[1]:.2f} + mail building {per_email[2] - per_email[1]:.2f} + store and "
        f"worker {per_email[4] - per_email[2]:.2f}; of the ceiling, flattening in "
        f"send_message {per_email[1] - per_email[3]:.2f}; ours with build processes "
        f"{per_email[0]:.2f}, as the building overlaps with sending"
    )
    busiest = max(statistics.median(r.server_cpu / r.wall for r in rounds) for rounds in runs)
    verdict = (
        "not the bottleneck" if busiest < 0.85 else "NEAR SATURATION: the ceiling may be too low"
    )
    print(
        f"  SMTP server: at most {busiest:.0%} of one core busy, {verdict}; but SMTP is "
        "one command at a time, so its time per message adds to every contender's"
    )
    if problems:
        print("  CHECKS FAILED:")
        for problem in problems:
            print(f"    {problem}")
    else:
        print(
            f"  checks: every round delivered {n} messages over one connection; each ours "
            f"round delivered every reference exactly once and the store counts {n} delivered"
        )


# -- part 2: draining a backlog with worker processes ---------------------------------


@dataclass
class Drain:
    name: str
    workers: int
    wall: float
    startup: float
    span: float
    worker_cpu: float
    server_cpu: float
    machine: float | None
    problems: list[str]


def start_workers(
    store_url: str, sink: SmtpSink, folder: Path, count: int, batch: int
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "INTAKE_STORE": store_url, "INTAKE_SMTP_URL": sink.url}
    processes = []
    for i in range(count):
        with (folder / f"worker-{i}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "intakeforms",
                        "worker",
                        str(EXAMPLES),
                        "--batch",
                        str(batch),
                        "--once",
                    ],
                    cwd=folder,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
    return processes


def drain_backlog(
    name: str,
    store_url: str,
    references: Sequence[str],
    workers: int,
    sink: SmtpSink,
    folder: Path,
    batch: int,
) -> Drain:
    n = len(references)
    sink.ask("reset")
    server_before = sink.ask("stats")["cpu"]
    cpu_before = children_cpu()
    ticks_before = cpu_ticks()
    started = time.monotonic()
    processes = start_workers(store_url, sink, folder, workers, batch)
    problems: list[str] = []
    deadline = started + max(120.0, n / 10)
    for process in processes:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            problems.append("a worker did not finish in time and was killed")
    ended = time.monotonic()
    ticks_after = cpu_ticks()
    worker_cpu = children_cpu() - cpu_before
    stats = sink.ask("stats")
    for i, process in enumerate(processes):
        if process.returncode != 0:
            log = (folder / f"worker-{i}.log").read_text(errors="replace")
            problems.append(f"worker {i} exited with {process.returncode}: {log[-500:]}")
    got = sink.references()
    counts = anyio.run(store_counts, store_url)
    missing = sum(1 for r in references if r not in got)
    twice = sum(1 for c in got.values() if c > 1)
    strangers = sum(1 for r in got if r not in set(references)) + stats["unreferenced"]
    if missing or twice or strangers:
        problems.append(f"server: {missing} missing, {twice} more than once, {strangers} unknown")
    if counts["delivered"] != n or sum(counts.values()) != n:
        problems.append(f"store counts {counts}")
    first, last = stats["first"], stats["last"]
    return Drain(
        name=name,
        workers=workers,
        wall=ended - started,
        startup=(first - started) if first is not None else float("nan"),
        span=(last - first) if first is not None and last is not None else float("nan"),
        worker_cpu=worker_cpu,
        server_cpu=stats["cpu"] - server_before,
        machine=busy_share(ticks_before, ticks_after),
        problems=problems,
    )


def bench_backlog(args: argparse.Namespace, sink: SmtpSink, folder: Path) -> None:
    n = args.backlog
    results: list[Drain] = []
    fills: list[str] = []
    template = folder / "backlog-template.db"
    start = time.perf_counter()
    references = anyio.run(fill, f"sqlite:///{template}", n, 64)
    fills.append(f"SQLite {n / (time.perf_counter() - start):.0f}/s")
    db = sqlite_copy(template, folder / "backlog.db")
    results.append(
        drain_backlog("SQLite", f"sqlite:///{db}", references, 1, sink, folder, args.batch)
    )
    problem = postgres_problem(args.postgresql)
    skipped = None
    if problem is not None:
        skipped = f"PostgreSQL at {args.postgresql} skipped: {problem}"
    else:
        for workers in (1, 2):
            with postgres_schema(args.postgresql) as url:
                start = time.perf_counter()
                references = anyio.run(fill, url, n, 10)
                fills.append(f"PostgreSQL {n / (time.perf_counter() - start):.0f}/s")
                results.append(
                    drain_backlog("PostgreSQL", url, references, workers, sink, folder, args.batch)
                )
    print(
        f"\n2. Draining a backlog of {n} jobs: `intakeforms worker examples --batch "
        f"{args.batch} --once` processes, one run each"
    )
    print(f"  (filling the stores untimed here: {', '.join(fills)} saves)")
    print(
        f"  {'store':<12}{'workers':>8}{'drain s':>9}{'jobs/s':>8}{'start s':>9}"
        f"{'span s':>8}{'jobs/s':>8}{'worker CPU':>11}{'SMTP CPU':>10}{'machine':>9}  exactly once"
    )
    print(
        f"  {'':<12}{'':>8}{'':>9}{'':>8}{'':>9}{'':>8}{'in span':>8}{'ms/job':>11}"
        f"{'% core':>10}{'CPU %':>9}"
    )
    for r in results:
        machine = "n/a" if r.machine is None else f"{r.machine:.0%}"
        print(
            f"  {r.name:<12}{r.workers:>8}{r.wall:>9.2f}{n / r.wall:>8.0f}{r.startup:>9.2f}"
            f"{r.span:>8.2f}{n / r.span:>8.0f}{r.worker_cpu / n * 1000:>11.2f}"
            f"{r.server_cpu / r.wall:>10.0%}{machine:>9}  "
            f"{'yes' if not r.problems else 'NO'}"
        )
        for text in r.problems:
            print(f"    problem: {text}")
    print(
        "  drain s: from starting the workers until all exited (interpreter start, form "
        "loading and store opening included); start s: until the first email reached the "
        "server; span s: first to last email at the server"
    )
    print(
        f"  exactly once: the server counted each of the {n} references once (by "
        f"X-Intake-Reference) and counts() says {n} delivered, nothing else"
    )
    postgres = {r.workers: r for r in results if r.name == "PostgreSQL"}
    if 1 in postgres and 2 in postgres:
        one, two = postgres[1], postgres[2]
        scale = one.wall / two.wall
        met = scale >= SCALE_GOAL and not one.problems and not two.problems
        print(
            f"  PostgreSQL, two workers against one: {one.wall:.2f} s / {two.wall:.2f} s = "
            f"{scale:.2f}x as fast (in the span: {one.span / two.span:.2f}x); goal at least "
            f"{SCALE_GOAL}x: {'MET' if met else 'NOT MET'}"
        )
        print(
            f"  CPU per job (workers, their build processes, the SMTP server; PostgreSQL not "
            f"counted): one {(one.worker_cpu + one.server_cpu) / n * 1000:.2f} ms, two "
            f"{(two.worker_cpu + two.server_cpu) / n * 1000:.2f} ms; on {os.cpu_count()} CPUs "
            f"that caps two workers at {os.cpu_count() or 1} / CPU per job"
        )
    if skipped:
        print(f"  {skipped}")


# -- --profile: where the time of one email goes -----------------------------------


@dataclass
class Tally:
    """Seconds spent per component; the drain does one thing at a time."""

    seconds: dict[str, float] = field(default_factory=lambda: collections.defaultdict(float))

    def add(self, what: str, since: float) -> None:
        self.seconds[what] += time.perf_counter() - since

    def wrap(self, what: str, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):  # the store's operations

            async def timed_await(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self.add(what, start)

            return timed_await

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(what, start)

        return timed_call


TALLY = Tally()


class TimedStore(SqliteStore):
    async def claim(
        self, worker: str, *, limit: int, lease_seconds: float, now: dt.datetime | None = None
    ) -> list[ClaimedJob]:
        start = time.perf_counter()
        try:
            return await super().claim(worker, limit=limit, lease_seconds=lease_seconds, now=now)
        finally:
            TALLY.add("claim", start)

    async def complete(self, job_id: int, *, worker: str, receipt: str | None) -> OutboxJob:
        start = time.perf_counter()
        try:
            return await super().complete(job_id, worker=worker, receipt=receipt)
        finally:
            TALLY.add("complete", start)


class TimedTransport(SmtpTransport):
    async def send(self, message: EmailMessage | PreparedMail) -> str:
        start = time.perf_counter()
        try:
            return await super().send(message)
        finally:
            TALLY.add("send", start)


class TimedWorker(Worker):
    async def _deliver(self, item: ClaimedJob, builds: Any) -> str:
        start = time.perf_counter()
        try:
            return await super()._deliver(item, builds)
        finally:
            TALLY.add("deliver", start)


@contextlib.contextmanager
def tallying() -> Iterator[None]:
    """Time the pieces the worker calls (for this benchmark only)."""
    with contextlib.ExitStack() as patches:
        for owner, name, what in (
            (email_target, "build_agent_email", "build"),
            (outbox, "claim", "claim sql"),
            (outbox, "finish", "complete sql"),
            (aiosmtplib.smtp, "flatten_message", "flatten"),
            (smtp_module, "flatten_message", "flatten"),
        ):
            patches.enter_context(
                mock.patch.object(owner, name, TALLY.wrap(what, getattr(owner, name)))
            )
        yield


async def profiled_drain(
    db: Path, settings: Settings, batch: int, profiler: cProfile.Profile | None
) -> float:
    assert settings.smtp_url is not None
    async with TimedStore(db) as store:
        worker = TimedWorker(
            store=store,
            forms=forms(),
            settings=settings,
            transport=TimedTransport(settings.smtp_url),
            batch=batch,
        )
        gc.collect()
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        while await worker.run_once():
            pass
        await worker.transport.close()
        if profiler is not None:
            profiler.disable()
        return time.perf_counter() - start


def print_stats(profiler: cProfile.Profile, key: str, limit: int, title: str) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(key).print_stats(limit)
    text = out.getvalue()
    body = text[text.find("   ncalls") :].rstrip().replace(f"{ROOT}/", "")
    shown = re.sub(r"/\S*/(site-packages|lib/python3\.\d+)/", r"\1/", body)
    print(f"\n  {title}:")
    for line in shown.splitlines():
        print(f"    {line}")


def bench_profile(
    args: argparse.Namespace, sink: SmtpSink, folder: Path, settings: Settings
) -> None:
    n = args.emails
    template = folder / "profile-template.db"
    references = anyio.run(fill, f"sqlite:///{template}", n, 64)
    db = folder / "profile.db"
    with tallying():
        sqlite_copy(template, db)
        anyio.run(profiled_drain, db, settings, args.batch, None)  # warm-up
        TALLY.seconds.clear()
        sqlite_copy(template, db)
        sink.ask("reset")
        server_before = sink.ask("stats")["cpu"]
        total = anyio.run(profiled_drain, db, settings, args.batch, None)
        server = sink.ask("stats")["cpu"] - server_before
        assert sink.references() == collections.Counter(references)
        s = dict(TALLY.seconds)
    print(
        f"\n3. Profile: one in-process drain of {n} emails (SQLite, batch {args.batch}, "
        "mail_builders=0 so that one process holds every piece), wall time per component"
    )
    rows = [
        ("store.claim, awaited (per email)", s["claim"]),
        ("  of which SQL in the store's thread", s["claim sql"]),
        ("build_agent_email, in a worker thread", s["build"]),
        ("  thread hand-off around it", s["deliver"] - s["send"] - s["build"]),
        ("transport.send, awaited", s["send"]),
        ("  of which aiosmtplib flattening", s["flatten"]),
        ("  of which SMTP server CPU (other process)", server),
        ("  the rest: protocol, loopback round trips", s["send"] - s["flatten"] - server),
        ("store.complete, awaited", s["complete"]),
        ("  of which SQL + commit (fsync) in its thread", s["complete sql"]),
    ]
    top = s["claim"] + s["deliver"] + s["complete"]
    rows.append(("the rest (worker loop, connect, QUIT)", total - top))
    print(f"  {'component':<46}{'ms/email':>9}{'share':>8}")
    for name, spent in rows:
        print(f"  {name:<46}{spent / n * 1000:>9.3f}{spent / total:>8.0%}")
    print(f"  {'total':<46}{total / n * 1000:>9.3f}{1:>8.0%}")
    sqlite_copy(template, db)
    sink.ask("reset")
    profiler = cProfile.Profile()
    anyio.run(profiled_drain, db, settings, args.batch, profiler)
    print_stats(profiler, "tottime", 12, "cProfile of a drain, event loop thread only, by own time")
    submission = anyio.run(read_submissions, template, references[:1])[0]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(200):
        build_agent_email(
            car(), submission, mail_from=settings.mail_from, upload_dir=settings.upload_dir
        )
    profiler.disable()
    print_stats(profiler, "tottime", 12, "cProfile of 200 build_agent_email calls, by own time")
    print_stats(profiler, "cumulative", 12, "... by cumulative time")


# -- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs, for a smoke test")
    parser.add_argument("--rounds", type=int, help="timed rounds of part 1 (default 5)")
    parser.add_argument("--emails", type=int, help="emails per round of part 1 (default 600)")
    parser.add_argument("--backlog", type=int, help="jobs to drain in part 2 (default 10000)")
    parser.add_argument("--batch", type=int, default=50, help="jobs claimed at a time")
    parser.add_argument("--postgresql", default=POSTGRESQL, help="a PostgreSQL database for part 2")
    parser.add_argument("--only", choices=("rate", "backlog", "profile"), help="run one part only")
    parser.add_argument("--profile", action="store_true", help="add the profile of part 3")
    parser.add_argument("--smtp-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_server:
        serve_smtp()
        return
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.emails = args.emails or (300 if args.quick else 600)
    args.backlog = args.backlog or (1000 if args.quick else 10_000)

    print("bench_delivery: agent emails from the outbox to a local SMTP server")
    print(describe_machine())
    print(
        f"{os.cpu_count()} CPUs shared by this process, the SMTP server process, the worker "
        f"processes and PostgreSQL; aiosmtplib {version('aiosmtplib')}, aiosmtpd "
        f"{version('aiosmtpd')} (its own process, a handler that only counts), SQLite "
        f"{sqlite_version()}, psycopg {version('psycopg')}"
    )
    sink = SmtpSink()
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-delivery-"))
    settings = replace(
        Settings(
            store=f"sqlite:///{folder / 'unused.db'}",
            mail_dir=folder / "mail",
            upload_dir=folder / "uploads",
            secret="bench",
        ),
        smtp_url=sink.url,
    )
    try:
        parts = {args.only} if args.only else {"rate", "backlog"}
        if args.profile:
            parts.add("profile")
        if "rate" in parts:
            bench_rate(args, sink, folder, settings)
        if "backlog" in parts:
            bench_backlog(args, sink, folder)
        if "profile" in parts:
            bench_profile(args, sink, folder, settings)
    finally:
        sink.close()
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main()
