"""The SQLite store: one file, WAL mode, safe with several processes.

Each store holds one connection and runs every call on a worker thread, one
call at a time (a capacity limiter of one), so the event loop never waits for
the disk and the connection is never used by two threads at once. Several
stores (or processes) on one file share it through SQLite's own locking:
in WAL mode readers never block, and writers queue for up to the busy timeout.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread

from intakeforms.errors import SettingsError, StoreUnavailable
from intakeforms.store import base, rate
from intakeforms.store import sqlite_privacy as privacy
from intakeforms.store import sqlite_queries as queries
from intakeforms.store.base import (
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    PurgeResult,
    SaveResult,
    SpamEntry,
    StoredSubmission,
)
from intakeforms.store.sqlite_connection import MEMORY, Connection, user_version
from intakeforms.store.sqlite_errors import worth_saving_alone
from intakeforms.store.sqlite_queries import transaction as _transaction
from intakeforms.store.sqlite_save import Waiting, row_error, save_batch
from intakeforms.store.sqlite_schema import SCHEMA_VERSION, timestamp
from intakeforms.store.storable import check_targets, encode_data

__all__ = ["DEFAULT_BUSY_TIMEOUT", "SqliteStore"]

#: Seconds a write waits for another connection's write to finish.
DEFAULT_BUSY_TIMEOUT = 5.0

_T = TypeVar("_T")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        self._opened = False
        self._file = Connection(self.database, read_only=read_only, busy_timeout=busy_timeout)
        self._limiter: anyio.CapacityLimiter | None = None
        self._waiting: list[Waiting] = []
        self._committing = False
        self._drained: anyio.Event | None = None
        self._swept = -math.inf

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

    # -- the Store protocol -------------------------------------------------

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
        """Prove the store can be written, not only read: take the write lock
        and commit a one-row change (the file does not grow). Raises when it
        cannot, or when the schema is not this release's. A read-only store
        is only read."""
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
        """A dead or pending job due again now with fresh attempts; False if
        not, or when its submission was erased."""
        now = self._clock()
        return await self._run(lambda c: queries.requeue(c, job_id, now))

    async def counts(self) -> dict[str, int]:
        """How many jobs are in each state (every state, 0 when none)."""
        return await self._run(queries.counts)

    async def oldest_pending(self) -> dt.datetime | None:
        """When the oldest pending job was created, or None."""
        return await self._run(queries.oldest_pending)

    # -- spam review and privacy (see the Store protocol, and sqlite_privacy) ----

    async def spam_list(self, *, form: str | None = None, limit: int = 100) -> list[SpamEntry]:
        """Up to ``limit`` quarantined submissions, newest first; erased ones
        are left out (there is nothing left to review)."""
        base.check_listing(None, limit)
        return await self._run(lambda c: privacy.spam_list(c, form, limit))

    async def release(self, reference: str, targets: Sequence[str]) -> bool:
        """No longer spam, with a pending job per target; False when there is
        no quarantined (and not erased) submission with this reference."""
        check_targets(targets)
        now = self._clock()
        return await self._run(lambda c: privacy.release(c, reference, targets, now))

    async def delete_spam(self, reference: str) -> StoredSubmission | None:
        """Delete a quarantined submission for good; it as it was, or None."""

        def delete(c: sqlite3.Connection) -> StoredSubmission | None:
            found = privacy.delete_spam(c, reference)
            if found is not None:
                privacy.forget(c, self.database)
            return found

        return await self._run(delete)

    async def erase(self, reference: str) -> StoredSubmission | None:
        """Erase the answers of one submission; it as it was before, or None.

        Freed space is zeroed (``secure_delete``) and the WAL checkpointed
        and emptied, so the erased text is in none of the files."""
        now = self._clock()

        def erase(c: sqlite3.Connection) -> StoredSubmission | None:
            found = privacy.erase(c, reference, now)
            if found is not None and not found.erased:
                privacy.forget(c, self.database)
            return found

        return await self._run(erase)

    async def purge(
        self,
        *,
        delivered_before: dt.datetime | None,
        spam_before: dt.datetime,
        clients_before: dt.datetime,
    ) -> PurgeResult:
        """Apply the retention rules at once (see the Store protocol), a
        chunk of submissions per transaction so that saves are not held up."""
        delivered = (
            None
            if delivered_before is None
            else base.check_moment("delivered_before", delivered_before)
        )
        spam = base.check_moment("spam_before", spam_before)
        clients = base.check_moment("clients_before", clients_before)
        now = self._clock()
        erased = deleted = cleared = 0
        files: list[base.StoredFile] = []
        more = True
        while more:
            step, more = await self._run(
                lambda c: privacy.purge_step(c, delivered, spam, clients, now)
            )
            erased += step.erased
            deleted += step.deleted_spam
            cleared += step.clients_cleared
            files += step.files
        # Always: it also empties a WAL an earlier erasure could not (a reader).
        await self._run(lambda c: privacy.forget(c, self.database))
        return PurgeResult(erased, deleted, cleared, tuple(files))

    async def hit_rate(self, key: str, limit: int, period: float) -> float:
        """Count one request under ``key``; 0.0 within ``limit`` per
        ``period`` seconds, else the seconds to wait (see ``rate.py``)."""
        hit = rate.Hit.at(key, limit, period, self._clock())
        sweep = time.monotonic() - self._swept >= rate.SWEEP_EVERY
        if sweep:
            self._swept = time.monotonic()
        row = await self._run(lambda c: queries.hit(c, hit, sweep))
        return rate.wait(hit, *row)

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

    def _save_batch(self, c: sqlite3.Connection, batch: list[Waiting]) -> None:
        save_batch(c, batch, timestamp(self._clock()), self.database, self._unavailable)

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
        if self.read_only:
            version = user_version(c)  # from the file's header: it touches the disk
        else:
            version = queries.probe(c, self._clock(), SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise StoreUnavailable(
                self._message(f"its schema version is now {version}, not {SCHEMA_VERSION}")
            )

    # -- messages -----------------------------------------------------------

    def _message(self, problem: str) -> str:
        return self._file.message(problem)

    def _closed(self) -> StoreUnavailable:
        return StoreUnavailable(self._message("the store is not open; call await store.open()"))

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
