"""The SQLite store: one file, WAL mode, safe with several processes.

Each store holds one connection and runs every call on a worker thread, one
call at a time (a capacity limiter of one), so the event loop never waits for
the disk and the connection is never used by two threads at once. Several
stores (or processes) on one file share it through SQLite's own locking:
in WAL mode readers never block, and writers queue for up to the busy timeout.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar
from urllib.parse import parse_qsl, quote

import anyio
import anyio.to_thread

from intakeforms.errors import IntakeError, StoreUnavailable
from intakeforms.store import base
from intakeforms.store import sqlite_queries as queries
from intakeforms.store.base import (
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    SaveResult,
    StoredSubmission,
)
from intakeforms.store.sqlite_queries import transaction as _transaction
from intakeforms.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, timestamp

__all__ = ["DEFAULT_BUSY_TIMEOUT", "SqliteStore"]

#: Seconds a write waits for another connection's write to finish.
DEFAULT_BUSY_TIMEOUT = 5.0

MEMORY = ":memory:"

# How many fresh references to try before giving up; with 32**6 references per
# prefix, even one collision is rare, so ten in a row means something is broken.
_REFERENCE_TRIES = 10

_T = TypeVar("_T")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(eq=False)
class _Waiting:
    """One save waiting for its batch to be committed."""

    submission: NewSubmission
    data: str
    done: anyio.Event = field(default_factory=anyio.Event)
    result: SaveResult | None = None
    error: StoreUnavailable | None = None


class SqliteStore:
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
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be 0 or more seconds, not {busy_timeout}")
        self.memory = os.fspath(path) == MEMORY
        #: ``:memory:`` or the database file's absolute path.
        self.database = MEMORY if self.memory else os.path.abspath(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._clock = clock
        self._connection: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._waiting: list[_Waiting] = []
        self._committing = False
        self._drained: anyio.Event | None = None

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float | None = None) -> SqliteStore:
        """The store for ``sqlite:///path`` (see :func:`~intakeforms.store.open_store`)."""
        rest = url.partition("://")[2]
        location, _, query = rest.partition("?")
        if not location.startswith("/") or location == "/":
            raise IntakeError(
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
                raise IntakeError(
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

    # -- the Store protocol -------------------------------------------------

    async def open(self) -> None:
        """Connect, switch to WAL and create or upgrade the tables; idempotent.

        Safe when several processes open one file at once: the schema is
        written in one write transaction, and ``CREATE … IF NOT EXISTS``.
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
        ``data`` that is not JSON raises ``TypeError``/``ValueError`` first.

        Saves that arrive while another is being written are committed
        together (a group commit): each still returns only once its
        transaction is on disk, but a burst of submissions shares the cost of
        flushing the file, which is most of the cost of a save.
        """
        data = json.dumps(
            dict(submission.data), ensure_ascii=False, sort_keys=True, allow_nan=False
        )
        waiting = _Waiting(submission, data)
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

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            await self._run(lambda c: self._save_batch(c, batch))
        except Exception as exc:  # the whole batch was rolled back
            error = (
                exc
                if isinstance(exc, StoreUnavailable)
                else StoreUnavailable(self._message(f"the save failed unexpectedly: {exc!r}"))
            )
            for waiting in batch:
                waiting.result, waiting.error = None, error
        finally:
            for waiting in batch:
                waiting.done.set()

    async def get(self, reference: str) -> StoredSubmission | None:
        """The submission with this exact reference, or None."""
        return await self._run(lambda c: self._get(c, reference))

    async def outbox(self, reference: str) -> list[OutboxJob]:
        """The outbox jobs of one submission, in the order they were made."""
        return await self._run(lambda c: queries.read_jobs_of(c, reference))

    async def count(self, form: str | None = None, spam: bool | None = None) -> int:
        """How many submissions are stored, optionally of one form or spam flag."""
        return await self._run(lambda c: self._count(c, form, spam))

    async def check(self) -> None:
        """Read the schema version from the file; raise if it cannot be read."""
        await self._run(self._check)

    # -- the outbox jobs (see the Store protocol for the contract) -------------

    async def claim(
        self,
        worker: str,
        *,
        limit: int,
        lease_seconds: float,
        now: dt.datetime | None = None,
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs for ``worker``, oldest job first.

        ``BEGIN IMMEDIATE`` serialises claimers, in this process and others,
        so no two get the same job.
        """
        base.check_claim(worker, limit, lease_seconds)
        moment = self._clock() if now is None else base.check_moment("now", now)
        until = moment + dt.timedelta(seconds=lease_seconds)
        return await self._run(lambda c: queries.claim(c, worker, limit, moment, until))

    async def complete(self, job_id: int, *, worker: str, receipt: str | None) -> OutboxJob:
        """Mark a job ``worker`` holds as delivered; else raise ``LeaseLost``."""
        base.check_worker(worker)
        values = {
            "now": timestamp(self._clock()),
            "receipt": None if receipt is None else base.clean_note(receipt),
        }
        changes = "status = 'delivered', delivered_at = :now, receipt = :receipt"
        return await self._run(
            lambda c: queries.finish(c, job_id, worker, changes, values, delivered=True)
        )

    async def complete_autoreply(
        self, job_id: int, *, worker: str, receipt: str | None, recipient: str
    ) -> OutboxJob:
        """Like :meth:`complete`, recording the recipient's hash for the daily cap."""
        base.check_worker(worker)
        base.check_recipient(recipient)
        values = {
            "now": timestamp(self._clock()),
            "receipt": None if receipt is None else base.clean_note(receipt),
            "recipient": base.recipient_hash(recipient),
        }
        changes = (
            "status = 'delivered', delivered_at = :now, receipt = :receipt,"
            " recipient_hash = :recipient"
        )
        return await self._run(
            lambda c: queries.finish(c, job_id, worker, changes, values, delivered=True)
        )

    async def count_autoreplies(self, address: str, since: dt.datetime) -> int:
        """Confirmations delivered to ``address`` at ``since`` or later."""
        base.check_recipient(address)
        key = base.recipient_hash(address)
        moment = base.check_moment("since", since)
        return await self._run(lambda c: queries.count_autoreplies(c, key, moment))

    async def retry_later(
        self, job_id: int, *, worker: str, error: str, at: dt.datetime
    ) -> OutboxJob:
        """Make a job ``worker`` holds pending again, due ``at``; else ``LeaseLost``."""
        base.check_worker(worker)
        values = {
            "now": timestamp(self._clock()),
            "at": timestamp(base.check_moment("at", at)),
            "error": base.clean_note(error),
        }
        changes = "status = 'pending', next_attempt_at = :at, last_error = :error"
        return await self._run(lambda c: queries.finish(c, job_id, worker, changes, values))

    async def dead_letter(self, job_id: int, *, worker: str, error: str) -> OutboxJob:
        """Give up on a job ``worker`` holds, with the reason; else ``LeaseLost``."""
        base.check_worker(worker)
        values = {"now": timestamp(self._clock()), "error": base.clean_note(error)}
        changes = "status = 'dead', last_error = :error"
        return await self._run(lambda c: queries.finish(c, job_id, worker, changes, values))

    async def jobs(self, *, status: str | None = None, limit: int = 100) -> list[OutboxJob]:
        """Up to ``limit`` jobs, newest first, optionally of one ``status``."""
        base.check_listing(status, limit)
        return await self._run(lambda c: queries.list_jobs(c, status, limit))

    async def job(self, job_id: int) -> OutboxJob | None:
        """The job with this id, or None."""
        return await self._run(lambda c: queries.read_job(c, job_id))

    async def requeue(self, job_id: int) -> bool:
        """A dead or pending job due again now with fresh attempts; False if not."""
        now = self._clock()
        return await self._run(lambda c: queries.requeue(c, job_id, now))

    async def counts(self) -> dict[str, int]:
        """How many jobs are in each state (every state, 0 when none)."""
        return await self._run(queries.counts)

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- on the worker thread -----------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._limiter is None:
            raise self._closed()
        # run_sync is not abandoned on cancellation: a cancelled caller waits
        # for its call to finish, so the connection is never used by two
        # threads and a save is never cut in half. It does not learn the
        # reference then; a retry with the same idempotency key does.
        return await anyio.to_thread.run_sync(self._call, work, limiter=self._limiter)

    def _call(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        connection = self._connection
        if connection is None:
            raise self._closed()
        try:
            self._check_same_file()
            return work(connection)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def _open_now(self) -> None:
        if self._connection is not None:
            return
        try:
            connection = self._connect()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        try:
            self._prepare(connection)
            self._file_id = None if self.memory else self._stat()
        except BaseException as exc:
            connection.close()
            if isinstance(exc, sqlite3.Error):
                raise self._unavailable(exc) from exc
            raise
        self._connection = connection

    def _connect(self) -> sqlite3.Connection:
        target, uri = self.database, False
        if self.read_only and not self.memory:
            target, uri = f"file:{quote(self.database)}?mode=ro", True
        # isolation_level=None: the module starts no transactions of its own;
        # _transaction says exactly where each one begins and ends.
        return sqlite3.connect(
            target,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,  # one call at a time, see the limiter
            uri=uri,
        )

    def _prepare(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA foreign_keys = ON")
        if not self.memory and not self.read_only:
            # WAL: readers (the health check, the worker) never block the
            # writer, and the setting is kept in the file.
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreUnavailable(
                    self._message(
                        f"it cannot use WAL mode (it stays in {mode!r} mode); keep the "
                        "database on a local disk, not a network share"
                    )
                )
        # FULL rather than NORMAL: in WAL mode NORMAL may lose the last
        # commits on power loss, and a reference shown to a customer must
        # survive that. One fsync per submission is cheap at form rates.
        connection.execute("PRAGMA synchronous = FULL")
        self._migrate(connection)

    def _migrate(self, connection: sqlite3.Connection) -> None:
        version = _user_version(connection)
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                self._message(
                    f"it has schema version {version}, written by a newer intakeforms "
                    f"(this one knows version {SCHEMA_VERSION}); upgrade intakeforms"
                )
            )
        if self.read_only:
            raise StoreUnavailable(
                self._message(
                    "it has no intakeforms tables (or older ones) and is opened "
                    "read-only; open it read-write once to create them"
                )
            )
        with _transaction(connection):
            # Read again under the write lock: another process may have
            # migrated while this one waited for it.
            for step in MIGRATIONS[_user_version(connection) :]:
                for statement in step:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    def _close_now(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except sqlite3.Error as exc:  # pragma: no cover - a failed final checkpoint
                raise self._unavailable(exc) from exc

    def _check_same_file(self) -> None:
        # A database file deleted (or replaced) under an open connection keeps
        # taking writes into the unlinked file, which vanish at close: refuse
        # rather than hand out references that will be lost.
        if self.memory:
            return
        current = self._stat()
        if current is None or current != self._file_id:
            raise StoreUnavailable(
                self._message(
                    "the file was deleted or replaced after the store opened it; "
                    "restore it, or restart the service to start a new one"
                )
            )

    def _save_batch(self, c: sqlite3.Connection, batch: list[_Waiting]) -> None:
        now = timestamp(self._clock())
        with _transaction(c):
            for waiting in batch:
                # A savepoint each: one save that fails leaves the others whole.
                c.execute("SAVEPOINT one_save")
                try:
                    waiting.result = self._save(c, waiting.submission, waiting.data, now)
                except (sqlite3.Error, StoreUnavailable) as exc:
                    if not c.in_transaction:
                        raise  # SQLite rolled back everything itself (a full disk, I/O)
                    c.execute("ROLLBACK TO one_save")
                    c.execute("RELEASE one_save")
                    waiting.error = (
                        self._unavailable(exc) if isinstance(exc, sqlite3.Error) else exc
                    )
                    continue
                c.execute("RELEASE one_save")

    def _save(self, c: sqlite3.Connection, new: NewSubmission, data: str, now: str) -> SaveResult:
        if new.idempotency_key is not None:
            seen = c.execute(
                "SELECT reference FROM idempotency_keys WHERE form = ? AND idempotency_key = ?",
                (new.form, new.idempotency_key),
            ).fetchone()
            if seen is not None:
                return SaveResult(seen[0], created=False)
        reference = self._insert_submission(c, new, data, now)
        c.executemany(
            "INSERT INTO submission_files"
            " (reference, position, field, name, content_type, size, path)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (reference, i, f.field, f.name, f.content_type, f.size, f.path)
                for i, f in enumerate(new.files)
            ],
        )
        if not new.spam:  # spam is quarantined: kept for review, never delivered
            c.executemany(
                "INSERT INTO outbox"
                " (reference, target, next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(reference, target, now, now, now) for target in new.targets],
            )
        if new.idempotency_key is not None:
            c.execute(
                "INSERT INTO idempotency_keys (form, idempotency_key, reference, created_at)"
                " VALUES (?, ?, ?, ?)",
                (new.form, new.idempotency_key, reference, now),
            )
        return SaveResult(reference, created=True)

    def _insert_submission(
        self, c: sqlite3.Connection, new: NewSubmission, data: str, now: str
    ) -> str:
        for _ in range(_REFERENCE_TRIES):
            reference = base.new_reference(new.reference_prefix)
            inserted = c.execute(
                "INSERT INTO submissions"
                " (reference, form, form_version, locale, data, spam, client, submitted_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING",
                (
                    reference,
                    new.form,
                    new.form_version,
                    new.locale,
                    data,
                    int(new.spam),
                    new.client,
                    now,
                ),
            ).rowcount
            if inserted == 1:
                return reference
        raise StoreUnavailable(
            self._message(
                f"no free reference for prefix {new.reference_prefix} after "
                f"{_REFERENCE_TRIES} tries; the random source repeats itself"
            )
        )

    def _get(self, c: sqlite3.Connection, reference: str) -> StoredSubmission | None:
        with _transaction(c, "DEFERRED"):  # one snapshot for both reads
            return queries.read_submission(c, reference)

    def _count(self, c: sqlite3.Connection, form: str | None, spam: bool | None) -> int:
        row = c.execute(
            "SELECT count(*) FROM submissions"
            " WHERE (:form IS NULL OR form = :form) AND (:spam IS NULL OR spam = :spam)",
            {"form": form, "spam": None if spam is None else int(spam)},
        ).fetchone()
        return int(row[0])

    def _check(self, c: sqlite3.Connection) -> None:
        # user_version is read from the file's header, so this touches the
        # disk and proves the schema is still this release's.
        version = _user_version(c)
        if version != SCHEMA_VERSION:
            raise StoreUnavailable(
                self._message(f"its schema version is now {version}, not {SCHEMA_VERSION}")
            )

    def _stat(self) -> tuple[int, int] | None:
        """The file's (device, inode), or None when it is gone."""
        try:
            info = os.stat(self.database)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailable(self._message(f"it cannot be looked at ({exc})")) from exc
        return info.st_dev, info.st_ino

    # -- messages -----------------------------------------------------------

    def _message(self, problem: str) -> str:
        return f"the submission store {self.database} is unavailable: {problem}"

    def _closed(self) -> StoreUnavailable:
        return StoreUnavailable(self._message("the store is not open; call await store.open()"))

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        """What went wrong, in words that say what to do about it."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        folder = os.path.dirname(self.database) or "."
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            problem = (
                f"another connection kept it locked for more than {self.busy_timeout:g} s; "
                "retry, look for a process holding a long transaction (an open sqlite3 "
                "shell?), or raise the wait with ?timeout=SECONDS in INTAKE_STORE"
            )
        elif name.startswith("SQLITE_READONLY") and self.read_only:
            problem = "it was opened read-only (mode=ro in INTAKE_STORE); drop mode=ro to write"
        elif name.startswith("SQLITE_READONLY"):
            problem = (
                "it is read-only; let the service's user write the file and its folder "
                f"{folder} (SQLite keeps -wal and -shm files beside it)"
            )
        elif name.startswith("SQLITE_CANTOPEN"):
            problem = (
                f"it cannot be opened; check that the folder {folder} exists and that "
                "the service's user may create and write files in it"
            )
        elif name == "SQLITE_FULL":
            problem = f"the disk holding {folder} is full; free some space there"
        elif name == "SQLITE_NOTADB":
            problem = "the file is not a SQLite database; point INTAKE_STORE at another file"
        elif name.startswith("SQLITE_CORRUPT"):
            problem = (
                "the database is damaged; stop the service, keep a copy of the file, "
                "and rescue it with the sqlite3 shell's .recover command"
            )
        elif name.startswith("SQLITE_IOERR"):
            problem = "reading or writing the disk failed; check the disk and its filesystem"
        else:
            problem = "the database failed"
        return StoreUnavailable(self._message(f"{problem} (SQLite: {exc})"))


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):  # also refuses nan
        raise IntakeError(f"INTAKE_STORE: timeout={text!r} is not a number of seconds")
    return seconds


def _user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])
