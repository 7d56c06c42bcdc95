"""The PostgreSQL store: one database shared by many web processes and workers.

Each call borrows a connection from a small pool (``postgres_pool.py``) and
runs in its own transaction. Claiming jobs uses ``SELECT … FOR UPDATE SKIP
LOCKED``, so workers on many hosts take disjoint jobs without waiting for
each other. Writes are shielded from cancellation: a save or a job
transition is never cut in half, and a caller that was cancelled meanwhile
simply does not learn the outcome (a retry with the same idempotency key
does).

What the store does is :class:`~intakeforms.store.engine.SqlStore`'s; this
module says how an operation gets a connection (``_read``, ``_write``) and
what a failure means. The SQL is ``postgres_dialect.py``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import psycopg

from intakeforms.errors import StoreUnavailable
from intakeforms.store import submissions
from intakeforms.store.dialect import Work
from intakeforms.store.engine import SqlStore, utc_now
from intakeforms.store.postgres_dialect import PostgresSession
from intakeforms.store.postgres_errors import describe, explain
from intakeforms.store.postgres_pool import (
    Connection,
    ConnectionPool,
    PoolClosed,
    PoolExhausted,
)
from intakeforms.store.postgres_save import GroupSave, Pending
from intakeforms.store.postgres_schema import migrate
from intakeforms.store.postgres_url import parse_conninfo, split_url
from intakeforms.store.records import NewSubmission, SaveResult
from intakeforms.store.storable import encode_data

_T = TypeVar("_T")

__all__ = ["DEFAULT_BUSY_TIMEOUT", "DEFAULT_POOL_SIZE", "PostgresStore"]

#: Seconds a call waits for a row lock, or for a free pooled connection.
DEFAULT_BUSY_TIMEOUT = 5.0
#: Connections one store (one process) opens at most.
DEFAULT_POOL_SIZE = 10
#: Seconds to wait for the server to accept a connection, unless the URL's
#: ``connect_timeout`` says otherwise (libpq would wait forever).
DEFAULT_CONNECT_TIMEOUT = 10


class PostgresStore(SqlStore):
    """A :class:`~intakeforms.store.Store` in a PostgreSQL database (psycopg 3).

    ``conninfo`` is a libpq connection URL or ``key=value`` string; its
    password is never shown in a message or ``repr``. ``busy_timeout`` is
    how many seconds a call waits for a row another transaction holds (it
    becomes ``lock_timeout``) or for a free connection of the pool, before
    failing with :class:`~intakeforms.errors.StoreUnavailable`. ``pool_size``
    caps this store's connections. ``clock`` gives the current time (tests).
    """

    def __init__(
        self,
        conninfo: str,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if not 0 < busy_timeout < float("inf"):
            raise ValueError(f"busy_timeout must be more than 0 seconds, not {busy_timeout}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be 1 or more, not {pool_size}")
        self._params = parse_conninfo(conninfo)
        self._conninfo = conninfo
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self._clock = clock
        self._password = str(self._params.get("password") or "")
        #: Where the store is, without the password: ``postgresql://user@host:port/db``.
        self.database = describe(self._params)
        self._pool: ConnectionPool | None = None
        self._opening: anyio.Lock | None = None  # made in the event loop that opens
        self._group = GroupSave(self._save_together, self._save_alone, lambda: self._clock())

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float | None = None) -> PostgresStore:
        """The store for ``postgresql://…`` (see :func:`~intakeforms.store.open_store`).

        Besides libpq's own options (``sslmode``, ``connect_timeout``,
        ``options``, …) the query may hold ``timeout=SECONDS`` (the busy
        timeout) and ``pool_size=N``.
        """
        parts = split_url(url)
        return cls(
            parts.conninfo,
            busy_timeout=busy_timeout
            if busy_timeout is not None
            else parts.timeout or DEFAULT_BUSY_TIMEOUT,
            pool_size=parts.pool_size or DEFAULT_POOL_SIZE,
        )

    def __repr__(self) -> str:
        return f"PostgresStore({self.database!r})"

    async def open(self) -> None:
        """Connect and create or upgrade the tables; idempotent.

        Safe when several processes start at once: the schema is written
        under a transaction-scoped advisory lock, one process after another.
        """
        if self._opening is None:
            self._opening = anyio.Lock()
        # One pool per store even when two tasks open it at once.
        async with self._opening:
            if self._pool is not None:
                return
            pool = ConnectionPool(self._connect, size=self.pool_size, wait=self.busy_timeout)
            try:
                async with self._errors(), pool.connection() as connection:
                    await migrate(connection, self._message)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await pool.close()
                raise
            self._pool = pool

    async def close(self) -> None:
        """Let calls under way finish, then disconnect; idempotent."""
        await self._group.drained()
        pool, self._pool = self._pool, None
        if pool is not None:
            with anyio.CancelScope(shield=True):
                await pool.close()

    async def save(self, submission: NewSubmission) -> SaveResult:
        """:meth:`SqlStore.save <intakeforms.store.engine.SqlStore.save>`, with
        the saves that arrive together in one transaction (a group commit, see
        ``postgres_save.py``); one that fails still fails alone."""
        return await self._group.save(submission, encode_data(submission))

    async def _save_together(self, batch: list[Pending], now: dt.datetime) -> list[SaveResult]:
        work = [(pending.submission, pending.data) for pending in batch]
        return await self._write(lambda s: submissions.save_together(s, work, now))

    async def _save_alone(self, pending: Pending, now: dt.datetime) -> SaveResult:
        new, data = pending.submission, pending.data
        return await self._write(lambda s: submissions.save(s, new, data, now))

    async def _write(self, work: Work[_T]) -> _T:
        async with self._connection(write=True) as c:
            return await work(PostgresSession(c, self.database))

    # -- connections -------------------------------------------------------------

    async def _connect(self) -> Connection:
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self._params:
            options["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
        if "application_name" not in self._params:
            options["application_name"] = "intakeforms"  # seen in pg_stat_activity
        connection = await psycopg.AsyncConnection.connect(self._conninfo, **options)
        try:
            # A row lock held longer than this fails the call rather than
            # hanging a customer's request (or a worker) on it.
            await connection.execute(
                "SELECT set_config('lock_timeout', %s, false)",
                (f"{round(self.busy_timeout * 1000)}ms",),
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await connection.close()
            raise
        return connection

    @asynccontextmanager
    async def _connection(self, *, write: bool = False) -> AsyncIterator[Connection]:
        """A pooled connection; every database failure becomes StoreUnavailable.

        ``write`` shields the work from cancellation, so a transaction always
        ends (commits or rolls back) on purpose and never halfway.
        """
        pool = self._pool
        if pool is None:
            raise self._closed()
        with anyio.CancelScope(shield=write):
            async with self._errors(), pool.connection() as connection:
                yield connection

    async def _read(self, work: Work[_T]) -> _T:
        """Run a read on a pooled connection; when that connection turns out
        to have died while it sat in the pool (the server restarted, the
        network was cut), once more on a new one, so no caller sees it.
        Writes are not repeated: a commit whose answer was lost may have
        happened."""
        pool = self._pool
        if pool is None:
            raise self._closed()
        async with self._errors():
            for attempt in (1, 2):
                async with pool.connection() as connection:
                    try:
                        return await work(PostgresSession(connection, self.database))
                    except psycopg.OperationalError:
                        if attempt == 2 or not connection.broken:
                            raise
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc
        except PoolClosed:
            raise self._closed() from None
        except PoolExhausted:
            raise StoreUnavailable(
                self._message(
                    f"all {self.pool_size} connections stayed busy for more than "
                    f"{self.busy_timeout:g} s; raise ?pool_size= or ?timeout= in INTAKE_STORE, "
                    "or look for slow queries in pg_stat_activity"
                )
            ) from None

    # -- messages ------------------------------------------------------------------

    def _unavailable(self, exc: psycopg.Error) -> StoreUnavailable:
        """What went wrong, in words that say what to do about it.

        Of an error the server sent, only its first line: the DETAIL of a
        failed row quotes the row's values, which are customers' answers."""
        primary = exc.diag.message_primary if exc.sqlstate else None
        said = (primary or str(exc)).strip()
        if self._password:
            said = said.replace(self._password, "***")
        problem = explain(exc.sqlstate, said, self._params, self.busy_timeout)
        detail = " ".join(said.split())  # libpq's messages span lines with tabs
        return StoreUnavailable(self._message(f"{problem} (PostgreSQL: {detail})"))
