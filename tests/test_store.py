"""The SQLite store in particular: its file, locking, failures and migrations.

The behaviour every backend shares (saving, idempotency, the outbox jobs) is
tested against SQLite and PostgreSQL alike in ``test_store_backends.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

import intakeforms.store
from intakeforms.errors import IntakeError, LeaseLost, StoreUnavailable
from intakeforms.store import (
    REFERENCE_ALPHABET,
    NewSubmission,
    SaveResult,
    SqliteStore,
    Store,
    StoredFile,
    base,
    new_reference,
    open_store,
)
from intakeforms.store.sqlite_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    parse_timestamp,
    timestamp,
)

REFERENCE = re.compile(r"^CAR-[0-9A-HJKMNP-TV-Z]{6}$")

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


def submission(**changes: Any) -> NewSubmission:
    """The car-service submission above, with ``changes``."""
    return dataclasses.replace(SUBMISSION, **changes)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "intake.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(path) as opened:
        yield opened


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    """What a separate connection reads from the file."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def table_counts(path: Path) -> dict[str, int]:
    tables = ("submissions", "submission_files", "outbox", "idempotency_keys")
    return {table: rows(path, f"SELECT count(*) FROM {table}")[0][0] for table in tables}


# -- references ------------------------------------------------------------------


def test_reference_alphabet_is_crockford_base32() -> None:
    assert len(REFERENCE_ALPHABET) == len(set(REFERENCE_ALPHABET)) == 32
    assert not set("ILOU") & set(REFERENCE_ALPHABET)


def test_new_reference_draws_every_character() -> None:
    references = [new_reference("CAR") for _ in range(2000)]
    assert all(REFERENCE.match(reference) for reference in references)
    assert set("".join(r[4:] for r in references)) == set(REFERENCE_ALPHABET)


# -- saving and reading ----------------------------------------------------------


@pytest.mark.anyio
async def test_data_is_readable_json_text_in_the_file(store: SqliteStore, path: Path) -> None:
    result = await store.save(submission())
    [(data, submitted_at)] = rows(path, "SELECT data, submitted_at FROM submissions")
    assert "Škoda Octavia" in data  # not \u escapes: readable in the sqlite3 shell
    assert data == json.dumps(DATA, ensure_ascii=False, sort_keys=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", submitted_at)
    assert rows(path, "SELECT reference, position, field, name FROM submission_files") == [
        (result.reference, 0, "photos", "kuva ä.png")
    ]


def test_timestamps_sort_as_text_in_time_order() -> None:
    moments = [
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
    ]
    texts = [timestamp(moment) for moment in moments]
    assert sorted(texts) == texts
    assert [parse_timestamp(text) for text in texts] == moments
    assert parse_timestamp("2025-01-01T00:00:00") == moments[0]


def test_a_timestamp_is_the_iso_text_of_the_moment_in_utc() -> None:
    """Made to the second once a second: every microsecond, zone and second
    (more seconds than are kept) still gives the moment's own text."""
    rng = random.Random(10)
    helsinki = dt.timezone(dt.timedelta(hours=2))
    start = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)
    moments = [start, start.replace(microsecond=999_999), start.astimezone(helsinki)]
    moments += [start + dt.timedelta(seconds=rng.uniform(0, 86400 * 400)) for _ in range(6000)]
    for moment in moments * 2:  # the second time from the kept seconds (those still kept)
        expected = moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
        assert timestamp(moment) == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reference_prefix": "car"}, "capital letters"),
        ({"reference_prefix": ""}, "capital letters"),
        ({"reference_prefix": "1CAR"}, "starting with a letter"),
        ({"targets": ["email:0", "email:0"]}, "twice"),
        ({"idempotency_key": ""}, "pass None"),
    ],
)
def test_caller_mistakes_fail_at_once(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        submission(**changes)


# -- concurrency -----------------------------------------------------------------


def test_concurrent_saves_from_several_threads(path: Path) -> None:
    async def post(n: int) -> list[str]:
        # Each thread opens its own store at the same moment: the schema is
        # created once, whoever comes first.
        async with SqliteStore(path) as store:
            return [(await store.save(submission(data={"n": n}))).reference for _ in range(15)]

    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda n: anyio.run(post, n), range(4)))
    references = {reference for batch in batches for reference in batch}
    assert len(references) == 60
    assert table_counts(path)["submissions"] == 60


@pytest.mark.anyio
async def test_a_short_lock_is_waited_out(store: SqliteStore, path: Path) -> None:
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        timer = threading.Timer(0.3, blocker.execute, ["COMMIT"])
        timer.start()
        result = await store.save(submission())
        timer.join()
    finally:
        blocker.close()
    assert result.created


@pytest.mark.anyio
async def test_close_lets_waiting_saves_finish(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    results: list[SaveResult] = []

    async def post() -> None:
        results.append(await store.save(submission()))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(post)
        group.start_soon(store.close)
    assert len(results) == 5
    with pytest.raises(StoreUnavailable, match="not open"):
        await store.save(submission())
    assert table_counts(path)["submissions"] == 5


# -- failures --------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_missing_folder_is_reported_and_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "nowhere"
    store = SqliteStore(folder / "intake.db")
    with pytest.raises(StoreUnavailable, match="check that the folder") as caught:
        await store.open()
    assert str(folder) in str(caught.value)
    assert not folder.exists()
    with pytest.raises(StoreUnavailable, match=re.escape("not open; call await store.open()")):
        await store.save(submission())
    await store.close()


@pytest.mark.anyio
async def test_a_read_only_database_refuses_saves(store: SqliteStore, path: Path) -> None:
    await store.save(submission())
    reader = open_store(f"sqlite:///{path}?mode=ro")
    await reader.open()
    try:
        assert await reader.count() == 1
        await reader.check()
        with pytest.raises(
            StoreUnavailable, match=re.escape("opened read-only (mode=ro in INTAKE_STORE)")
        ):
            await reader.save(submission(idempotency_key="k"))
    finally:
        await reader.close()
    assert table_counts(path) == {
        "submissions": 1,
        "submission_files": 1,
        "outbox": 2,
        "idempotency_keys": 0,
    }


def skip_if_permissions_are_ignored(folder: Path) -> None:
    """Root (with CAP_DAC_OVERRIDE) writes read-only files; nothing to test then."""
    probe = folder / "probe"
    probe.touch(mode=0o444)
    try:
        probe.open("a").close()
    except PermissionError:
        return
    finally:
        probe.unlink()
    pytest.skip("this user may write read-only files (root?)")


@pytest.mark.anyio
async def test_a_read_only_file_refuses_saves(path: Path) -> None:
    skip_if_permissions_are_ignored(path.parent)
    async with SqliteStore(path) as store:
        await store.save(submission())
    path.chmod(0o444)
    try:
        async with SqliteStore(path) as store:
            await store.check()
            with pytest.raises(StoreUnavailable, match="it is read-only; let the service's user"):
                await store.save(submission())
            assert await store.count() == 1
    finally:
        path.chmod(0o644)
    assert table_counts(path)["submissions"] == 1


@pytest.mark.anyio
async def test_a_read_only_folder_is_reported(tmp_path: Path) -> None:
    skip_if_permissions_are_ignored(tmp_path)
    folder = tmp_path / "locked"
    folder.mkdir()
    async with SqliteStore(folder / "intake.db") as store:
        await store.save(submission())
    folder.chmod(0o555)  # SQLite cannot make the -wal and -shm files beside it
    try:
        store = SqliteStore(folder / "intake.db")
        with pytest.raises(StoreUnavailable) as caught:
            await store.open()
            await store.save(submission())
        await store.close()
        assert str(folder) in str(caught.value)
    finally:
        folder.chmod(0o755)
    assert table_counts(folder / "intake.db")["submissions"] == 1


@pytest.mark.anyio
async def test_a_new_database_cannot_be_opened_read_only(path: Path) -> None:
    rows(path, "PRAGMA user_version")  # an empty file, as a mistyped path makes
    reader = SqliteStore(path, read_only=True)
    with pytest.raises(StoreUnavailable, match="open it read-write once"):
        await reader.open()
    await reader.close()


@pytest.mark.anyio
async def test_a_locked_store_fails_its_health_check_and_recovers_by_itself(path: Path) -> None:
    async with SqliteStore(path, busy_timeout=0.2) as store:
        await store.save(submission())
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            # WAL lets readers on, so a check that only read passed (and
            # /healthz said 200) while every save failed.
            with pytest.raises(StoreUnavailable, match=r"locked for more than 0\.2 s"):
                await store.check()
            with pytest.raises(StoreUnavailable, match=r"locked for more than 0\.2 s"):
                await store.save(submission(idempotency_key="k"))
            assert await store.count() == 1
        finally:
            blocker.close()
        # The same store object, no restart.
        await store.check()
        assert (await store.save(submission(idempotency_key="k"))).created
    assert table_counts(path)["submissions"] == 2


@pytest.mark.anyio
async def test_a_full_disk_writes_nothing(store: SqliteStore) -> None:
    await store.save(submission())
    connection = store._connection
    assert connection is not None
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # as if the disk were full
    with pytest.raises(StoreUnavailable, match="is full; free some space"):
        await store.save(submission(data={"big": "x" * 100_000}))
    assert await store.count() == 1


@pytest.mark.anyio
async def test_a_failure_mid_transaction_writes_nothing(store: SqliteStore, path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
        connection.commit()
    finally:
        connection.close()
    with pytest.raises(StoreUnavailable, match="boom"):
        await store.save(submission(idempotency_key="k"))
    assert table_counts(path) == dict.fromkeys(
        ("submissions", "submission_files", "outbox", "idempotency_keys"), 0
    )


@pytest.mark.anyio
async def test_a_deleted_database_file_is_refused_until_one_is_put_back(
    store: SqliteStore, path: Path, tmp_path: Path
) -> None:
    first = await store.save(submission())
    backup = tmp_path / "backup.db"
    source, copy = sqlite3.connect(path), sqlite3.connect(backup)
    source.backup(copy)
    source.close()
    copy.close()
    await store.check()
    path.unlink()
    # Writes into a deleted file vanish at close: refused, loudly.
    with pytest.raises(StoreUnavailable, match="deleted after the store opened it"):
        await store.check()
    with pytest.raises(StoreUnavailable, match="deleted after the store opened it"):
        await store.save(submission())
    # The backup put back: the same store opens it by itself.
    shutil.copyfile(backup, path)
    await store.check()
    second = await store.save(submission())
    found = {reference for (reference,) in rows(path, "SELECT reference FROM submissions")}
    assert found == {first.reference, second.reference}


@pytest.mark.anyio
async def test_a_file_that_is_not_a_database(path: Path) -> None:
    path.write_text("name,plate\n" * 1000, encoding="utf-8")
    store = SqliteStore(path)
    with pytest.raises(StoreUnavailable, match="not a SQLite database"):
        await store.open()


@pytest.mark.anyio
async def test_a_newer_schema_is_refused(path: Path) -> None:
    rows(path, "PRAGMA user_version = 99")
    with pytest.raises(StoreUnavailable, match="schema version 99, written by a newer"):
        await SqliteStore(path).open()


# -- lifecycle -------------------------------------------------------------------


@pytest.mark.anyio
async def test_open_makes_a_wal_database_with_the_tables(store: SqliteStore, path: Path) -> None:
    connection = store._connection
    await store.open()  # again: nothing changes
    assert store._connection is connection
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_schema WHERE type='table'")}
    assert tables == {
        "submissions",
        "submission_files",
        "outbox",
        "idempotency_keys",
        "rate_hits",
        "store_health",
        "faq_searches",
        "faq_events",
        "link_uses",
        "drafts",
        "submission_contacts",
        "events",
        "staff",
        "staff_sessions",
        "admin_log",
        "stats_days",
        "stats_channels",
        "stats_fields",
        "stats_codes",
        "stats_times",
    }
    assert connection is not None
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (5000,)


@pytest.mark.anyio
async def test_a_store_never_opened_is_unavailable(path: Path) -> None:
    store = SqliteStore(path)
    with pytest.raises(StoreUnavailable, match="not open"):
        await store.check()
    await store.close()
    assert not path.exists()


@pytest.mark.anyio
async def test_an_in_memory_store() -> None:
    store: Store = open_store("sqlite:///:memory:")
    await store.open()
    try:
        result = await store.save(submission())
        stored = await store.get(result.reference)
        assert stored is not None
        assert stored.data == DATA
        await store.check()
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_version_1_database_is_upgraded_in_place(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        made = "2025-01-02T03:04:05.000000+00:00"
        connection.execute(
            "INSERT INTO submissions VALUES ('CAR-AAAAAA', 'car-service', 'v1', 'fi', '{}', 0,"
            " NULL, ?)",
            (made,),
        )
        connection.execute(
            "INSERT INTO outbox (reference, target, status, attempts, next_attempt_at,"
            " last_error, created_at, updated_at)"
            " VALUES ('CAR-AAAAAA', 'email:0', 'pending', 2, ?, 'timeout', ?, ?)",
            (made, made, made),
        )
        connection.execute("PRAGMA user_version = 1")
    finally:
        connection.close()
    async with SqliteStore(path) as store:
        [job] = await store.outbox("CAR-AAAAAA")
        assert (job.status, job.attempts, job.last_error) == ("pending", 2, "timeout")
        assert (job.claimed_by, job.lease_until, job.delivered_at, job.receipt) == (None,) * 4
        assert job.created_at == parse_timestamp(made)
        [claimed] = await store.claim("w", limit=5, lease_seconds=60)
        assert (claimed.job.id, claimed.job.attempts) == (job.id, 3)
        # Version 4: a reason for spam, an erasure mark; old rows have neither.
        old = await store.get("CAR-AAAAAA")
        assert old is not None and (old.spam_reason, old.erased_at) == ("", None)
        assert await store.spam_list() == []
        assert await store.hit_rate("k", 1, 60) == 0.0
        await store.check()
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    indexes = {name for (name,) in rows(path, "SELECT name FROM sqlite_schema WHERE type='index'")}
    assert "outbox_by_status" in indexes
    assert "outbox_by_recipient" in indexes
    assert {"submissions_spam", "submissions_kept", "submissions_with_client"} <= indexes
    assert "outbox_due" not in indexes


# -- URLs ------------------------------------------------------------------------


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite:///data/intake.db")
    assert isinstance(relative, SqliteStore)
    assert relative.database == str(tmp_path / "data" / "intake.db")
    assert relative.busy_timeout == 5
    absolute = SqliteStore.from_url("sqlite:////srv/intake/intake.db?timeout=0.5")
    assert (absolute.database, absolute.busy_timeout) == ("/srv/intake/intake.db", 0.5)
    assert SqliteStore.from_url("sqlite:///a.db?timeout=1", busy_timeout=9).busy_timeout == 9
    assert SqliteStore.from_url("SQLITE:///a.db?mode=ro").read_only
    assert SqliteStore.from_url("sqlite:///:memory:").memory
    assert isinstance(relative, Store)
    assert repr(absolute) == "SqliteStore('/srv/intake/intake.db')"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://intake.db", "three slashes"),
        ("sqlite:///", "three slashes"),
        ("sqlite:///a.db?timeout=soon", "timeout='soon' is not a number"),
        ("sqlite:///a.db?timeout=-1", "timeout='-1' is not a number"),
        ("sqlite:///a.db?timeout=nan", "not a number"),
        ("sqlite:///a.db?journal=wal", "unknown SQLite option journal='wal'"),
        ("intake.db", "no URL scheme; write sqlite:///"),
        ("mysql://user:secret@db/intake", "a 'mysql' URL"),
        ("postgresql+asyncpg://user:secret@db/intake", "intakeforms picks the driver itself"),
        ("postgresql://user:secret@db/intake?timeout=soon", "timeout='soon' is not a positive"),
        ("postgresql://user:secret@db/intake?pool_size=0", "pool_size='0' is not a positive"),
        ("postgresql://user:secret@db/intake?bogus=1", 'invalid URI query parameter: "bogus"'),
        ("postgresql://user:se%zzcret@db/intake", 'invalid percent-encoded token: "***"'),
    ],
)
def test_bad_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(IntakeError) as caught:
        open_store(url)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)
    assert not isinstance(caught.value, StoreUnavailable)


def test_a_negative_busy_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="busy_timeout"):
        SqliteStore("a.db", busy_timeout=-1)


def test_the_store_package_exports_documented_names() -> None:
    for name in intakeforms.store.__all__:
        value = getattr(intakeforms.store, name)
        if callable(value):
            assert value.__doc__, name
    assert issubclass(StoreUnavailable, IntakeError)


@pytest.mark.anyio
async def test_check_notices_a_schema_changed_under_it(store: SqliteStore, path: Path) -> None:
    rows(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    message = f"schema version is now {SCHEMA_VERSION + 1}, not {SCHEMA_VERSION}"
    with pytest.raises(StoreUnavailable, match=message):
        await store.check()


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("SQLITE_BUSY_SNAPSHOT", "kept it locked for more than 5 s"),
        ("SQLITE_LOCKED", "kept it locked"),
        ("SQLITE_READONLY_DIRECTORY", "let the service's user write the file and its folder"),
        ("SQLITE_CANTOPEN_ISDIR", "check that the folder"),
        ("SQLITE_FULL", "is full"),
        ("SQLITE_NOTADB", "not a SQLite database"),
        ("SQLITE_CORRUPT", "rescue it with the sqlite3 shell's .recover command"),
        ("SQLITE_IOERR_FSYNC", "check the disk and its filesystem"),
        ("SQLITE_MISMATCH", "the database failed"),
    ],
)
def test_every_kind_of_failure_says_what_to_do(name: str, advice: str) -> None:
    error = sqlite3.OperationalError("what SQLite said")
    error.sqlite_errorname = name
    message = str(SqliteStore("/srv/intake/intake.db")._unavailable(error))
    assert message.startswith("the submission store /srv/intake/intake.db is unavailable: ")
    assert advice in message
    assert message.endswith("(SQLite: what SQLite said)")


# -- group commit ------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_burst_of_saves_is_committed_together(store: SqliteStore, path: Path) -> None:
    commits = 0
    real = store._save_batch

    def counting(c: sqlite3.Connection, batch: list[Any]) -> None:
        nonlocal commits
        commits += 1
        real(c, batch)

    store._save_batch = counting  # type: ignore[method-assign]
    results: list[SaveResult] = []

    async def one(n: int) -> None:
        results.append(await store.save(submission(data={"n": n}, idempotency_key=f"k{n % 40}")))

    async with anyio.create_task_group() as group:
        for n in range(50):
            group.start_soon(one, n)
    # Every caller learned its reference, and the burst took far fewer commits.
    assert len(results) == 50
    assert sum(r.created for r in results) == 40  # ten repeated idempotency keys
    assert len({r.reference for r in results}) == 40
    assert commits < 50
    assert table_counts(path)["submissions"] == 40


@pytest.mark.anyio
async def test_one_failing_save_leaves_its_batch_whole(
    store: SqliteStore, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = base.new_reference
    monkeypatch.setattr(
        base, "new_reference", lambda prefix: "BAD-000000" if prefix == "BAD" else real(prefix)
    )
    outcomes: dict[int, object] = {}

    async def one(n: int, prefix: str) -> None:
        try:
            outcomes[n] = await store.save(submission(reference_prefix=prefix))
        except StoreUnavailable as exc:
            outcomes[n] = exc

    async with anyio.create_task_group() as group:
        for n, prefix in enumerate(["CAR", "BAD", "BAD", "CAR"]):
            group.start_soon(one, n, prefix)
    failed = [n for n, outcome in outcomes.items() if isinstance(outcome, StoreUnavailable)]
    assert len(failed) == 1  # the second BAD cannot get a free reference
    assert table_counts(path)["submissions"] == 3
    assert table_counts(path)["outbox"] == 6


@pytest.mark.anyio
async def test_a_delivered_mark_leaves_the_connection_fully_synchronous(
    store: SqliteStore,
) -> None:
    """Delivered marks skip the fsync; every later commit (a submission) has it."""
    saved = await store.save(dataclasses.replace(submission(), targets=["email:0", "email:1"]))
    first, second = await store.claim("w1", limit=2, lease_seconds=60)
    await store.complete(first.job.id, worker="w1", receipt="250 OK")
    with pytest.raises(LeaseLost):
        await store.complete(second.job.id, worker="someone else", receipt="250 OK")

    def synchronous(c: sqlite3.Connection) -> int:
        return int(c.execute("PRAGMA synchronous").fetchone()[0])

    assert await store._run(synchronous) == 2  # FULL
    jobs = {job.id: job.status for job in await store.outbox(saved.reference)}
    assert jobs == {first.job.id: "delivered", second.job.id: "claimed"}
