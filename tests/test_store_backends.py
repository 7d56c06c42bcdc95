"""The store's behaviour, the same on every backend: SQLite and PostgreSQL.

Each test runs against a SQLite file in a temporary folder and against a
fresh schema of the PostgreSQL database at ``INTAKE_TEST_POSTGRESQL``
(default ``postgresql://postgres@127.0.0.1:5432/test``), dropped afterwards.
When that server cannot be reached the PostgreSQL runs fail under CI (the
``CI`` environment variable is set) and are skipped, saying why, elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import os
import re
import secrets
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import anyio
import psycopg
import pytest

from intakeforms.errors import LeaseLost, StoreUnavailable
from intakeforms.store import (
    JOB_STATUSES,
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    PostgresStore,
    SaveResult,
    SqliteStore,
    Store,
    StoredFile,
    UnstorableSubmission,
    base,
    new_worker_id,
    open_store,
    postgres_schema,
    sqlite_schema,
)

POSTGRESQL = os.environ.get("INTAKE_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")
REFERENCE = re.compile(r"^CAR-[0-9A-HJKMNP-TV-Z]{6}$")
TABLES = ("submissions", "submission_files", "outbox", "idempotency_keys")

DATA = {
    "plate": "ÅBC-123",
    "model": "Škoda Octavia",
    "symptoms": "Jarrut kitisevät — 日本語も ✓",
    "mileage": 123456,
    "services": ["annual", "repair"],
    "nested": {"ä": None, "ok": True, "price": 12.5},
}
PHOTO = StoredFile("photos", "kuva ä.png", "image/png", 123, "ab/cdef0123")
SUBMISSION = NewSubmission(
    form="car-service",
    form_version="c9d0d03ff5bb",
    reference_prefix="CAR",
    locale="fi",
    data=DATA,
    files=[PHOTO],
    targets=["email:0", "webhook:1"],
    client="203.0.113.5",
)
T0 = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)


def submission(**changes: Any) -> NewSubmission:
    """The car-service submission above, with ``changes``."""
    return dataclasses.replace(SUBMISSION, **changes)


def seconds(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


class StillClock:
    """A clock that stands still until a test moves it (sets ``now``)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def script_outputs(script: str, url: str, processes: int) -> list[str]:
    """What each of ``processes`` Pythons, running ``script`` on ``url`` at once, printed.

    Fails the test, with the process's error output, when one does not exit 0."""
    running = [
        subprocess.Popen(
            [sys.executable, "-c", script, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


# -- PostgreSQL: reachability and a schema per test ----------------------------------


@functools.cache
def postgres_problem() -> str | None:
    """Why the test server cannot be used, or None when it can (asked once)."""
    try:
        psycopg.connect(POSTGRESQL, connect_timeout=5).close()
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


def require_postgres() -> None:
    """Fail under CI, else skip, when the test server does not answer."""
    problem = postgres_problem()
    if problem is None:
        return
    reason = f"PostgreSQL at {POSTGRESQL} is unreachable ({problem})"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
    pytest.skip(f"{reason}; set INTAKE_TEST_POSTGRESQL or start the server")


def admin(query: str) -> list[tuple[Any, ...]]:
    """Run ``query`` on the test database in its own connection, autocommit."""
    with psycopg.connect(POSTGRESQL, autocommit=True) as connection:
        cursor = connection.execute(query)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new empty schema, dropped afterwards; yields the URL that uses it."""
    require_postgres()
    schema = f"intake_test_{secrets.token_hex(6)}"
    admin(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRESQL else "?"
    # The tables are made in the first schema of search_path.
    url = f"{POSTGRESQL}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        admin(f"DROP SCHEMA {schema} CASCADE")


# -- the backends ------------------------------------------------------------------


@dataclasses.dataclass
class Backend:
    """One database, and how to open stores on it and look inside it."""

    name: str
    url: str
    path: Path | None = None  # the SQLite file

    def make(self, clock: Callable[[], dt.datetime] | None = None) -> Store:
        """A new, unopened store on this database."""
        if clock is None:
            return open_store(self.url)
        if self.path is not None:
            return SqliteStore(self.path, clock=clock)
        return PostgresStore(self.url, clock=clock)

    @contextmanager
    def _connection(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        if self.path is not None:
            import sqlite3

            connection = sqlite3.connect(self.path)
            try:
                yield lambda query: connection.execute(query).fetchall()
                connection.commit()
            finally:
                connection.close()
        else:
            with psycopg.connect(self.url, autocommit=True) as pg:
                yield lambda query: pg.execute(query).fetchall()

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """What a separate connection reads."""
        with self._connection() as run:
            return run(query)

    def at_version(
        self,
        sqlite_steps: int,
        postgres_steps: int,
        rows: Sequence[tuple[str, tuple[Any, ...]]] = (),
    ) -> None:
        """Make this database as a release of an older schema left it: its
        first ``sqlite_steps`` or ``postgres_steps`` migrations, then
        ``rows`` (statements with ``?`` for each value, and their values)."""
        if self.path is not None:
            steps = sqlite_steps
            import sqlite3

            connection = sqlite3.connect(self.path, isolation_level=None)
            try:
                for step in sqlite_schema.MIGRATIONS[:steps]:
                    for statement in step:
                        connection.execute(statement)
                for statement, values in rows:
                    connection.execute(statement, values)
                connection.execute(f"PRAGMA user_version = {steps}")
            finally:
                connection.close()
            return
        steps = postgres_steps
        with psycopg.connect(self.url, autocommit=True) as c:
            for step in postgres_schema.MIGRATIONS[:steps]:
                for statement in step:
                    c.execute(statement)
            c.execute(
                f"CREATE TABLE {postgres_schema.VERSION_TABLE} (one boolean PRIMARY KEY"
                " DEFAULT true CHECK (one), version integer NOT NULL)"
            )
            c.execute(
                f"INSERT INTO {postgres_schema.VERSION_TABLE} (version) VALUES (%s)", (steps,)
            )
            for statement, values in rows:
                c.execute(statement.replace("?", "%s"), values)

    def table_counts(self) -> dict[str, int]:
        with self._connection() as run:
            return {table: run(f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # psycopg's async connections run on asyncio


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "intake.db"
        yield Backend("sqlite", f"sqlite:///{path}", path)
        return
    with fresh_schema() as url:
        yield Backend("postgresql", url)


@pytest.fixture
def clock() -> StillClock:
    """A clock standing at T0, for stores made with ``backend.make(clock=clock)``."""
    return StillClock(T0)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = backend.make()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


# -- references ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_references_are_unique_over_many_saves(store: Store) -> None:
    references = [(await store.save(submission(targets=[]))).reference for _ in range(200)]
    assert all(REFERENCE.match(reference) for reference in references)
    assert len(set(references)) == 200


@pytest.mark.anyio
async def test_a_colliding_reference_is_drawn_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter("AAAAAAAAAAAABBBBBB")
    monkeypatch.setattr(base, "secrets", SimpleNamespace(choice=lambda _: next(draws)))
    first = await store.save(submission())
    second = await store.save(submission())
    assert (first.reference, second.reference) == ("CAR-AAAAAA", "CAR-BBBBBB")
    assert await store.count() == 2


@pytest.mark.anyio
async def test_a_random_source_that_always_repeats_fails_cleanly(
    store: Store, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "secrets", SimpleNamespace(choice=lambda _: "A"))
    await store.save(submission())
    with pytest.raises(StoreUnavailable, match="no free reference for prefix CAR after 10 tries"):
        await store.save(submission(idempotency_key="k"))
    assert backend.table_counts() == {
        "submissions": 1,
        "submission_files": 1,
        "outbox": 2,
        "idempotency_keys": 0,
    }


# -- saving and reading ----------------------------------------------------------------


@pytest.mark.anyio
async def test_save_and_get_round_trip(store: Store) -> None:
    before = dt.datetime.now(dt.UTC)
    result = await store.save(submission())
    assert result.created
    assert REFERENCE.match(result.reference)
    stored = await store.get(result.reference)
    assert stored is not None
    assert stored.reference == result.reference
    assert (stored.form, stored.form_version, stored.locale) == (
        "car-service",
        "c9d0d03ff5bb",
        "fi",
    )
    assert stored.data == DATA
    assert stored.files == (PHOTO,)
    assert stored.spam is False
    assert stored.client == "203.0.113.5"
    assert stored.submitted_at.tzinfo is dt.UTC
    assert before <= stored.submitted_at <= dt.datetime.now(dt.UTC)


@pytest.mark.anyio
async def test_files_keep_their_order(store: Store) -> None:
    files = [dataclasses.replace(PHOTO, name=f"{n}.png", path=f"p/{n}") for n in "cab"]
    result = await store.save(submission(files=files))
    stored = await store.get(result.reference)
    assert stored is not None
    assert [f.name for f in stored.files] == ["c.png", "a.png", "b.png"]


@pytest.mark.anyio
async def test_get_unknown_reference_is_none(store: Store) -> None:
    assert await store.get("CAR-000000") is None
    assert await store.outbox("CAR-000000") == []


@pytest.mark.anyio
async def test_times_come_from_the_clock_and_are_kept_in_utc(backend: Backend) -> None:
    helsinki = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2025, 3, 4, 12, 30, 15, 250, tzinfo=helsinki)
    store = backend.make(clock=lambda: moment)
    await store.open()
    try:
        result = await store.save(submission())
        stored = await store.get(result.reference)
        [job, _] = await store.outbox(result.reference)
    finally:
        await store.close()
    assert stored is not None
    assert stored.submitted_at == moment
    assert stored.submitted_at.tzinfo is dt.UTC
    assert stored.submitted_at.hour == 10
    assert job.next_attempt_at == job.created_at == job.updated_at == moment
    assert job.next_attempt_at.tzinfo is dt.UTC


@pytest.mark.anyio
async def test_data_that_is_not_json_is_refused_before_writing(store: Store) -> None:
    with pytest.raises(TypeError):
        await store.save(submission(data={"day": dt.date(2025, 1, 1)}))
    with pytest.raises(UnstorableSubmission, match="a number in 'x' has no JSON form") as caught:
        await store.save(submission(data={"x": math.nan}))
    assert (caught.value.field, caught.value.code) == ("x", "not_json")
    assert isinstance(caught.value, ValueError)
    assert await store.count() == 0


@pytest.mark.anyio
async def test_data_survives_close_and_reopen(backend: Backend) -> None:
    store = backend.make()
    async with _opened(store):
        result = await store.save(submission(idempotency_key="k"))
    store = backend.make()
    async with _opened(store):
        stored = await store.get(result.reference)
        assert stored is not None
        assert stored.data == DATA
        assert len(await store.outbox(result.reference)) == 2
        assert await store.save(submission(idempotency_key="k")) == SaveResult(
            result.reference, created=False
        )


@pytest.mark.anyio
async def test_open_close_and_check(backend: Backend) -> None:
    store = backend.make()
    with pytest.raises(StoreUnavailable, match=re.escape("not open; call await store.open()")):
        await store.check()
    await store.close()  # never opened: nothing happens
    await store.open()
    await store.open()  # again: nothing changes
    await store.check()
    await store.close()
    await store.close()  # again: nothing happens
    for call in (store.check(), store.save(submission()), store.counts(), store.job(1)):
        with pytest.raises(StoreUnavailable, match="not open"):
            await call
    await store.open()  # and it opens again
    await store.check()
    await store.close()


@pytest.mark.anyio
async def test_close_lets_running_saves_finish(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    results: list[SaveResult] = []

    async def post() -> None:
        results.append(await store.save(submission()))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(post)
        await anyio.sleep(0)  # let the saves begin before close is asked
        group.start_soon(store.close)
    assert len(results) == 5
    assert backend.table_counts()["submissions"] == 5


# -- the outbox as saved, and spam ---------------------------------------------------------


@pytest.mark.anyio
async def test_one_pending_outbox_job_per_target(store: Store) -> None:
    result = await store.save(submission())
    stored = await store.get(result.reference)
    assert stored is not None
    jobs = await store.outbox(result.reference)
    assert [(j.reference, j.target) for j in jobs] == [
        (result.reference, "email:0"),
        (result.reference, "webhook:1"),
    ]
    for job in jobs:
        assert isinstance(job, OutboxJob)
        assert (job.status, job.attempts, job.last_error) == ("pending", 0, None)
        assert (job.claimed_by, job.lease_until, job.delivered_at, job.receipt) == (None,) * 4
        assert job.next_attempt_at == job.created_at == stored.submitted_at
    assert jobs[0].id < jobs[1].id


@pytest.mark.anyio
async def test_spam_is_kept_in_quarantine_without_jobs(store: Store) -> None:
    spam = await store.save(submission(spam=True))
    stored = await store.get(spam.reference)
    assert stored is not None
    assert stored.spam is True
    assert stored.data == DATA
    assert await store.outbox(spam.reference) == []
    assert await store.claim("w", limit=10, lease_seconds=60) == []
    ham = await store.save(submission())
    assert len(await store.outbox(ham.reference)) == 2
    assert await store.count() == 2
    assert await store.count(spam=True) == 1
    assert await store.count(spam=False) == 1
    assert (await store.counts())["pending"] == 2


@pytest.mark.anyio
async def test_count_by_form(store: Store) -> None:
    await store.save(submission())
    await store.save(submission(form="billing", reference_prefix="BIL"))
    await store.save(submission(form="billing", reference_prefix="BIL", spam=True))
    assert await store.count() == 3
    assert await store.count("car-service") == 1
    assert await store.count(form="billing") == 2
    assert await store.count(form="billing", spam=False) == 1
    assert await store.count(form="nothing") == 0


# -- idempotency ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_repeated_idempotency_key_returns_the_first_reference(
    store: Store, backend: Backend
) -> None:
    first = await store.save(submission(idempotency_key="abc"))
    again = await store.save(submission(idempotency_key="abc", data={"plate": "XYZ-999"}))
    assert first.created
    assert again == SaveResult(first.reference, created=False)
    stored = await store.get(first.reference)
    assert stored is not None
    assert stored.data == DATA
    assert backend.table_counts() == {
        "submissions": 1,
        "submission_files": 1,
        "outbox": 2,
        "idempotency_keys": 1,
    }


@pytest.mark.anyio
async def test_idempotency_keys_are_scoped_per_form(store: Store) -> None:
    car = await store.save(submission(idempotency_key="abc"))
    bill = await store.save(
        submission(form="billing", reference_prefix="BIL", idempotency_key="abc")
    )
    other = await store.save(submission(idempotency_key="def"))
    none = await store.save(submission())
    assert all(r.created for r in (car, bill, other, none))
    assert len({car.reference, bill.reference, other.reference, none.reference}) == 4
    assert await store.count() == 4


@pytest.mark.anyio
async def test_racing_posts_with_one_key_store_one_submission(backend: Backend) -> None:
    results: list[SaveResult] = []

    async def post(store: Store, n: int) -> None:
        results.append(await store.save(submission(idempotency_key=f"key-{n}")))

    one, two = backend.make(), backend.make()
    async with _opened(one), _opened(two), anyio.create_task_group() as group:
        # Every key is posted four times at once, twice through each store.
        for n in range(10):
            for store in (one, two, one, two):
                group.start_soon(post, store, n)
    assert sum(r.created for r in results) == 10
    assert len({r.reference for r in results}) == 10
    assert backend.table_counts() == {
        "submissions": 10,
        "submission_files": 10,
        "outbox": 20,
        "idempotency_keys": 10,
    }


# -- concurrency -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_saves_from_two_stores(backend: Backend) -> None:
    references: list[str] = []

    async def post(store: Store, n: int) -> None:
        references.append((await store.save(submission(data={"n": n}))).reference)

    one, two = backend.make(), backend.make()
    async with _opened(one), _opened(two), anyio.create_task_group() as group:
        for n in range(40):
            group.start_soon(post, one if n % 2 else two, n)
    assert len(set(references)) == 40
    assert backend.table_counts()["outbox"] == 80


SAVER = textwrap.dedent(
    """
    import sys

    import anyio

    from intakeforms.store import NewSubmission, open_store

    async def main() -> None:
        store = open_store(sys.argv[1])
        await store.open()
        try:
            for n in range(20):
                new = NewSubmission("car-service", "v1", "CAR", "fi", {"n": n}, targets=["email:0"])
                print((await store.save(new)).reference)
        finally:
            await store.close()

    anyio.run(main)
    """
)


def test_processes_starting_together_create_the_tables_once(backend: Backend) -> None:
    references = [r for out in script_outputs(SAVER, backend.url, 4) for r in out.split()]
    assert len(set(references)) == 80
    assert backend.table_counts() == {
        "submissions": 80,
        "submission_files": 0,
        "outbox": 80,
        "idempotency_keys": 0,
    }


# -- claiming jobs -----------------------------------------------------------------------


@pytest.fixture
async def timed(backend: Backend) -> AsyncIterator[Store]:
    """A store whose clock stands still at T0."""
    store = backend.make(clock=lambda: T0)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.anyio
async def test_claim_takes_due_jobs_oldest_first_up_to_the_limit(timed: Store) -> None:
    references = [(await timed.save(submission())).reference for _ in range(3)]
    assert await timed.claim("w", limit=10, lease_seconds=60, now=T0 - seconds(1)) == []

    first = await timed.claim("w", limit=4, lease_seconds=60, now=T0)
    assert all(isinstance(claimed, ClaimedJob) for claimed in first)
    assert [(c.job.reference, c.job.target) for c in first] == [
        (references[0], "email:0"),
        (references[0], "webhook:1"),
        (references[1], "email:0"),
        (references[1], "webhook:1"),
    ]
    ids = [c.job.id for c in first]
    assert ids == sorted(ids)
    for claimed in first:
        job = claimed.job
        assert (job.status, job.attempts, job.claimed_by) == ("claimed", 1, "w")
        assert job.lease_until == T0 + seconds(60)
        assert job.updated_at == T0
        assert claimed.submission == await timed.get(job.reference)
        assert await timed.job(job.id) == job

    rest = await timed.claim("w", limit=4, lease_seconds=60, now=T0)
    assert [(c.job.reference, c.job.target) for c in rest] == [
        (references[2], "email:0"),
        (references[2], "webhook:1"),
    ]
    assert await timed.claim("w", limit=4, lease_seconds=60, now=T0 + seconds(59)) == []
    assert await timed.counts() == {"pending": 0, "claimed": 6, "delivered": 0, "dead": 0}


@pytest.mark.anyio
async def test_claim_uses_the_store_clock_by_default(backend: Backend) -> None:
    now = T0
    store = backend.make(clock=lambda: now)
    async with _opened(store):
        await store.save(submission(targets=["email:0"]))
        [claimed] = await store.claim("w", limit=1, lease_seconds=30)
        assert claimed.job.lease_until == T0 + seconds(30)
        now = T0 + seconds(31)
        [again] = await store.claim("v", limit=1, lease_seconds=30)
        assert (again.job.claimed_by, again.job.attempts) == ("v", 2)


@pytest.mark.anyio
async def test_two_stores_claiming_at_once_never_share_a_job(backend: Backend) -> None:
    one, two = backend.make(), backend.make()
    async with _opened(one), _opened(two):
        for n in range(60):
            await one.save(submission(data={"n": n}, files=[]))
        taken: dict[str, list[int]] = {}

        async def work(store: Store, worker: str) -> None:
            mine = taken.setdefault(worker, [])
            while batch := await store.claim(worker, limit=7, lease_seconds=300):
                mine.extend(claimed.job.id for claimed in batch)
                await anyio.sleep(0)  # let the other claimers in between batches

        async with anyio.create_task_group() as group:
            for n, store in enumerate((one, two, one, two)):
                group.start_soon(work, store, f"worker-{n}")
        every = [job_id for ids in taken.values() for job_id in ids]
        assert len(every) == len(set(every)) == 120  # none twice, none left out
        assert sum(1 for ids in taken.values() if ids) >= 2  # the work was shared
        assert await one.counts() == {"pending": 0, "claimed": 120, "delivered": 0, "dead": 0}
        assert {job.attempts for job in await two.jobs(limit=1000)} == {1}


@pytest.mark.anyio
async def test_a_lapsed_lease_is_taken_over_and_the_old_worker_is_refused(
    timed: Store,
) -> None:
    await timed.save(submission(targets=["email:0"]))
    [old] = await timed.claim("crashed", limit=5, lease_seconds=60, now=T0)
    # Within the lease nobody else gets the job.
    assert await timed.claim("rescuer", limit=5, lease_seconds=60, now=T0 + seconds(30)) == []
    [new] = await timed.claim("rescuer", limit=5, lease_seconds=60, now=T0 + seconds(60))
    assert new.job.id == old.job.id
    assert (new.job.claimed_by, new.job.attempts) == ("rescuer", 2)
    assert new.job.lease_until == T0 + seconds(120)

    for report in (
        timed.complete(old.job.id, worker="crashed", receipt="250 OK"),
        timed.retry_later(old.job.id, worker="crashed", error="timeout", at=T0),
        timed.dead_letter(old.job.id, worker="crashed", error="gave up"),
    ):
        with pytest.raises(LeaseLost, match="worker 'rescuer' took it over") as caught:
            await report
        assert (caught.value.job_id, caught.value.worker) == (old.job.id, "crashed")
        assert (caught.value.status, caught.value.claimed_by) == ("claimed", "rescuer")
    assert await timed.job(old.job.id) == new.job  # nothing changed

    done = await timed.complete(new.job.id, worker="rescuer", receipt="250 OK")
    assert (done.status, done.claimed_by, done.receipt) == ("delivered", "rescuer", "250 OK")
    with pytest.raises(LeaseLost, match="it is delivered now"):
        await timed.complete(old.job.id, worker="crashed", receipt=None)


@pytest.mark.anyio
async def test_a_lapsed_lease_nobody_took_over_can_still_be_completed(backend: Backend) -> None:
    now = T0
    store = backend.make(clock=lambda: now)
    async with _opened(store):
        await store.save(submission(targets=["email:0"]))
        [claimed] = await store.claim("slow", limit=1, lease_seconds=1)
        now = T0 + seconds(10)  # long past the lease, but nobody claimed since
        done = await store.complete(claimed.job.id, worker="slow", receipt=None)
    assert (done.status, done.receipt, done.delivered_at) == ("delivered", None, now)


# -- reporting outcomes ------------------------------------------------------------------


@pytest.mark.anyio
async def test_complete_keeps_the_receipt(timed: Store) -> None:
    result = await timed.save(submission(targets=["email:0"]))
    [claimed] = await timed.claim("w", limit=1, lease_seconds=60, now=T0)
    done = await timed.complete(claimed.job.id, worker="w", receipt="250 2.0.0 Ok: queued as 4F")
    assert done.status == "delivered"
    assert done.delivered_at == done.updated_at == T0
    assert done.receipt == "250 2.0.0 Ok: queued as 4F"
    assert done.lease_until is None
    assert (done.attempts, done.claimed_by) == (1, "w")
    assert await timed.outbox(result.reference) == [done]
    assert await timed.claim("w", limit=1, lease_seconds=60, now=T0 + seconds(999)) == []
    with pytest.raises(LeaseLost, match="it is delivered now"):
        await timed.complete(claimed.job.id, worker="w", receipt="again")


@pytest.mark.anyio
async def test_retry_later_makes_the_job_due_again_at_the_given_time(timed: Store) -> None:
    await timed.save(submission(targets=["email:0"]))
    [claimed] = await timed.claim("w", limit=1, lease_seconds=60, now=T0)
    later = T0 + seconds(300)
    job = await timed.retry_later(claimed.job.id, worker="w", error="421 try later", at=later)
    assert (job.status, job.next_attempt_at, job.last_error) == ("pending", later, "421 try later")
    assert (job.lease_until, job.attempts) == (None, 1)
    assert await timed.claim("v", limit=1, lease_seconds=60, now=later - seconds(1)) == []
    [again] = await timed.claim("v", limit=1, lease_seconds=60, now=later)
    assert (again.job.attempts, again.job.last_error) == (2, "421 try later")
    # A success keeps the previous attempt's error, for the record.
    done = await timed.complete(again.job.id, worker="v", receipt="ok")
    assert (done.status, done.last_error) == ("delivered", "421 try later")


@pytest.mark.anyio
async def test_retry_later_takes_any_time_zone(timed: Store) -> None:
    await timed.save(submission(targets=["email:0"]))
    [claimed] = await timed.claim("w", limit=1, lease_seconds=60, now=T0)
    helsinki = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2025, 3, 4, 12, 5, tzinfo=helsinki)
    job = await timed.retry_later(claimed.job.id, worker="w", error="e", at=at)
    assert job.next_attempt_at == T0 + seconds(300)
    assert job.next_attempt_at.tzinfo is dt.UTC


@pytest.mark.anyio
async def test_dead_letter_and_requeue(timed: Store) -> None:
    await timed.save(submission(targets=["email:0"]))
    [claimed] = await timed.claim("w", limit=1, lease_seconds=60, now=T0)
    dead = await timed.dead_letter(claimed.job.id, worker="w", error="550 no such user")
    assert (dead.status, dead.last_error, dead.lease_until) == ("dead", "550 no such user", None)
    assert await timed.claim("w", limit=1, lease_seconds=60, now=T0 + seconds(10**6)) == []
    assert await timed.counts() == {"pending": 0, "claimed": 0, "delivered": 0, "dead": 1}

    assert await timed.requeue(dead.id)
    again = await timed.job(dead.id)
    assert again is not None
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, T0)
    assert again.last_error == "550 no such user"  # kept until the next attempt says more
    [retaken] = await timed.claim("w", limit=1, lease_seconds=60, now=T0)
    assert retaken.job.attempts == 1


@pytest.mark.anyio
async def test_requeue_refuses_jobs_in_flight_delivered_or_missing(timed: Store) -> None:
    result = await timed.save(submission())
    first, second = await timed.outbox(result.reference)
    await timed.retry_later(
        (await timed.claim("w", limit=1, lease_seconds=60, now=T0))[0].job.id,
        worker="w",
        error="later",
        at=T0 + seconds(3600),
    )
    assert await timed.requeue(first.id)  # a pending job waiting for its retry: due now
    job = await timed.job(first.id)
    assert job is not None
    assert (job.status, job.next_attempt_at, job.attempts) == ("pending", T0, 0)

    [claimed, _] = await timed.claim("w", limit=2, lease_seconds=60, now=T0)
    assert not await timed.requeue(claimed.job.id)  # being delivered right now
    await timed.complete(claimed.job.id, worker="w", receipt=None)
    assert not await timed.requeue(claimed.job.id)  # delivered: never sent twice on purpose
    assert not await timed.requeue(second.id + 1000)  # no such job
    assert (await timed.job(second.id)) is not None


@pytest.mark.anyio
async def test_errors_and_receipts_are_cut_and_cleaned(timed: Store) -> None:
    await timed.save(submission())
    one, two = await timed.claim("w", limit=2, lease_seconds=60, now=T0)
    job = await timed.dead_letter(one.job.id, worker="w", error="x\x00y" + "z" * 5000)
    assert job.last_error is not None
    assert len(job.last_error) == base.MAX_NOTE_LENGTH
    assert job.last_error.startswith("x\N{REPLACEMENT CHARACTER}yzz")
    assert job.last_error.endswith("z…")
    done = await timed.complete(two.job.id, worker="w", receipt="id\x00 42")
    assert done.receipt == "id\N{REPLACEMENT CHARACTER} 42"


# -- listing for operators ---------------------------------------------------------------


@pytest.mark.anyio
async def test_jobs_lists_newest_first_by_status(timed: Store) -> None:
    assert await timed.jobs() == []
    assert await timed.counts() == dict.fromkeys(JOB_STATUSES, 0)
    for _ in range(3):
        await timed.save(submission())
    every = await timed.jobs()
    ids = [job.id for job in every]
    assert ids == sorted(ids, reverse=True)
    assert len(every) == 6
    assert [job.id for job in await timed.jobs(limit=2)] == ids[:2]

    [claimed] = await timed.claim("w", limit=1, lease_seconds=60, now=T0)
    await timed.dead_letter(claimed.job.id, worker="w", error="bad")
    assert [job.id for job in await timed.jobs(status="dead")] == [claimed.job.id]
    assert [job.id for job in await timed.jobs(status="pending")] == ids[:5]
    assert await timed.jobs(status="delivered") == []
    assert await timed.counts() == {"pending": 5, "claimed": 0, "delivered": 0, "dead": 1}
    assert await timed.job(claimed.job.id) == (await timed.jobs(status="dead"))[0]
    assert await timed.job(10**9) is None


# -- the autoresponder's daily cap ------------------------------------------------------


@pytest.mark.anyio
async def test_confirmations_are_counted_per_address(timed: Store, backend: Backend) -> None:
    for _ in range(4):
        await timed.save(submission(targets=["email:0", "autoreply"]))
    claimed = await timed.claim("w", limit=10, lease_seconds=60, now=T0)
    replies = [c.job.id for c in claimed if c.job.target == "autoreply"]
    for item in claimed:
        if item.job.target == "email:0":  # an ordinary delivery records no one
            await timed.complete(item.job.id, worker="w", receipt="250 OK")
    done = await timed.complete_autoreply(
        replies[0], worker="w", receipt="250 OK", recipient="Matti@Example.com"
    )
    assert (done.status, done.receipt, done.delivered_at) == ("delivered", "250 OK", T0)
    assert done == await timed.job(replies[0])
    await timed.complete_autoreply(
        replies[1], worker="w", receipt=None, recipient="matti+car@example.com"
    )
    await timed.complete_autoreply(
        replies[2], worker="w", receipt="250 OK", recipient="maija@example.com"
    )
    # Skipped by the cap: completed as usual, and not counted.
    await timed.complete(replies[3], worker="w", receipt="skipped: daily cap")

    assert await timed.count_autoreplies("matti@example.com", T0) == 2
    assert await timed.count_autoreplies(" MATTI@example.COM ", T0 - seconds(86400)) == 2
    helsinki = dt.timezone(dt.timedelta(hours=2))
    assert await timed.count_autoreplies("matti@example.com", T0.astimezone(helsinki)) == 2
    assert await timed.count_autoreplies("matti@example.com", T0 + seconds(1)) == 0
    assert await timed.count_autoreplies("maija@example.com", T0) == 1
    assert await timed.count_autoreplies("nobody@example.com", T0) == 0
    # The outbox keeps a hash, not a second copy of the address.
    kept = backend.rows("SELECT recipient_hash FROM outbox WHERE recipient_hash IS NOT NULL")
    assert len(kept) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for (value,) in kept)
    assert kept.count((base.recipient_hash("matti@example.com"),)) == 2
    with pytest.raises(LeaseLost, match="it is delivered now"):
        await timed.complete_autoreply(
            replies[0], worker="w", receipt=None, recipient="matti@example.com"
        )


def test_recipient_hash_ignores_case_spaces_and_tags() -> None:
    one = base.recipient_hash("matti@example.com")
    assert one == base.recipient_hash(" Matti+service@EXAMPLE.com ")
    assert one != base.recipient_hash("matti@example.org")
    assert base.recipient_hash("+x@example.com") != base.recipient_hash("@example.com")
    assert base.recipient_hash("not an address") != one


# -- the caller's mistakes ---------------------------------------------------------------


@pytest.mark.anyio
async def test_caller_mistakes_fail_before_any_database_work(store: Store) -> None:
    naive = dt.datetime(2025, 1, 1)
    for call, message in [
        (store.claim("", limit=1, lease_seconds=60), "worker is empty"),
        (store.claim("w", limit=0, lease_seconds=60), "limit must be 1 or more"),
        (store.claim("w", limit=1, lease_seconds=0), "lease_seconds must be more than 0"),
        (store.claim("w", limit=1, lease_seconds=math.nan), "lease_seconds"),
        (store.claim("w", limit=1, lease_seconds=60, now=naive), "now must be an aware"),
        (store.retry_later(1, worker="w", error="e", at=naive), "at must be an aware"),
        (store.complete(1, worker="", receipt=None), "worker is empty"),
        (store.dead_letter(1, worker="", error="e"), "worker is empty"),
        (store.jobs(status="done"), "status 'done' is not one of pending, claimed"),
        (store.jobs(limit=0), "limit must be 1 or more"),
        (store.count_autoreplies("a@example.com", naive), "since must be an aware"),
        (store.count_autoreplies(" ", T0), "the recipient address is empty"),
        (
            store.complete_autoreply(1, worker="", receipt=None, recipient="a@example.com"),
            "worker is empty",
        ),
        (
            store.complete_autoreply(1, worker="w", receipt=None, recipient=""),
            "the recipient address is empty",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            await call


@pytest.mark.anyio
async def test_reporting_on_a_job_that_does_not_exist(store: Store) -> None:
    with pytest.raises(LeaseLost, match="outbox job 404 is no longer claimed by worker 'w': it no"):
        await store.complete(404, worker="w", receipt=None)


def test_worker_ids_are_unique_and_say_where_they_run() -> None:
    ids = {new_worker_id() for _ in range(50)}
    assert len(ids) == 50
    host, pid, _ = next(iter(ids)).rsplit(":", 2)
    assert host
    assert pid == str(os.getpid())


def test_every_backend_is_a_store(tmp_path: Path) -> None:
    assert isinstance(SqliteStore(tmp_path / "a.db"), Store)
    assert isinstance(PostgresStore("postgresql://u@h/d"), Store)


# -- helpers ---------------------------------------------------------------------


@asynccontextmanager
async def _opened(store: Store) -> AsyncIterator[Store]:
    """Open ``store`` for the block and close it after."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()
