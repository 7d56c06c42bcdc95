"""The SQLite store: one file, WAL mode, safe with several processes.

Each store holds one connection and runs every call on a worker thread, one
call at a time (a capacity limiter of one), so the event loop never waits for
the disk and the connection is never used by two threads at once. Several
stores (or processes) on one file share it through SQLite's own locking:
in WAL mode readers never block, and writers queue for up to the busy timeout.

What the store does is :class:`~intakeforms.store.engine.SqlStore`'s; this
module says how an operation reaches the file (``_run``), and commits saves
in groups. The SQL is ``sqlite_dialect.py``'s.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread

from intakeforms.errors import SettingsError, StoreUnavailable
from intakeforms.store.dialect import Work, run_now
from intakeforms.store.engine import SqlStore, utc_now
from intakeforms.store.records import NewSubmission, SaveResult
from intakeforms.store.sqlite_connection import MEMORY, Connection
from intakeforms.store.sqlite_dialect import SqliteSession
from intakeforms.store.sqlite_errors import worth_saving_alone
from intakeforms.store.sqlite_save import Waiting, row_error, save_batch
from intakeforms.store.storable import encode_data

__all__ = ["DEFAULT_BUSY_TIMEOUT", "SqliteStore"]

#: Seconds a write waits for another connection's write to finish.
DEFAULT_BUSY_TIMEOUT = 5.0

_T = TypeVar("_T")


class SqliteStore(SqlStore):
    """A :class:`~intakeforms.store.Store` in one SQLite file (or in memory).

    ``path`` is the database file; its folder must exist. ``busy_timeout``
    is how many seconds a write waits for another writer before failing with
    :class:`~intakeforms.errors.StoreUnavailable`. ``read_only`` opens an
    existing database for reading only. ``clock`` gives the current time
    (for tests).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        read_only: bool = False,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be 0 or more seconds, not {busy_timeout}")
        self.memory = os.fspath(path) == MEMORY
        #: ``:memory:`` or the database file's absolute path.
        self.database = MEMORY if self.memory else os.path.abspath(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._clock = clock
        self._opened = False
        self._file = Connection(self.database, read_only=read_only, busy_timeout=busy_timeout)
        self._limiter: anyio.CapacityLimiter | None = None
        self._waiting: list[Waiting] = []
        self._committing = False
        self._drained: anyio.Event | None = None

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float | None = None) -> SqliteStore:
        """The store for ``sqlite:///path`` (see :func:`~intakeforms.store.open_store`)."""
        rest = url.partition("://")[2]
        location, _, query = rest.partition("?")
        if not location.startswith("/") or location == "/":
            raise SettingsError(
                "INTAKE_STORE: a SQLite URL has three slashes and a path, like "
                "sqlite:///intake.db (relative) or sqlite:////srv/intake.db (absolute)"
            )
        timeout = DEFAULT_BUSY_TIMEOUT
        read_only = False
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == "timeout":
                timeout = _seconds(value)
            elif key == "mode" and value in ("ro", "rw"):
                read_only = value == "ro"
            else:
                raise SettingsError(
                    f"INTAKE_STORE: unknown SQLite option {key}={value!r}; "
                    "the options are timeout=SECONDS and mode=ro"
                )
        path = location[1:]  # sqlite:///a.db → a.db, sqlite:////srv/a.db → /srv/a.db
        return cls(
            path,
            busy_timeout=timeout if busy_timeout is None else busy_timeout,
            read_only=read_only,
        )

    def __repr__(self) -> str:
        return f"SqliteStore({self.database!r})"

    async def open(self) -> None:
        """Connect, switch to WAL and create or upgrade the tables; idempotent.

        Safe when several processes open one file at once: the schema is
        written in one write transaction, and ``CREATE … IF NOT EXISTS``.
        A new file is made readable by its owner only (0600), and an
        existing one that others could read is tightened.
        """
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        await anyio.to_thread.run_sync(self._open_now, limiter=self._limiter)

    async def close(self) -> None:
        """Let calls already waiting finish, then disconnect; idempotent."""
        if self._drained is not None:
            await self._drained.wait()
        if self._limiter is not None:
            await anyio.to_thread.run_sync(self._close_now, limiter=self._limiter)

    async def save(self, submission: NewSubmission) -> SaveResult:
        """Store the submission, its files, outbox jobs and idempotency key.

        All in one transaction: after a return the submission is on disk,
        after :class:`~intakeforms.errors.StoreUnavailable` nothing of it is.
        Text no store can keep (a lone surrogate, a NUL character) raises
        :class:`~intakeforms.store.UnstorableSubmission` naming the field,
        and ``data`` that is not JSON ``TypeError``, before any database work.

        Saves that arrive while another is being written are committed
        together (a group commit): each still returns only once its
        transaction is on disk, but a burst of submissions shares the cost of
        flushing the file, which is most of the cost of a save. Each has a
        savepoint of its own, so one that fails fails alone.
        """
        waiting = Waiting(submission, encode_data(submission))
        self._waiting.append(waiting)
        if self._committing:
            await waiting.done.wait()
        else:
            self._committing = True
            self._drained = anyio.Event()
            try:
                # Shielded: waiters of a batch must learn its outcome even if
                # the caller that happens to write it is cancelled.
                with anyio.CancelScope(shield=True):
                    while self._waiting:
                        batch, self._waiting = self._waiting, []
                        await self._commit(batch)
            finally:
                self._committing = False
                self._drained.set()
                self._drained = None
        if waiting.error is not None:
            raise waiting.error
        assert waiting.result is not None
        return waiting.result

    async def _commit(self, batch: list[Waiting]) -> None:
        try:
            try:
                await self._run(lambda c: self._save_batch(c, batch))
            except Exception as exc:  # the whole batch was rolled back
                if len(batch) == 1 or not worth_saving_alone(exc):
                    error = row_error(exc, self.database, self._unavailable)
                    for waiting in batch:
                        waiting.result, waiting.error = None, error
                    return
                # It may have been one row's fault (SQLite gave up the whole
                # transaction for it): each alone, so only that one fails.
                for waiting in batch:
                    waiting.result, waiting.error = None, None
                    await self._commit([waiting])
        finally:
            for waiting in batch:
                waiting.done.set()

    def _save_batch(self, c: sqlite3.Connection, batch: list[Waiting]) -> None:
        """Write ``batch`` (on the thread); see ``sqlite_save.py``."""
        run_now(save_batch(self._session(c), batch, self._clock(), self._unavailable))

    # -- on the worker thread -----------------------------------------------

    async def _read(self, work: Work[_T]) -> _T:
        # One connection, one call at a time: a read is run as a write is.
        return await self._write(work)

    async def _write(self, work: Work[_T]) -> _T:
        return await self._run(lambda c: run_now(work(self._session(c))))

    def _session(self, c: sqlite3.Connection) -> SqliteSession:
        return SqliteSession(c, self.database, read_only=self.read_only)

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._limiter is None:
            raise self._closed()
        # run_sync is not abandoned on cancellation: a cancelled caller waits
        # for its call to finish, so the connection is never used by two
        # threads and a save is never cut in half. It does not learn the
        # reference then; a retry with the same idempotency key does.
        return await anyio.to_thread.run_sync(self._call, work, limiter=self._limiter)

    def _call(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if not self._opened:
            raise self._closed()
        try:
            connection = self._file.usable()
            try:
                return work(connection)
            finally:
                self._file.settle(connection)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def _open_now(self) -> None:
        if not self._opened:
            self._file.open()
            self._opened = True

    def _close_now(self) -> None:
        self._opened = False
        self._file.close()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._file.current

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        """What went wrong, in words that say what to do about it."""
        return self._file.unavailable(exc)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):  # also refuses nan
        raise SettingsError(f"INTAKE_STORE: timeout={text!r} is not a number of seconds")
    return seconds
