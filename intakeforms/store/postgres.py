"""The PostgreSQL store: one database shared by many web processes and workers.

Each call borrows a connection from a small pool (``postgres_pool.py``) and
runs in its own transaction. Claiming jobs uses ``SELECT … FOR UPDATE SKIP
LOCKED``, so workers on many hosts take disjoint jobs without waiting for
each other. Writes are shielded from cancellation: a save or a job
transition is never cut in half, and a caller that was cancelled meanwhile
simply does not learn the outcome (a retry with the same idempotency key
does).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg import sql

from intakeforms.errors import StoreUnavailable
from intakeforms.store import base, postgres_save, rate
from intakeforms.store import postgres_privacy as privacy
from intakeforms.store import postgres_queries as queries
from intakeforms.store.base import (
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    PurgeResult,
    SaveResult,
    SpamEntry,
    StoredSubmission,
)
from intakeforms.store.postgres_errors import describe, explain
from intakeforms.store.postgres_pool import (
    Connection,
    ConnectionPool,
    PoolClosed,
    PoolExhausted,
)
from intakeforms.store.postgres_schema import SCHEMA_VERSION
from intakeforms.store.postgres_url import parse_conninfo, split_url
from intakeforms.store.storable import check_targets, encode_data

_T = TypeVar("_T")

__all__ = ["DEFAULT_BUSY_TIMEOUT", "DEFAULT_POOL_SIZE", "PostgresStore"]

#: Seconds a call waits for a row lock, or for a free pooled connection.
DEFAULT_BUSY_TIMEOUT = 5.0
#: Connections one store (one process) opens at most.
DEFAULT_POOL_SIZE = 10
#: Seconds to wait for the server to accept a connection, unless the URL's
#: ``connect_timeout`` says otherwise (libpq would wait forever).
DEFAULT_CONNECT_TIMEOUT = 10


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PostgresStore:
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
        clock: Callable[[], dt.datetime] = _utc_now,
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
        self._swept = -math.inf
        self._opening: anyio.Lock | None = None  # made in the event loop that opens

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

    # -- lifecycle -----------------------------------------------------------

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
                    await postgres_save.migrate(connection, self._message)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await pool.close()
                raise
            self._pool = pool

    async def close(self) -> None:
        """Let calls under way finish, then disconnect; idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            with anyio.CancelScope(shield=True):
                await pool.close()

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def check(self) -> None:
        """Prove the store can be written, not only read: lock the version
        row in a transaction of its own. That needs a read-write primary and
        the right to update the tables, and its commit writes to the
        server's log (no table grows). Raises when it cannot, or when the
        schema is not this release's."""
        version = await self._read(queries.probe)
        if version != SCHEMA_VERSION:
            raise StoreUnavailable(
                self._message(f"its schema version is now {version}, not {SCHEMA_VERSION}")
            )

    # -- submissions -----------------------------------------------------------

    async def save(self, submission: NewSubmission) -> SaveResult:
        """Store the submission, its files, outbox jobs and idempotency key.

        All in one transaction: after a return the submission is committed,
        after :class:`~intakeforms.errors.StoreUnavailable` nothing of it is.
        Text no store can keep (a NUL character, which PostgreSQL cannot
        hold, or a lone surrogate) raises
        :class:`~intakeforms.store.UnstorableSubmission` naming the field,
        and ``data`` that is not JSON ``TypeError``, before any database
        work. Of two saves racing with one idempotency key, the second waits
        for the first and returns its reference.
        """
        data = encode_data(submission)
        async with self._connection(write=True) as c:
            return await postgres_save.save(c, submission, data, self._clock(), self._message)

    async def get(self, reference: str) -> StoredSubmission | None:
        """The submission with this exact reference, or None."""

        async def read(c: Connection) -> dict[str, StoredSubmission]:
            async with c.transaction():
                return await queries.read_submissions(c, [reference])

        return (await self._read(read)).get(reference)

    async def outbox(self, reference: str) -> list[OutboxJob]:
        """The outbox jobs of one submission, in the order they were made."""
        return await self._read(lambda c: queries.read_jobs_of(c, reference))

    async def count(self, form: str | None = None, spam: bool | None = None) -> int:
        """How many submissions are stored, optionally of one form or spam flag."""
        return await self._read(lambda c: queries.count(c, form, spam))

    # -- the outbox jobs (see the Store protocol for the contract) -----------------

    async def claim(
        self,
        worker: str,
        *,
        limit: int,
        lease_seconds: float,
        now: dt.datetime | None = None,
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs for ``worker``, oldest job first.

        ``FOR UPDATE SKIP LOCKED`` passes over jobs another claimer is taking
        right now, so claimers never wait for each other or share a job.
        """
        base.check_claim(worker, limit, lease_seconds)
        moment = self._clock() if now is None else base.check_moment("now", now)
        until = moment + dt.timedelta(seconds=lease_seconds)
        async with self._connection(write=True) as c:
            return await queries.claim(c, worker, limit, moment, until)

    async def complete(self, job_id: int, *, worker: str, receipt: str | None) -> OutboxJob:
        """Mark a job ``worker`` holds as delivered; else raise ``LeaseLost``."""
        base.check_worker(worker)
        return await self._finish(
            job_id,
            worker,
            sql.SQL("status = 'delivered', delivered_at = %(now)s, receipt = %(receipt)s"),
            {"receipt": None if receipt is None else base.clean_note(receipt)},
            delivered=True,
        )

    async def complete_autoreply(
        self, job_id: int, *, worker: str, receipt: str | None, recipient: str
    ) -> OutboxJob:
        """Like :meth:`complete`, recording the recipient's hash for the daily cap."""
        base.check_worker(worker)
        base.check_recipient(recipient)
        return await self._finish(
            job_id,
            worker,
            sql.SQL(
                "status = 'delivered', delivered_at = %(now)s, receipt = %(receipt)s,"
                " recipient_hash = %(recipient)s"
            ),
            {
                "receipt": None if receipt is None else base.clean_note(receipt),
                "recipient": base.recipient_hash(recipient),
            },
            delivered=True,
        )

    async def count_autoreplies(self, address: str, since: dt.datetime) -> int:
        """Confirmations delivered to ``address`` at ``since`` or later."""
        base.check_recipient(address)
        key = base.recipient_hash(address)
        moment = base.check_moment("since", since)
        return await self._read(lambda c: queries.count_autoreplies(c, key, moment))

    async def retry_later(
        self, job_id: int, *, worker: str, error: str, at: dt.datetime
    ) -> OutboxJob:
        """Make a job ``worker`` holds pending again, due ``at``; else ``LeaseLost``."""
        base.check_worker(worker)
        return await self._finish(
            job_id,
            worker,
            sql.SQL("status = 'pending', next_attempt_at = %(at)s, last_error = %(error)s"),
            {"at": base.check_moment("at", at), "error": base.clean_note(error)},
        )

    async def dead_letter(self, job_id: int, *, worker: str, error: str) -> OutboxJob:
        """Give up on a job ``worker`` holds, with the reason; else ``LeaseLost``."""
        base.check_worker(worker)
        return await self._finish(
            job_id,
            worker,
            sql.SQL("status = 'dead', last_error = %(error)s"),
            {"error": base.clean_note(error)},
        )

    async def _finish(
        self,
        job_id: int,
        worker: str,
        changes: sql.SQL,
        values: Mapping[str, object],
        *,
        delivered: bool = False,
    ) -> OutboxJob:
        params = {**values, "now": self._clock()}
        async with self._connection(write=True) as c:
            return await queries.finish(c, job_id, worker, changes, params, delivered=delivered)

    async def jobs(self, *, status: str | None = None, limit: int = 100) -> list[OutboxJob]:
        """Up to ``limit`` jobs, newest first, optionally of one ``status``."""
        base.check_listing(status, limit)
        return await self._read(lambda c: queries.list_jobs(c, status, limit))

    async def job(self, job_id: int) -> OutboxJob | None:
        """The job with this id, or None."""
        return await self._read(lambda c: queries.read_job(c, job_id))

    async def requeue(self, job_id: int) -> bool:
        """A dead or pending job due again now with fresh attempts; False if not."""
        async with self._connection(write=True) as c:
            return await queries.requeue(c, job_id, self._clock())

    async def counts(self) -> dict[str, int]:
        """How many jobs are in each state (every state, 0 when none)."""
        return await self._read(queries.counts)

    async def oldest_pending(self) -> dt.datetime | None:
        """When the oldest pending job was created, or None."""
        return await self._read(queries.oldest_pending)

    # -- spam review and privacy (see the Store protocol, and postgres_privacy) --

    async def spam_list(self, *, form: str | None = None, limit: int = 100) -> list[SpamEntry]:
        """Up to ``limit`` quarantined submissions, newest first; erased ones
        are left out (there is nothing left to review)."""
        base.check_listing(None, limit)
        return await self._read(lambda c: privacy.spam_list(c, form, limit))

    async def release(self, reference: str, targets: Sequence[str]) -> bool:
        """No longer spam, with a pending job per target; False when there is
        no quarantined (and not erased) submission with this reference."""
        check_targets(targets)
        async with self._connection(write=True) as c:
            return await privacy.release(c, reference, targets, self._clock())

    async def delete_spam(self, reference: str) -> StoredSubmission | None:
        """Delete a quarantined submission for good; it as it was, or None."""
        async with self._connection(write=True) as c:
            found = await privacy.delete_spam(c, reference)
            if found is not None:
                await privacy.forget(c, self.database)
        return found

    async def erase(self, reference: str) -> StoredSubmission | None:
        """Erase the answers of one submission; it as it was before, or None.

        The rows are updated and deleted, then the tables vacuumed so that
        the old row versions go (see docs/store.md for what that promises)."""
        async with self._connection(write=True) as c:
            found = await privacy.erase(c, reference, self._clock())
            if found is not None and not found.erased:
                await privacy.forget(c, self.database)
        return found

    async def purge(
        self,
        *,
        delivered_before: dt.datetime | None,
        spam_before: dt.datetime,
        clients_before: dt.datetime,
    ) -> PurgeResult:
        """Apply the retention rules at once (see the Store protocol), a
        chunk of submissions per transaction."""
        delivered = (
            None
            if delivered_before is None
            else base.check_moment("delivered_before", delivered_before)
        )
        spam = base.check_moment("spam_before", spam_before)
        clients = base.check_moment("clients_before", clients_before)
        now = self._clock()
        total = PurgeResult()
        async with self._connection(write=True) as c:
            more = True
            while more:
                step, more = await privacy.purge_step(c, delivered, spam, clients, now)
                total = PurgeResult(
                    total.erased + step.erased,
                    total.deleted_spam + step.deleted_spam,
                    total.clients_cleared + step.clients_cleared,
                    total.files + step.files,
                )
            if total.erased or total.deleted_spam or total.clients_cleared:
                await privacy.forget(c, self.database)
        return total

    async def hit_rate(self, key: str, limit: int, period: float) -> float:
        """Count one request under ``key`` in one round trip; 0.0 within
        ``limit`` per ``period`` seconds, else the seconds to wait."""
        hit = rate.Hit.at(key, limit, period, self._clock())
        sweep = time.monotonic() - self._swept >= rate.SWEEP_EVERY
        if sweep:
            self._swept = time.monotonic()
        async with self._connection(write=True) as c:
            row = await privacy.hit(c, hit, sweep)
        return rate.wait(hit, *row)

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

    async def _read(self, work: Callable[[Connection], Awaitable[_T]]) -> _T:
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
                        return await work(connection)
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

    def _message(self, problem: str) -> str:
        return f"the submission store {self.database} is unavailable: {problem}"

    def _closed(self) -> StoreUnavailable:
        return StoreUnavailable(self._message("the store is not open; call await store.open()"))

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
