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
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from intakeforms.errors import IntakeError, StoreUnavailable
from intakeforms.store import base
from intakeforms.store import postgres_queries as queries
from intakeforms.store.base import (
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    SaveResult,
    StoredSubmission,
)
from intakeforms.store.postgres_errors import describe, explain
from intakeforms.store.postgres_pool import (
    Connection,
    ConnectionPool,
    PoolClosed,
    PoolExhausted,
)
from intakeforms.store.postgres_schema import (
    MIGRATION_LOCK,
    MIGRATIONS,
    SCHEMA_VERSION,
)

__all__ = ["DEFAULT_BUSY_TIMEOUT", "DEFAULT_POOL_SIZE", "PostgresStore"]

#: Seconds a call waits for a row lock, or for a free pooled connection.
DEFAULT_BUSY_TIMEOUT = 5.0
#: Connections one store (one process) opens at most.
DEFAULT_POOL_SIZE = 10
#: Seconds to wait for the server to accept a connection, unless the URL's
#: ``connect_timeout`` says otherwise (libpq would wait forever).
DEFAULT_CONNECT_TIMEOUT = 10

# Same reasoning as the SQLite store: ten collisions in a row means the
# random source is broken, not that the references ran out.
_REFERENCE_TRIES = 10


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _KeyTaken(Exception):
    """Another transaction stored the same idempotency key first."""


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
        try:
            self._params = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise IntakeError(
                f"INTAKE_STORE is not a PostgreSQL URL libpq understands ({_hide(exc, conninfo)}); "
                "write postgresql://USER:PASSWORD@HOST:PORT/DATABASE, percent-encoding "
                "special characters, with libpq's options after ?"
            ) from None
        self._conninfo = conninfo
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self._clock = clock
        self._password = str(self._params.get("password") or "")
        #: Where the store is, without the password: ``postgresql://user@host:port/db``.
        self.database = describe(self._params)
        self._pool: ConnectionPool | None = None
        self._opening: anyio.Lock | None = None  # made in the event loop that opens

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float | None = None) -> PostgresStore:
        """The store for ``postgresql://…`` (see :func:`~intakeforms.store.open_store`).

        Besides libpq's own options (``sslmode``, ``connect_timeout``,
        ``options``, …) the query may hold ``timeout=SECONDS`` (the busy
        timeout) and ``pool_size=N``.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("postgresql", "postgres"):
            raise IntakeError(
                f"INTAKE_STORE has a {parts.scheme!r} URL; a PostgreSQL store is "
                "postgresql://USER@HOST:PORT/DATABASE (intakeforms picks the driver itself)"
            )
        timeout, pool_size, kept = DEFAULT_BUSY_TIMEOUT, DEFAULT_POOL_SIZE, []
        # libpq's options are passed on exactly as written: decoding and
        # encoding them again would turn a "+" (in a password, say) into a space.
        for option in filter(None, parts.query.split("&")):
            key, _, value = option.partition("=")
            if key == "timeout":
                timeout = _number(key, unquote(value), float)
            elif key == "pool_size":
                pool_size = int(_number(key, unquote(value), int))
            else:
                kept.append(option)
        # libpq knows only the lower-case spellings of the scheme.
        rest = f"postgresql://{parts.netloc}{parts.path}"
        if kept:
            rest += "?" + "&".join(kept)
        return cls(
            rest,
            busy_timeout=timeout if busy_timeout is None else busy_timeout,
            pool_size=pool_size,
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
                    await self._migrate(connection)
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
        """Read the schema version; raise if the database does not answer."""
        async with self._connection() as c:
            version = await queries.read_version(c)
        if version != SCHEMA_VERSION:
            raise StoreUnavailable(
                self._message(f"its schema version is now {version}, not {SCHEMA_VERSION}")
            )

    # -- submissions -----------------------------------------------------------

    async def save(self, submission: NewSubmission) -> SaveResult:
        """Store the submission, its files, outbox jobs and idempotency key.

        All in one transaction: after a return the submission is committed,
        after :class:`~intakeforms.errors.StoreUnavailable` nothing of it is.
        ``data`` that is not JSON raises ``TypeError``/``ValueError`` first,
        and so does text holding a NUL character, which PostgreSQL cannot
        store. Of two saves racing with one idempotency key, the second waits
        for the first and returns its reference.
        """
        data = json.dumps(
            dict(submission.data), ensure_ascii=False, sort_keys=True, allow_nan=False
        )
        queries.refuse_nul(submission)
        async with self._connection(write=True) as c:
            # Twice at most: the key's first owner could roll back (or its
            # submission be erased) between our two looks.
            for _ in range(2):
                try:
                    return await self._save(c, submission, data)
                except _KeyTaken:
                    seen = await queries.seen_key(c, submission)
                    if seen is not None:
                        return SaveResult(seen, created=False)
        raise StoreUnavailable(  # pragma: no cover - needs a race lost twice in a row
            self._message("an idempotency key kept changing hands; retry")
        )

    async def _save(self, c: Connection, new: NewSubmission, data: str) -> SaveResult:
        now = self._clock()
        async with c.transaction():
            seen = await queries.seen_key(c, new)
            if seen is not None:
                return SaveResult(seen, created=False)
            reference = await self._insert_submission(c, new, data, now)
            async with c.cursor() as cursor:
                if new.files:
                    await cursor.executemany(
                        "INSERT INTO submission_files"
                        " (reference, position, field, name, content_type, size, path)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [
                            (reference, i, f.field, f.name, f.content_type, f.size, f.path)
                            for i, f in enumerate(new.files)
                        ],
                    )
                if new.targets and not new.spam:  # spam is kept, never delivered
                    await cursor.executemany(
                        "INSERT INTO outbox"
                        " (reference, target, next_attempt_at, created_at, updated_at)"
                        " VALUES (%s, %s, %s, %s, %s)",
                        [(reference, target, now, now, now) for target in new.targets],
                    )
            if new.idempotency_key is not None:
                # A concurrent save with the same key makes this wait for it;
                # when it commits, DO NOTHING, and the whole save rolls back.
                cursor = await c.execute(
                    "INSERT INTO idempotency_keys (form, idempotency_key, reference, created_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING reference",
                    (new.form, new.idempotency_key, reference, now),
                )
                if await cursor.fetchone() is None:
                    raise _KeyTaken
        return SaveResult(reference, created=True)

    async def _insert_submission(
        self, c: Connection, new: NewSubmission, data: str, now: dt.datetime
    ) -> str:
        for _ in range(_REFERENCE_TRIES):
            reference = base.new_reference(new.reference_prefix)
            cursor = await c.execute(
                sql.SQL(
                    "INSERT INTO submissions ({})"
                    " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
                    " ON CONFLICT (reference) DO NOTHING RETURNING reference"
                ).format(queries.SUBMISSION_COLUMNS),
                (
                    reference,
                    new.form,
                    new.form_version,
                    new.locale,
                    data,
                    new.spam,
                    new.client,
                    now,
                ),
            )
            if await cursor.fetchone() is not None:
                return reference
        raise StoreUnavailable(
            self._message(
                f"no free reference for prefix {new.reference_prefix} after "
                f"{_REFERENCE_TRIES} tries; the random source repeats itself"
            )
        )

    async def get(self, reference: str) -> StoredSubmission | None:
        """The submission with this exact reference, or None."""
        async with self._connection() as c, c.transaction():
            found = await queries.read_submissions(c, [reference])
        return found.get(reference)

    async def outbox(self, reference: str) -> list[OutboxJob]:
        """The outbox jobs of one submission, in the order they were made."""
        async with self._connection() as c:
            return await queries.read_jobs_of(c, reference)

    async def count(self, form: str | None = None, spam: bool | None = None) -> int:
        """How many submissions are stored, optionally of one form or spam flag."""
        async with self._connection() as c:
            return await queries.count(c, form, spam)

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
        async with self._connection() as c:
            return await queries.count_autoreplies(c, key, moment)

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
        async with self._connection() as c:
            return await queries.list_jobs(c, status, limit)

    async def job(self, job_id: int) -> OutboxJob | None:
        """The job with this id, or None."""
        async with self._connection() as c:
            return await queries.read_job(c, job_id)

    async def requeue(self, job_id: int) -> bool:
        """A dead or pending job due again now with fresh attempts; False if not."""
        async with self._connection(write=True) as c:
            return await queries.requeue(c, job_id, self._clock())

    async def counts(self) -> dict[str, int]:
        """How many jobs are in each state (every state, 0 when none)."""
        async with self._connection() as c:
            return await queries.counts(c)

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

    async def _migrate(self, c: Connection) -> None:
        # A look without the lock first: normally the tables are there, and a
        # user without the right to create tables can still use them.
        version = await queries.read_version(c)
        if version == SCHEMA_VERSION:
            return
        async with c.transaction():
            await c.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await c.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " one boolean PRIMARY KEY DEFAULT true CHECK (one),"
                    " version integer NOT NULL)"
                ).format(queries.VERSION)
            )
            await c.execute(
                sql.SQL("INSERT INTO {} (version) VALUES (0) ON CONFLICT DO NOTHING").format(
                    queries.VERSION
                )
            )
            # Read again under the lock: another process may have migrated
            # while this one waited for it.
            version = await queries.read_version(c) or 0
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    self._message(
                        f"it has schema version {version}, written by a newer intakeforms "
                        f"(this one knows version {SCHEMA_VERSION}); upgrade intakeforms"
                    )
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    await c.execute(statement)
            await c.execute(
                sql.SQL("UPDATE {} SET version = %s").format(queries.VERSION), (SCHEMA_VERSION,)
            )

    # -- messages ------------------------------------------------------------------

    def _message(self, problem: str) -> str:
        return f"the submission store {self.database} is unavailable: {problem}"

    def _closed(self) -> StoreUnavailable:
        return StoreUnavailable(self._message("the store is not open; call await store.open()"))

    def _unavailable(self, exc: psycopg.Error) -> StoreUnavailable:
        """What went wrong, in words that say what to do about it."""
        said = str(exc).strip()
        if self._password:
            said = said.replace(self._password, "***")
        problem = explain(exc.sqlstate, said, self._params, self.busy_timeout)
        detail = " ".join(said.split())  # libpq's messages span lines with tabs
        return StoreUnavailable(self._message(f"{problem} (PostgreSQL: {detail})"))


def _hide(exc: psycopg.Error, conninfo: str) -> str:
    """libpq's complaint about ``conninfo``, with any password in it masked."""
    said = " ".join(str(exc).split())
    try:
        password = urlsplit(conninfo).password
    except ValueError:  # not even a URL; a key=value string quotes no password back
        password = None
    if password:
        said = said.replace(password, "***").replace(unquote(password), "***")
    return said


def _number(key: str, text: str, kind: Callable[[str], float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not 0 < value < float("inf"):  # also refuses nan
        raise IntakeError(f"INTAKE_STORE: {key}={text!r} is not a positive number")
    return value
