"""The ``Store`` protocol's methods, written once for every SQL database.

:class:`SqlStore` checks the caller's arguments, takes the time, and runs
the shared operations (``submissions.py``, ``outbox.py``, ``privacy.py``;
a feature's own methods and operations in ``faq.py``, ``links.py``,
``drafts.py`` and ``contacts.py``)
on a :class:`~intakeforms.store.dialect.Session`. A backend subclass says
how an operation reaches its database, in :meth:`SqlStore._read` and
:meth:`SqlStore._write`, and how it opens and closes: ``sqlite.py`` runs
operations on one thread with one connection (and commits saves in
groups), ``postgres.py`` on a pool of connections.
"""

from __future__ import annotations

import abc
import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self, TypeVar

from intakeforms.errors import StoreUnavailable
from intakeforms.store import outbox, privacy, rate, submissions
from intakeforms.store.checks import (
    check_claim,
    check_listing,
    check_moment,
    check_recipient,
    check_worker,
    clean_note,
    recipient_hash,
)
from intakeforms.store.contacts import ContactMethods
from intakeforms.store.dialect import Session, Work, message
from intakeforms.store.drafts import DraftMethods
from intakeforms.store.events import EventMethods
from intakeforms.store.faq import FaqMethods
from intakeforms.store.inbox import InboxMethods
from intakeforms.store.links import LinkMethods
from intakeforms.store.records import (
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    PurgeResult,
    SaveResult,
    SpamEntry,
    StoredFile,
    StoredSubmission,
)
from intakeforms.store.rollups import RollupMethods
from intakeforms.store.staff import StaffMethods
from intakeforms.store.storable import check_targets, encode_data

__all__ = ["SqlStore", "utc_now"]

_T = TypeVar("_T")


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC: every store's default clock."""
    return dt.datetime.now(dt.UTC)


class SqlStore(
    FaqMethods,
    LinkMethods,
    DraftMethods,
    ContactMethods,
    EventMethods,
    RollupMethods,
    InboxMethods,
    StaffMethods,
    abc.ABC,
):
    """A :class:`~intakeforms.store.Store` in a SQL database.

    ``database`` names it in messages (never with a password); ``_clock``
    gives the current time (tests pass their own). The FAQ, single-use
    link, draft, earlier-contact and event methods are those of
    :class:`~intakeforms.store.faq.FaqMethods`,
    :class:`~intakeforms.store.links.LinkMethods`,
    :class:`~intakeforms.store.drafts.DraftMethods`,
    :class:`~intakeforms.store.contacts.ContactMethods` and
    :class:`~intakeforms.store.events.EventMethods`.
    """

    database: str
    _clock: Callable[[], dt.datetime]
    # When this store last swept expired rate counts (time.monotonic()).
    _swept: float = -math.inf

    # -- how operations reach the database: the backend's part ---------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create or upgrade the tables; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Let calls under way finish, then disconnect; idempotent."""

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing that matters (so it may be
        tried again on a fresh connection); driver errors become
        ``StoreUnavailable``."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice and never cut in half (a
        cancelled caller does not learn the outcome); driver errors become
        ``StoreUnavailable``."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- submissions -------------------------------------------------------------

    async def save(self, submission: NewSubmission) -> SaveResult:
        """Store the submission, its files, outbox jobs and idempotency key.

        All in one transaction: after a return the submission is committed,
        after :class:`~intakeforms.errors.StoreUnavailable` nothing of it is.
        Text no store can keep (a NUL character, a lone surrogate) raises
        :class:`~intakeforms.store.UnstorableSubmission` naming the field,
        and ``data`` that is not JSON ``TypeError``, before any database
        work. Of two saves racing with one idempotency key, the second
        returns the first one's reference.
        """
        data = encode_data(submission)
        now = self._clock()
        return await self._write(lambda s: submissions.save(s, submission, data, now))

    async def get(self, reference: str) -> StoredSubmission | None:
        """The submission with this exact reference, or None."""
        return await self._read(lambda s: submissions.get(s, reference))

    async def count(self, form: str | None = None, spam: bool | None = None) -> int:
        """How many submissions are stored, optionally of one form or spam flag."""
        return await self._read(lambda s: submissions.count(s, form, spam))

    async def check(self) -> None:
        """Prove the store can be written, not only read (see the dialect's
        ``probe``). Raises when it cannot, or when the schema is not this
        release's."""
        now = self._clock()

        async def probe(s: Session) -> tuple[int, int]:
            return await s.probe(now), s.schema_version

        version, expected = await self._read(probe)
        if version != expected:
            raise StoreUnavailable(
                self._message(f"its schema version is now {version}, not {expected}")
            )

    # -- the outbox jobs (see the Store protocol for the contract) ---------------

    async def outbox(self, reference: str) -> list[OutboxJob]:
        """The outbox jobs of one submission, in the order they were made."""
        return await self._read(lambda s: outbox.jobs_of(s, reference))

    async def claim(
        self,
        worker: str,
        *,
        limit: int,
        lease_seconds: float,
        now: dt.datetime | None = None,
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs for ``worker``, oldest job first; no
        two claimers, in any process, get one job."""
        check_claim(worker, limit, lease_seconds)
        moment = self._clock() if now is None else check_moment("now", now)
        until = moment + dt.timedelta(seconds=lease_seconds)
        return await self._write(lambda s: outbox.claim(s, worker, limit, moment, until))

    async def complete(self, job_id: int, *, worker: str, receipt: str | None) -> OutboxJob:
        """Mark a job ``worker`` holds as delivered; else raise ``LeaseLost``."""
        check_worker(worker)
        values = {"receipt": _note(receipt)}
        return await self._finish(outbox.COMPLETE, job_id, worker, values, delivered=True)

    async def complete_autoreply(
        self, job_id: int, *, worker: str, receipt: str | None, recipient: str
    ) -> OutboxJob:
        """Like :meth:`complete`, recording the recipient's hash for the daily cap."""
        check_worker(worker)
        check_recipient(recipient)
        values = {"receipt": _note(receipt), "recipient": recipient_hash(recipient)}
        return await self._finish(outbox.COMPLETE_AUTOREPLY, job_id, worker, values, delivered=True)

    async def count_autoreplies(self, address: str, since: dt.datetime) -> int:
        """Confirmations delivered to ``address`` at ``since`` or later."""
        check_recipient(address)
        key = recipient_hash(address)
        moment = check_moment("since", since)
        return await self._read(lambda s: outbox.count_autoreplies(s, key, moment))

    async def retry_later(
        self, job_id: int, *, worker: str, error: str, at: dt.datetime
    ) -> OutboxJob:
        """Make a job ``worker`` holds pending again, due ``at``; else ``LeaseLost``."""
        check_worker(worker)
        values = {"at": check_moment("at", at), "error": clean_note(error)}
        return await self._finish(outbox.RETRY_LATER, job_id, worker, values)

    async def dead_letter(self, job_id: int, *, worker: str, error: str) -> OutboxJob:
        """Give up on a job ``worker`` holds, with the reason; else ``LeaseLost``."""
        check_worker(worker)
        values = {"error": clean_note(error)}
        return await self._finish(outbox.DEAD_LETTER, job_id, worker, values)

    async def _finish(
        self,
        statement: str,
        job_id: int,
        worker: str,
        values: Mapping[str, object],
        *,
        delivered: bool = False,
    ) -> OutboxJob:
        now = {**values, "now": self._clock()}
        return await self._write(
            lambda s: outbox.finish(s, statement, job_id, worker, now, delivered=delivered)
        )

    async def jobs(self, *, status: str | None = None, limit: int = 100) -> list[OutboxJob]:
        """Up to ``limit`` jobs, newest first, optionally of one ``status``."""
        check_listing(status, limit)
        return await self._read(lambda s: outbox.list_jobs(s, status, limit))

    async def job(self, job_id: int) -> OutboxJob | None:
        """The job with this id, or None."""
        return await self._read(lambda s: outbox.read_job(s, job_id))

    async def requeue(self, job_id: int) -> bool:
        """A dead or pending job due again now with fresh attempts; False if
        not, or when its submission was erased."""
        now = self._clock()
        return await self._write(lambda s: outbox.requeue(s, job_id, now))

    async def counts(self) -> dict[str, int]:
        """How many jobs are in each state (every state, 0 when none)."""
        return await self._read(outbox.counts)

    async def oldest_pending(self) -> dt.datetime | None:
        """When the oldest pending job was created, or None."""
        return await self._read(outbox.oldest_pending)

    # -- spam review and privacy (see the Store protocol, and privacy.py) --------

    async def spam_list(self, *, form: str | None = None, limit: int = 100) -> list[SpamEntry]:
        """Up to ``limit`` quarantined submissions, newest first; erased ones
        are left out (there is nothing left to review)."""
        check_listing(None, limit)
        return await self._read(lambda s: privacy.spam_list(s, form, limit))

    async def release(self, reference: str, targets: Sequence[str]) -> bool:
        """No longer spam, with a pending job per target; False when there is
        no quarantined (and not erased) submission with this reference."""
        check_targets(targets)
        now = self._clock()
        return await self._write(lambda s: privacy.release(s, reference, targets, now))

    async def delete_spam(self, reference: str) -> StoredSubmission | None:
        """Delete a quarantined submission for good; it as it was, or None."""
        return await self._write(lambda s: privacy.delete_spam(s, reference))

    async def erase(self, reference: str) -> StoredSubmission | None:
        """Erase the answers of one submission; it as it was before, or None.
        What is left of the erased text in the files is then removed as far
        as the database allows (see docs/store.md)."""
        now = self._clock()
        return await self._write(lambda s: privacy.erase(s, reference, now))

    async def purge(
        self,
        *,
        delivered_before: dt.datetime | None,
        spam_before: dt.datetime,
        clients_before: dt.datetime,
        faq_queries_before: dt.datetime | None = None,
        events_before: dt.datetime | None = None,
    ) -> PurgeResult:
        """Apply the retention rules at once (see the Store protocol), a
        chunk of submissions per transaction so that saves are not held up."""
        delivered = (
            None if delivered_before is None else check_moment("delivered_before", delivered_before)
        )
        spam = check_moment("spam_before", spam_before)
        clients = check_moment("clients_before", clients_before)
        queries = (
            None
            if faq_queries_before is None
            else check_moment("faq_queries_before", faq_queries_before)
        )
        events = None if events_before is None else check_moment("events_before", events_before)
        cutoffs = privacy.PurgeCutoffs(delivered, spam, clients, queries, events)
        now = self._clock()
        erased = deleted = cleared = blanked = drafts = gone = 0
        files: list[StoredFile] = []
        more = True
        while more:
            step, more = await self._write(lambda s: privacy.purge_step(s, cutoffs, now))
            erased += step.erased
            deleted += step.deleted_spam
            cleared += step.clients_cleared
            blanked += step.faq_queries_blanked
            drafts += step.drafts_deleted
            gone += step.events_deleted
            files += step.files
        done = PurgeResult(erased, deleted, cleared, tuple(files), blanked, drafts, gone)
        await self._write(lambda s: privacy.after_purge(s, done))
        return done

    # -- shared rate limits -----------------------------------------------------

    async def hit_rate(self, key: str, limit: int, period: float) -> float:
        """Count one request under ``key``; 0.0 within ``limit`` per
        ``period`` seconds, else the seconds to wait (see ``rate.py``)."""
        hit = rate.Hit.at(key, limit, period, self._clock())
        sweep = time.monotonic() - self._swept >= rate.SWEEP_EVERY
        if sweep:
            self._swept = time.monotonic()
        row = await self._write(lambda s: s.hit(hit, sweep))
        return rate.wait(hit, *row)

    # -- messages -----------------------------------------------------------------

    def _message(self, problem: str) -> str:
        return message(self.database, problem)

    def _closed(self) -> StoreUnavailable:
        return StoreUnavailable(self._message("the store is not open; call await store.open()"))


def _note(receipt: str | None) -> str | None:
    return None if receipt is None else clean_note(receipt)
