"""The store's files on disk: who may read them, and what erasure leaves in them.

The SQLite database holds customers' answers and addresses, so it and its
``-wal`` and ``-shm`` files are readable by their owner only; erased text
must not be readable from any of them afterwards. On PostgreSQL the tables'
files are read straight from the server's data directory when the tests can
(the test server is local); otherwise that test is skipped, saying why.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from file_modes import mode, usual_umask
from test_store_backends import T0, fresh_schema, submission

from intakeforms.store import PostgresStore, SqliteStore, Store, StoredFile

SIDES = ("", "-wal", "-shm")

__all__ = ["usual_umask"]  # the fixture, shared with file_modes


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "intake.db"


def modes(path: Path) -> dict[str, int]:
    return {side: mode(Path(f"{path}{side}")) for side in SIDES}


# -- file modes ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.usefixtures("usual_umask")
async def test_a_new_database_and_its_side_files_are_private(path: Path) -> None:
    async with SqliteStore(path) as store:
        await store.save(submission())
        assert modes(path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    assert mode(path) == 0o600


@pytest.mark.anyio
@pytest.mark.usefixtures("usual_umask")
async def test_a_database_others_could_read_is_tightened_once(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An earlier release left a readable database, with its WAL files.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("CREATE TABLE t (x)")
    for side in SIDES:
        os.chmod(f"{path}{side}", 0o644)
    caplog.set_level(logging.WARNING, logger="intakeforms.store")
    try:
        async with SqliteStore(path) as store:
            await store.save(submission())
            assert modes(path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        other.close()
    warned = [r.getMessage() for r in caplog.records if "could be read by other" in r.message]
    assert len(warned) == 3
    assert f"the store file {path} could be read by other users (mode 644)" in warned[0]
    assert "personal data, so it is now 600" in warned[0]
    caplog.clear()
    async with SqliteStore(path):
        pass
    assert not [r for r in caplog.records if "could be read by other" in r.message]


@pytest.mark.anyio
@pytest.mark.usefixtures("usual_umask")
async def test_group_and_others_lose_their_rights_the_owner_keeps_its_own(path: Path) -> None:
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    async with SqliteStore(path):
        assert mode(path) == 0o600
    read_only = path.with_name("read.db")
    async with SqliteStore(read_only):
        pass
    os.chmod(read_only, 0o444)
    async with SqliteStore(read_only, read_only=True) as reader:
        await reader.check()
    # A read-only store changes nothing on disk, its mode included.
    assert mode(read_only) == 0o444


# -- erased text is in none of the files -------------------------------------------------


def marker() -> str:
    return f"MARK{secrets.token_hex(8)}"


def in_files(path: Path, text: str) -> list[str]:
    """Which of the database's files hold ``text``, as UTF-8 bytes."""
    needle = text.encode()
    found = []
    for side in SIDES:
        file = Path(f"{path}{side}")
        if file.exists() and needle in file.read_bytes():
            found.append(file.name)
    return found


async def forget(store: Store, how: str, reference: str) -> None:
    if how == "erase":
        assert await store.erase(reference) is not None
    elif how == "delete_spam":
        assert await store.delete_spam(reference) is not None
    else:
        later = T0.replace(year=2100)
        result = await store.purge(delivered_before=later, spam_before=later, clients_before=later)
        assert result.erased + result.deleted_spam == 1


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["erase", "purge", "delete_spam"])
async def test_erased_text_is_in_none_of_the_sqlite_files(path: Path, how: str) -> None:
    short, long, key, name = marker(), marker(), marker(), marker()
    new = submission(
        # A long answer takes overflow pages of its own; a short one shares a page.
        data={"symptoms": short, "story": long + "x" * 20_000 + long},
        files=[StoredFile("photos", f"{name}.png", "image/png", 1, "ab/cd")],
        idempotency_key=key,
        targets=[],
        spam=how == "delete_spam",
    )
    async with SqliteStore(path) as store, SqliteStore(path) as worker:
        kept = (await store.save(submission(data={"symptoms": "kept"}))).reference
        reference = (await store.save(new)).reference
        assert await worker.get(reference) is not None  # another connection read it too
        for text in (short, long, key, name):
            assert in_files(path, text), text  # the test can see the text when it is there
        await forget(store, how, reference)
        for text in (short, long, key, name):
            assert in_files(path, text) == [], text
        stored = await store.get(kept)
        assert stored is not None and stored.data == {"symptoms": "kept"}


@pytest.fixture
async def postgres() -> AsyncIterator[PostgresStore]:
    with fresh_schema() as url:
        async with PostgresStore(url) as store:
            yield store


def table_files(store: PostgresStore) -> list[Path]:
    """The files of the tables holding submissions' text, after a checkpoint."""
    url = store._conninfo
    tables = ("submissions", "submission_files", "outbox", "idempotency_keys")
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CHECKPOINT")  # the changed pages written to the files
        folder = Path(c.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
        relations = [
            c.execute("SELECT pg_relation_filepath(%s::regclass)", (t,)).fetchone()[0]  # type: ignore[index]
            for t in tables
        ]
    files = [folder / relation for relation in relations]
    if not all(os.access(file, os.R_OK) for file in files):
        pytest.skip(f"the PostgreSQL server's files in {folder} cannot be read from here")
    return files


@pytest.mark.anyio
async def test_erased_text_is_vacuumed_out_of_the_postgres_tables(
    postgres: PostgresStore,
) -> None:
    short, key = marker(), marker()
    reference = (
        await postgres.save(submission(data={"symptoms": short}, idempotency_key=key))
    ).reference
    for _ in range(3):
        await postgres.save(submission(data={"symptoms": "kept"}))

    def holding(text: str) -> list[str]:
        return [f.name for f in table_files(postgres) if text.encode() in f.read_bytes()]

    assert holding(short) and holding(key)  # the test sees the text while it is there
    await postgres.erase(reference)
    assert holding(short) == [] and holding(key) == []


@pytest.mark.anyio
async def test_a_reader_that_outlasts_the_checkpoint_is_reported(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = marker()
    async with SqliteStore(path, busy_timeout=0.2) as store:
        reference = (await store.save(submission(data={"symptoms": text}))).reference
        reader = sqlite3.connect(path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM submissions").fetchone()  # a snapshot held
            await store.erase(reference)
            assert in_files(path, text) == ["intake.db-wal"]
        finally:
            reader.close()
        assert "the erased text stays in" in caplog.text
        # The next purge empties the WAL once nobody reads the old pages.
        await store.purge(
            delivered_before=None, spam_before=T0, clients_before=T0.replace(year=2100)
        )
        assert in_files(path, text) == []
