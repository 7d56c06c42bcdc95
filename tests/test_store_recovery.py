"""Bad data never stops others, and an unavailable store recovers by itself.

One submission that cannot be stored fails alone, with an error naming the
answer, while the saves around it go on; a store that could not be written
(a lock, an outage of the PostgreSQL server) fails its health check
meanwhile and works again without a restart once the cause is gone.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import anyio
import psycopg
import pytest
from test_store_backends import Backend, backend, fresh_schema, store, submission

from intakeforms.errors import StoreUnavailable
from intakeforms.store import (
    NewSubmission,
    PostgresStore,
    SaveResult,
    SqliteStore,
    Store,
    StoredFile,
    UnstorableSubmission,
)
from intakeforms.store.storable import problem_in

__all__ = ["backend", "store"]  # the fixtures, shared with test_store_backends


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "intake.db"


async def save_all(store: Store, submissions: list[NewSubmission]) -> list[object]:
    """Save every one at once; each one's result or error, in order."""
    outcomes: list[object] = [None] * len(submissions)

    async def one(n: int) -> None:
        try:
            outcomes[n] = await store.save(submissions[n])
        except Exception as exc:
            outcomes[n] = exc

    async with anyio.create_task_group() as group:
        for n in range(len(submissions)):
            group.start_soon(one, n)
    return outcomes


# -- one bad row -----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("bad", "field", "code"),
    [
        ({"symptoms": "brakes \ud800 squeal"}, "symptoms", "lone_surrogate"),
        ({"nested": {"k\x00": 1}}, "nested.k\\x00", "nul_character"),
        ({"services": ["annual", "oil \x00"]}, "services[1]", "nul_character"),
    ],
)
async def test_one_bad_answer_fails_alone_among_concurrent_saves(
    store: Store, backend: Backend, bad: dict[str, object], field: str, code: str
) -> None:
    saves = [submission(data={"n": n}) for n in range(15)]
    saves[6] = submission(data=bad)
    outcomes = await save_all(store, saves)
    failed = outcomes.pop(6)
    assert all(isinstance(outcome, SaveResult) for outcome in outcomes)
    assert isinstance(failed, UnstorableSubmission) and isinstance(failed, ValueError)
    assert (failed.field, failed.code) == (field, code)
    assert f"{field!r} holds" in str(failed)
    assert "brakes" not in str(failed) and "oil" not in str(failed)  # never the answer
    assert await store.count() == 14
    assert backend.table_counts()["outbox"] == 28


@pytest.mark.anyio
async def test_a_number_too_large_for_the_database_fails_alone(store: Store) -> None:
    # A file size past 64 bits: Python takes it, SQLite and PostgreSQL do not.
    huge = StoredFile("photos", "a.png", "image/png", 2**70, "ab/cd")
    saves = [submission(files=[]) for _ in range(5)]
    saves[2] = submission(files=[huge])
    outcomes = await save_all(store, saves)
    failed = outcomes.pop(2)
    assert isinstance(failed, UnstorableSubmission), failed
    assert all(isinstance(outcome, SaveResult) for outcome in outcomes)
    assert await store.count() == 4


def test_unstorable_text_is_found_wherever_it_is() -> None:
    cases = {
        "client": submission(client="203.0.113.5\x00"),
        "idempotency_key": submission(idempotency_key="k\ud800"),
        "files of photos": submission(files=[StoredFile("photos", "a\x00.png", "i", 1, "p")]),
        "files of ph\\udc80": submission(files=[StoredFile("ph\udc80", "a.png", "i", 1, "p")]),
        "\\ud800": submission(data={"\ud800": "x"}),
        "a[0][1].b": submission(data={"a": [[0, {"b": "\x00"}]]}),
    }
    for where, new in cases.items():
        found = problem_in(new)
        assert found is not None and found.field == where, where
    assert problem_in(submission(data={"text": "a literal \\u0000 is just text"})) is None


@pytest.mark.anyio
async def test_answers_nested_too_deeply_fail_alone(store: Store) -> None:
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]
    outcomes = await save_all(store, [submission(), submission(data={"x": deep}), submission()])
    failed = outcomes[1]
    assert isinstance(failed, UnstorableSubmission) and failed.code == "too_large"
    assert await store.count() == 2


@pytest.mark.anyio
async def test_a_batch_sqlite_gave_up_as_a_whole_is_saved_row_by_row(path: Path) -> None:
    async with SqliteStore(path) as store:
        await store.save(submission())
        connection = store._connection
        assert connection is not None
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        # Room for small saves, not for one large answer: SQLite then rolls
        # back the whole transaction, and with it every save of the batch.
        connection.execute(f"PRAGMA max_page_count = {pages + 3}")
        saves = [submission(data={"n": n}, files=[]) for n in range(15)]
        saves[7] = submission(data={"story": "x" * 200_000})
        outcomes = await save_all(store, saves)
        failed = outcomes.pop(7)
        assert isinstance(failed, StoreUnavailable) and "is full" in str(failed)
        assert all(isinstance(outcome, SaveResult) for outcome in outcomes)
        assert await store.count() == 15


@pytest.mark.anyio
async def test_data_postgresql_refuses_fails_that_save_alone() -> None:
    with fresh_schema() as url:
        schema = url.rpartition("search_path%3D")[2]
        async with PostgresStore(url) as store:
            # Whatever the checks before it miss, the server's verdict on
            # data (SQLSTATE class 22) is the submission's fault, not 503.
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(
                    f"CREATE FUNCTION {schema}.picky() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN IF NEW.data ? 'bad' THEN"
                    " RAISE EXCEPTION 'refused' USING ERRCODE = 'data_exception'; END IF;"
                    " RETURN NEW; END $$"
                )
                admin.execute(
                    f"CREATE TRIGGER picky BEFORE INSERT ON {schema}.submissions"
                    f" FOR EACH ROW EXECUTE FUNCTION {schema}.picky()"
                )
            outcomes = await save_all(
                store, [submission(), submission(data={"bad": 1}), submission()]
            )
            failed = outcomes[1]
            assert isinstance(failed, UnstorableSubmission)
            assert failed.code == "not_storable"
            assert "PostgreSQL refused its data (22000" in str(failed)
            assert await store.count() == 2


# -- nothing sticks after a failure ----------------------------------------------------------


@pytest.mark.anyio
async def test_a_transaction_left_open_does_not_stop_later_calls(path: Path) -> None:
    async with SqliteStore(path) as store:

        def begin_and_fail(c: sqlite3.Connection) -> None:
            c.execute("BEGIN IMMEDIATE")
            raise sqlite3.OperationalError("failed halfway")

        with pytest.raises(StoreUnavailable, match="failed halfway"):
            await store._run(begin_and_fail)
        assert (await store.save(submission())).created
        await store.check()


class Relay:
    """A TCP relay on loopback to the PostgreSQL server, to cut and restore.

    ``stop`` stops listening and cuts every connection through it, as a
    server restart or a network cut would; ``start`` listens again on the
    same port.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(task := asyncio.current_task())  # type: ignore[arg-type]
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for each in (writer, up_writer):
                each.transport.abort()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


@pytest.mark.anyio
async def test_a_postgres_outage_fails_checks_and_passes_by_itself() -> None:
    with fresh_schema() as url:
        host_port = url.split("@", 1)[1].split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        relay = Relay((host, int(port)))
        await relay.start()
        relayed = url.replace(f"@{host_port}/", f"@127.0.0.1:{relay.port}/", 1)
        try:
            async with PostgresStore(relayed, busy_timeout=2) as store:
                # Several pooled connections, all of which the outage kills.
                outcomes = await save_all(store, [submission() for _ in range(4)])
                assert all(isinstance(outcome, SaveResult) for outcome in outcomes)
                await relay.stop()
                with pytest.raises(StoreUnavailable):
                    await store.check()
                with pytest.raises(StoreUnavailable):
                    await store.save(submission())
                await relay.start()  # the same port: the server is back
                await store.check()
                assert (await store.save(submission())).created
                assert await store.count() == 5
        finally:
            await relay.stop()


@pytest.mark.anyio
async def test_a_postgres_store_that_cannot_write_fails_its_check() -> None:
    with fresh_schema() as url:
        async with PostgresStore(url) as store:
            await store.save(submission())
        # As on a replica, or a database set read-only: reads work, writes fail.
        read_only = url + "%20-cdefault_transaction_read_only%3Don"
        async with PostgresStore(read_only) as store:
            assert await store.count() == 1
            with pytest.raises(StoreUnavailable, match="read-only"):
                await store.check()
            with pytest.raises(StoreUnavailable, match="read-only"):
                await store.save(submission())
