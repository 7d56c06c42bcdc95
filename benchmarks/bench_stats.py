"""Statistics: a form's figures over 1,000,000 events, and what ingesting events costs.

Part 1, on SQLite and on PostgreSQL (``INTAKE_TEST_POSTGRESQL`` or
``--postgresql URL``, in a schema of its own, dropped afterwards; skipped,
saying why, without a server): 1,000,000 visitor events of the car-service
form over the 30 days before ``now`` (2025-06-30 12:00 UTC), generated with a
fixed seed as visits (a view; most begin; answers in form order with some
edits and errors; 45 % of the begun submit, some twice; many of the rest
abandon) and bulk-loaded. Then, in the same run:

* ``cold first call``: ``form_figures`` over the 31 days with no rollup yet:
  it rolls the 30 finished days itself, then answers (timed once);
* ``roll_up``: the rollup's own time, the rollups deleted first (timed once);
* ``stats answer``: ``form_figures`` over the 31 days after the rollup: the
  30 days' sums read from the rollups, today (12 hours, about 17,000
  events) counted from the raw events, and the FAQ's counts;
* baseline ``raw, every day``: the same figures counted from the raw events
  day by day, with no rollup (``count_visits`` of each day, summed).

Both give the same figures (checked before timing). Goal: the stats answer
under 200 ms on both databases.

Part 2: what an event stream costs the submit path, in process. The app
(as a process of ``intakeforms serve --no-worker`` builds it: ``build_app``
with the car-service form, then ``freeze_start_up``; SQLite store in a
temporary folder, rate limit off) is called as an ASGI server calls it,
with no HTTP parsing and no client library, so that only the service's own
work is measured (on a machine of 2 CPUs a client or a load generator
beside the server takes the server's CPU). Eight submissions at a time POST
the car-service answers; beside them the app gets ``POST /events`` at as
many events a second as the submissions a second by the clock in the run's
slices without events so far (the warm-up's before the first: the rate
follows the submit path as the machine and the database change), in one of
three streams (``--streams``): one event a request and ten a request (the
events of visits taken in turn), and ``visits``: each request one visit's
events, as pages send them now that they hold a visit's events until it
ends (its ``submit`` left out: the service records that itself; a view
alone, a quarter of the visits, is a request of one event; 7.8 events a
request on average). Each events request has the page's ``Origin``, as a
browser sends it. Visits are made as in part 1, each event with its
``ago``. Each request goes on time whether the one before was answered or
not, as pages send them. The bodies are made before each slice, and each
events request runs in a task of its own that is let go once answered, as
an ASGI server runs a request (uvicorn makes one task a request).

Run in process, the stream's driver (its tasks, its timer, the requests
made and answered) is charged to this process's CPU too, so each stream
runs twice: answered 204 at the door, before the app (``Door``: the same
requests, none of the service's work), and taken by the service. The run
is ``--ingest-rounds`` rounds; a round is one slice of
``--ingest-seconds`` of each kind (no events, then each stream at the door
and taken), in an order turned by one each round. A slice's CPU (this process's, its threads
too) runs until the service has written every event it took, so that no
write is charged to the next slice. On a shared 2-CPU machine a second of
the same work costs 10 to 17 % more or less CPU than the next (measured),
so the figure is the kinds' totals over the whole run, side by side in
time, with a 95 % interval from resampling the rounds. Figures: submissions
per second of this process's CPU (what the service can take on a core of
its own) and by the clock, against no stream and against the door. Goal:
with events, at least 95 % of the submissions per CPU-second without.

Run: ``.venv/bin/python benchmarks/bench_stats.py`` (``--quick`` for a smoke
test: 100,000 events, short rounds; ``--skip-figures`` or ``--skip-ingest`` for
one part).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import psycopg
from _harness import add_arguments, asgi_post, describe_machine, measure, ratio_text

from intakeforms import Form, FormFigures, Store, form_figures, load_form, open_store, roll_up
from intakeforms.stats.figures import FaqFigures, figures_of, questions_of
from intakeforms.stats.rollup import days_between
from intakeforms.store.events import event_hour
from intakeforms.store.rollups import Tally
from intakeforms.store.sqlite_schema import timestamp
from intakeforms.validate import MESSAGES
from intakeforms.web.events import MAX_BATCH

ROOT = Path(__file__).resolve().parent.parent
FORM = load_form(ROOT / "examples" / "car-service" / "car-service.yaml")
QUESTIONS = questions_of(FORM)
ANSWERS = json.loads((ROOT / "examples" / "car-service" / "answers.json").read_text("utf-8"))
POSTGRESQL = os.environ.get("INTAKE_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)
FIRST = (NOW - dt.timedelta(days=30)).date()
TODAY = NOW.date()
GOAL_MS = 200.0
GOAL_RATIO = 0.95
# Codes a form's questions give (validate.MESSAGES): POST /events refuses others.
CODES = ("required", "not_integer", "too_long", "invalid_plate")
assert set(CODES) <= set(MESSAGES), "a code no question gives"
ROLLUPS = ("stats_days", "stats_channels", "stats_fields", "stats_codes", "stats_times")
_T = TypeVar("_T")

Row = tuple[str, str, str, str, str | None, str | None, dt.datetime]


# -- part 1: the figures over a million events -----------------------------------------


Step = tuple[str, str | None, str | None]  # event, field, code


def a_visit(rng: random.Random) -> list[Step]:
    """One visit's events: a view; three in four begin; answers in form
    order with some errors and edits; 45 % of the begun submit (5 % of those
    twice); most of the rest abandon where they stopped."""
    visit: list[Step] = [("view", None, None)]
    if rng.random() < 0.75:
        visit.append(("start", QUESTIONS[0], None))
        submits = rng.random() < 0.45
        last = len(QUESTIONS) - 1 if submits else min(int(rng.expovariate(0.35)), 9)
        for question in QUESTIONS[: last + 1]:
            if rng.random() < 0.1:
                visit.append(("error", question, rng.choice(CODES)))
            visit.append(("answer", question, None))
            if rng.random() < 0.15:
                visit.append(("answer", question, None))  # an edit
        if submits:
            visit += [("submit", None, None)] * (2 if rng.random() < 0.05 else 1)
        elif rng.random() < 0.6:
            visit.append(("abandon", QUESTIONS[last], None))
    return visit


def generate(total: int, seed: int = 15) -> list[Row]:
    """``total`` events of car-service visits over the 30 days before NOW."""
    rng = random.Random(seed)
    span = 30 * 86400 - 3600
    start = NOW - dt.timedelta(days=30)
    rows: list[Row] = []
    while len(rows) < total:
        session = base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big"))[:22]
        channel = rng.choices(("form", "chat", "inline"), (60, 25, 15))[0]
        at = start + dt.timedelta(seconds=rng.random() * span)
        name = session.decode()
        for kind, field, code in a_visit(rng):
            rows.append((name, FORM.id, channel, kind, field, code, at))
            at += dt.timedelta(seconds=rng.uniform(2, 40))
    return rows[:total]


def load_sqlite(path: Path, rows: list[Row]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.executemany(
            "INSERT INTO events (session, form, channel, event, field, code, happened_at, hour)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((*row[:6], timestamp(row[6]), event_hour(row[6])) for row in rows),
        )
        c.commit()


def load_postgres(url: str, rows: list[Row]) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        copy_sql = (
            "COPY events (session, form, channel, event, field, code, happened_at, hour) FROM STDIN"
        )
        with c.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row((*row, event_hour(row[6])))
        c.execute("ANALYZE events")


def clear_rollups(url: str, path: Path | None) -> None:
    if path is not None:
        with contextlib.closing(sqlite3.connect(path)) as c:
            for table in ROLLUPS:
                c.execute(f"DELETE FROM {table}")
            c.commit()
        return
    with psycopg.connect(url, autocommit=True) as c:
        for table in ROLLUPS:
            c.execute(f"DELETE FROM {table}".encode())


async def raw_figures(store: Store, form: Form) -> FormFigures:
    """The baseline: every day of the period counted from the raw events."""
    tally = Tally()
    for day in days_between(FIRST, TODAY):
        tally = tally + await store.count_visits(form.id, day, QUESTIONS)
    since = dt.datetime.combine(FIRST, dt.time(), dt.UTC)
    until = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), dt.UTC)
    counts = await store.faq_counts(since, until, form.id)
    deflected = await store.faq_deflected(since, until, form.id)
    gaps = await store.faq_gaps(since, 10, form=form.id, until=until)
    return figures_of(
        form,
        FIRST,
        TODAY,
        tally,
        FaqFigures(counts.searches, counts.helpful, deflected, tuple(gaps)),
    )


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str | None]:
    """A fresh schema, dropped afterwards; its store URL, or None (saying why)."""
    try:
        psycopg.connect(base_url, connect_timeout=5).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped: {base_url}: {' '.join(str(exc).split())}")
        yield None
        return
    schema = f"bench_stats_{secrets.token_hex(6)}"
    with psycopg.connect(base_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}".encode())
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE".encode())


def figures_over(name: str, url: str, path: Path | None, rows: list[Row], args: Any) -> None:
    loop = asyncio.new_event_loop()

    def run(work: Awaitable[_T]) -> _T:
        return loop.run_until_complete(work)

    store = open_store(url)
    run(store.open())
    try:
        started = time.perf_counter()
        if path is not None:
            load_sqlite(path, rows)
        else:
            load_postgres(url, rows)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        cold = run(form_figures(store, FORM, FIRST, TODAY, now=NOW))
        cold_s = time.perf_counter() - started
        clear_rollups(url, path)
        started = time.perf_counter()
        days = run(roll_up(store, {FORM.id: FORM}, now=NOW))
        rollup_s = time.perf_counter() - started
        warm = run(form_figures(store, FORM, FIRST, TODAY, now=NOW))
        raw = run(raw_figures(store, FORM))
        assert cold.as_json() == warm.as_json() == raw.as_json(), "the figures differ"
        single: list[float] = []
        for _ in range(args.calls):
            started = time.perf_counter()
            run(form_figures(store, FORM, FIRST, TODAY, now=NOW))
            single.append((time.perf_counter() - started) * 1e3)
        ours, baseline = measure(
            [
                ("stats answer", lambda: run(form_figures(store, FORM, FIRST, TODAY, now=NOW))),
                ("raw, every day", lambda: run(raw_figures(store, FORM))),
            ],
            rounds=args.rounds,
            min_sample_s=args.sample_seconds,
            warmup_s=0.05 if args.quick else 0.2,
            max_calls=64,
        )
    finally:
        run(store.close())
        loop.close()
    single.sort()
    p95 = single[min(len(single) - 1, int(len(single) * 0.95))]
    print(f"\n{name}: {len(rows):,} events loaded in {loaded:.1f} s; {warm.views:,} visits,")
    print(f"  {warm.submissions:,} submitted, {len(warm.per_day)} days ({days} rolled, today raw)")
    print(f"  cold first call (rolls {days} days, then answers): {cold_s * 1e3:9.1f} ms")
    print(f"  roll_up of {days} days:                          {rollup_s * 1e3:9.1f} ms")
    print(
        f"  stats answer: median {ours.median_ns / 1e6:.1f} ms (best {ours.best_ns / 1e6:.1f},"
        f" spread {ours.spread:.0%}); {len(single)} single calls"
        f" p50 {single[len(single) // 2]:.1f}, p95 {p95:.1f}, max {single[-1]:.1f} ms"
    )
    print(
        f"  raw, every day: median {baseline.median_ns / 1e6:.1f} ms;"
        f" ratio {ratio_text(ours, baseline)} (stats answer / raw)"
    )
    verdict = "met" if max(ours.median_ns / 1e6, p95) < GOAL_MS else "MISSED"
    print(f"  goal stats answer < {GOAL_MS:.0f} ms (median and p95): {verdict}")


# -- part 2: events beside the submit path ---------------------------------------------

SUBMITTERS = 8  # submissions under way at once
TICK = 0.01  # how often the event stream sends the requests due
#: The stream whose requests are whole visits, as pages send them now.
VISITS = "visits"
#: What a browser sends with a page's POST: the page's origin (the
#: service's own, as asgi_post's Host header names it).
PAGE_ORIGIN = ((b"origin", b"http://127.0.0.1:8000"),)


def page_events(rng: random.Random) -> Iterator[list[dict[str, object]]]:
    """Visits one after another, each as the events its page sends: every
    step but ``submit`` (the service records that one itself), each with
    its ``ago`` (the page holds them until the visit ends)."""
    while True:
        session = base64.urlsafe_b64encode(rng.randbytes(16))[:22].decode()
        channel = rng.choices(("form", "chat", "inline"), (60, 25, 15))[0]
        steps = [step for step in a_visit(rng) if step[0] != "submit"]
        events: list[dict[str, object]] = []
        for number, (kind, field, code) in enumerate(steps):
            event: dict[str, object] = {
                "session": session,
                "form": FORM.id,
                "channel": channel,
                "event": kind,
                "ago": (len(steps) - number) * 4000,
            }
            events += [
                {**event, **({"field": field} if field else {}), **({"code": code} if code else {})}
            ]
        yield events


async def submit_for(app: Any, seconds: float) -> tuple[int, float]:
    """Submissions, SUBMITTERS at a time, for ``seconds``: how many, in how
    many seconds by the clock."""
    body = json.dumps(ANSWERS).encode()
    path = f"/forms/{FORM.id}/submissions"
    done = 0
    start = time.perf_counter()

    async def submitter() -> None:
        nonlocal done
        while time.perf_counter() - start < seconds:
            status = await asgi_post(app, path, body)
            assert status == 201, status
            done += 1

    await asyncio.gather(*(submitter() for _ in range(SUBMITTERS)))
    return done, time.perf_counter() - start


def event_requests(rate: float, stream: int | str, seconds: float) -> list[tuple[bytes, int]]:
    """The requests of a slice's stream, made before the slice (the pages'
    work, not the service's): each body with its number of events, ``rate``
    events a second in all. ``stream`` is how many events a request (its
    events taken in turn from visits), or VISITS: each request one visit's
    events (at most MAX_BATCH a request), as pages send them when it ends."""
    visits = page_events(random.Random(7))
    total = max(1, round(rate * seconds))
    requests: list[list[dict[str, object]]] = []
    if stream == VISITS:
        while total > 0:
            visit = next(visits)
            for start in range(0, len(visit), MAX_BATCH):
                requests.append(visit[start : start + MAX_BATCH])
            total -= len(visit)
    else:
        assert isinstance(stream, int)
        flat = (event for visit in visits for event in visit)
        requests = [[next(flat) for _ in range(stream)] for _ in range(max(1, total // stream))]
    return [(json.dumps(events).encode(), len(events)) for events in requests]


async def stream_events(app: Any, rate: float, requests: list[tuple[bytes, int]]) -> int:
    """POST ``requests`` at ``rate`` events a second, each request on time
    whether the one before was answered or not (as pages do); how many
    events were accepted. The requests due are sent every TICK, each in a
    task of its own that is let go once answered, as an ASGI server runs a
    request (uvicorn: one task a request, dropped when done): the service is
    charged that task, not a client's list of them."""
    accepted = 0
    running: set[asyncio.Task[None]] = set()

    async def post(body: bytes, count: int) -> None:
        nonlocal accepted
        if await asgi_post(app, "/events", body, PAGE_ORIGIN) == 204:
            accepted += count

    # When each request is due: after the events before it, at ``rate``.
    due_at: list[float] = []
    events = 0
    for _, count in requests:
        due_at.append(events / rate)
        events += count
    start = time.perf_counter()
    sent = 0
    while sent < len(requests):
        now = time.perf_counter() - start
        due = sent
        while due < len(requests) and due_at[due] <= now:
            due += 1
        for body, count in requests[sent:due]:
            task = asyncio.create_task(post(body, count))
            running.add(task)
            task.add_done_callback(running.discard)
        sent = due
        await asyncio.sleep(TICK)
    await asyncio.gather(*running)
    return accepted


@dataclass
class Slice:
    """What one slice of a kind did: submissions, seconds by the clock,
    CPU-seconds of this process (its threads too), events accepted, and the
    stream's rate (events a second) it was given."""

    done: int
    seconds: float
    cpu: float
    events: int
    rate: float


class Door:
    """The app, or while ``stub`` is set, ``POST /events`` answered 204 at
    the door, before the app: the same requests from the same client, none
    of the service's work. Run in process, the stream's own driver (its
    tasks, its timer, the requests made and answered) is charged to this
    process's CPU too; a slice of the stub says how much, so that what the
    service itself spends on taking events can be told apart."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self.stub = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.stub and scope["type"] == "http" and scope["path"] == "/events":
            await receive()
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


Kind = tuple[int | str, bool]  # the stream (0: none), answered at the door


async def one_slice(door: Door, seconds: float, rate: float, kind: Kind) -> Slice:
    """Submissions for ``seconds``, beside a stream of ``rate`` events a
    second shaped by ``kind``'s stream (see event_requests; none for 0),
    taken by the service or answered at the door. The CPU counted runs until
    the service has written every event of the slice: a write left to the
    next slice would be charged to it."""
    stream, door.stub = kind
    requests = event_requests(rate, stream, seconds) if stream else []
    cpu = time.process_time()
    if requests:
        (done, elapsed), accepted = await asyncio.gather(
            submit_for(door, seconds), stream_events(door, rate, requests)
        )
    else:
        (done, elapsed), accepted = await submit_for(door, seconds), 0
    await door.state.service.event_buffer.flush()
    # Every event must be taken: a refusal costs more than taking, and
    # would count as events the service never took.
    assert door.stub or accepted == sum(count for _, count in requests), "events refused"
    return Slice(done, elapsed, time.process_time() - cpu, 0 if door.stub else accepted, rate)


async def ingest_rounds(door: Door, args: Any) -> tuple[float, dict[Kind, list[Slice]]]:
    """The warm-up's submissions/s, and the slices of each kind: no stream,
    and each stream answered at the door and taken by the service. Each
    round runs one slice of every kind, in an order turned by one each
    round, so that a slow stretch of the machine (or a kind's place in the
    round) weighs on every kind alike.

    A stream's rate is the submit path's in this run: its submissions a
    second by the clock over the slices without events so far (the
    warm-up's before the first). The warm-up alone, on a database still
    empty, ran 15 to 30 % faster than the slices after it, so a stream at
    its rate was that much more than the submit path's."""
    seconds = args.ingest_seconds
    done, elapsed = await submit_for(door, max(seconds, 3.0))  # warm-up
    warm = done / elapsed
    kinds: list[Kind] = [(0, False)]
    for stream in args.streams:
        kinds += [(stream, True), (stream, False)]
    found: dict[Kind, list[Slice]] = {kind: [] for kind in kinds}
    for number in range(args.ingest_rounds):
        turn = number % len(kinds)
        for kind in kinds[turn:] + kinds[:turn]:
            alone = found[(0, False)]
            rate = clock_rate(alone) if alone else warm
            found[kind].append(await one_slice(door, seconds, rate, kind))
    return warm, found


def per_cpu(slices: list[Slice]) -> float:
    """Submissions per CPU-second over ``slices``."""
    return sum(s.done for s in slices) / sum(s.cpu for s in slices)


def interval(alone: list[Slice], beside: list[Slice], draws: int = 2000) -> tuple[float, float]:
    """A 95 % interval of per_cpu(beside) / per_cpu(alone), by resampling the
    rounds (a round's two slices stay together)."""
    rng = random.Random(15)
    pairs = list(zip(alone, beside, strict=True))
    ratios = []
    for _ in range(draws):
        drawn = [rng.choice(pairs) for _ in pairs]
        ratios.append(per_cpu([b for _, b in drawn]) / per_cpu([a for a, _ in drawn]))
    ratios.sort()
    return ratios[int(draws * 0.025)], ratios[int(draws * 0.975) - 1]


def ingest(args: Any, database: str = "SQLite") -> None:
    from intakeforms.cli import build_app
    from intakeforms.serve import Plan, freeze_start_up
    from intakeforms.settings import load_settings

    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        store = f"sqlite:///{folder}/ingest.db"
        if database == "PostgreSQL":
            url = stack.enter_context(postgres_schema(args.postgresql))
            if url is None:
                return
            store = url
        settings = load_settings(
            {
                "INTAKE_STORE": store,
                "INTAKE_RATE_LIMIT": "0",
                "INTAKE_UPLOAD_DIR": f"{folder}/uploads",
                "INTAKE_MAIL_DIR": f"{folder}/mail",
            }
        )
        app = build_app(Plan(paths=(), deliver=False), settings=settings, loaded=([FORM], []))
        freeze_start_up()  # as each process of intakeforms serve does
        door = Door(app)

        async def run() -> tuple[float, dict[Kind, list[Slice]]]:
            try:
                return await ingest_rounds(door, args)
            finally:
                await door.state.service.shut()

        warm, found = asyncio.run(run())
    accepted = sum(s.events for slices in found.values() for s in slices)
    print(
        f"\nsubmit path on {database} with an event stream, in process"
        f" ({args.ingest_rounds} rounds of {len(found)} slices of {args.ingest_seconds:g} s,"
        f" {SUBMITTERS} submissions at a time):"
    )
    streams = [s for (stream, _), slices in found.items() if stream for s in slices]
    posted = sum(s.rate * s.seconds for s in streams) / sum(s.seconds for s in streams)
    print(
        f"  events posted at {posted:.0f}/s on average, the submit path's rate by the clock"
        f" without events ({clock_rate(found[(0, False)]):.0f}/s over the run; the warm-up"
        f" {warm:.0f}/s); {accepted:,} taken"
    )
    print(
        f"  {'':31} {'per CPU-s':>9}  {'against no stream':>22}  {'against the door':>22}"
        f"  {'by clock':>8}"
    )
    alone = found[(0, False)]
    alone_clock = clock_rate(alone)
    worst = {"door": 1.0, "none": 1.0}
    for (stream, stub), slices in found.items():
        label = "no events" if not stream else stream_label(stream)
        if stream:
            label += ", at the door" if stub else ", taken"
        line = f"  {label:<31} {per_cpu(slices):9.0f}  {compared(alone, slices):>22}"
        if stream and not stub:
            door_slices = found[(stream, True)]
            line += f"  {compared(door_slices, slices):>22}"
            worst["door"] = min(worst["door"], per_cpu(slices) / per_cpu(door_slices))
            worst["none"] = min(worst["none"], per_cpu(slices) / per_cpu(alone))
        else:
            line += f"  {'':>22}"
        print(f"{line}  {clock_rate(slices):8.0f} ({clock_rate(slices) / alone_clock:.3f})")
    # The goal is judged on the stream pages send (whole visits) when it
    # ran; the others show what smaller requests would cost.
    judged = (VISITS, False) if (VISITS, False) in found else None
    if judged is not None:
        taken = per_cpu(found[judged])
        worst = {"door": taken / per_cpu(found[(VISITS, True)]), "none": taken / per_cpu(alone)}
    which = "whole visits, as pages send them" if judged else "the worst stream"
    for against, words in (
        ("door", "the service's own cost (against the same requests answered at the door)"),
        ("none", "with the stream's driver (against no stream)"),
    ):
        verdict = "met" if worst[against] >= GOAL_RATIO else "MISSED"
        print(
            f"  goal >= {GOAL_RATIO} of the submissions per CPU-s, {which}, {words}:"
            f" {worst[against]:.3f}, {verdict}"
        )


def stream_label(stream: int | str) -> str:
    return "whole visits" if stream == VISITS else f"{stream} a request"


def clock_rate(slices: list[Slice]) -> float:
    """Submissions per second by the clock over ``slices``."""
    return sum(s.done for s in slices) / sum(s.seconds for s in slices)


def compared(base: list[Slice], slices: list[Slice]) -> str:
    """per_cpu(slices) / per_cpu(base), with its 95 % interval."""
    if slices is base:
        return ""
    low, high = interval(base, slices)
    return f"{per_cpu(slices) / per_cpu(base):.3f} [{low:.3f}, {high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, rounds=7, sample_s=0.5)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to load")
    parser.add_argument("--calls", type=int, default=50, help="single stats calls timed")
    parser.add_argument("--postgresql", default=POSTGRESQL, help="a database for part 1")
    parser.add_argument("--ingest-seconds", type=float, default=1.5, help="seconds a slice")
    parser.add_argument("--ingest-rounds", type=int, default=24, help="slices of each kind")
    parser.add_argument(
        "--streams",
        type=lambda text: [n if n == VISITS else int(n) for n in text.split(",")],
        default=[1, 10, VISITS],
        help="the streams of part 2, a slice each a round: events a request, or"
        " visits (a visit's events a request, as pages send them); default 1,10,visits",
    )
    parser.add_argument("--skip-ingest", action="store_true", help="part 1 only")
    parser.add_argument(
        "--ingest-postgresql",
        action="store_true",
        help="part 2 on PostgreSQL too (--postgresql), after SQLite",
    )
    parser.add_argument("--skip-figures", action="store_true", help="part 2 only")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.sample_seconds, args.calls = 3, 0.1, 10
        args.events, args.ingest_seconds, args.ingest_rounds = 100_000, 1.0, 3
    print(describe_machine())
    if not args.skip_figures:
        rows = generate(args.events)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "stats.db"
            figures_over("SQLite", f"sqlite:///{path}", path, rows, args)
        with postgres_schema(args.postgresql) as url:
            if url is not None:
                figures_over("PostgreSQL", url, None, rows, args)
        del rows
    if not args.skip_ingest:
        ingest(args)
        if args.ingest_postgresql:
            ingest(args, "PostgreSQL")


if __name__ == "__main__":
    main()
