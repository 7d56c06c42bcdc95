"""The ``Store`` protocol: what every backend does, and promises.

:class:`~intakeforms.store.engine.SqlStore` implements it once for SQL
databases; ``sqlite.py`` and ``postgres.py`` say how it reaches each one.
A delivered confirmation to a customer (the ``autoreply`` job) also records
whom it went to, as :func:`~intakeforms.store.checks.recipient_hash`, so
that the worker can cap how many confirmations one address gets a day
(:meth:`Store.count_autoreplies`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from intakeforms.store.inbox import InboxPage, InboxQuery
from intakeforms.store.records import (
    ClaimedJob,
    ContactQuery,
    DraftRecord,
    EarlierContact,
    EventRecord,
    FaqCounts,
    FaqSearchRecord,
    NewSubmission,
    OutboxJob,
    PurgeResult,
    SaveResult,
    SpamEntry,
    StoredSubmission,
)
from intakeforms.store.rollups import Tally
from intakeforms.store.staff import AdminLogEntry, StaffAccount, StaffSession

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """Durable storage of submissions and their outbox, one backend per URL.

    Every method raises :class:`~intakeforms.errors.StoreUnavailable` when
    the database fails; such a call has stored nothing.
    """

    async def open(self) -> None:
        """Connect and create the tables if missing; safe to call again."""

    async def close(self) -> None:
        """Finish running work and disconnect; safe to call again."""

    async def __aenter__(self) -> Self:
        """``async with store:`` opens it, and closes it at the end."""

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""

    async def save(self, submission: NewSubmission) -> SaveResult:
        """Store a submission, its files and outbox jobs in one transaction;
        text no store can keep raises ``UnstorableSubmission`` (that save only)."""

    async def get(self, reference: str) -> StoredSubmission | None:
        """The submission with this reference, or None."""

    async def outbox(self, reference: str) -> list[OutboxJob]:
        """The outbox jobs of one submission, oldest first."""

    async def count(self, form: str | None = None, spam: bool | None = None) -> int:
        """How many submissions are stored, of one form and/or spam flag."""

    async def check(self) -> None:
        """A cheap write proving the store can be written now (for ``/healthz``)."""

    # -- the delivery worker's side of the outbox --------------------------------

    async def claim(
        self,
        worker: str,
        *,
        limit: int,
        lease_seconds: float,
        now: dt.datetime | None = None,
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs for ``worker``, oldest job first.

        Due means ``pending`` with ``next_attempt_at <= now``, or ``claimed``
        with a lease that ran out (its worker is taken to have crashed).
        Each is marked ``claimed`` by ``worker`` until ``now + lease_seconds``
        with one more attempt. No two claims, from any process, get one job.
        ``now`` defaults to the store's clock.
        """

    async def complete(self, job_id: int, *, worker: str, receipt: str | None) -> OutboxJob:
        """Mark a claimed job ``delivered``, keeping the target's ``receipt``.

        Raises :class:`~intakeforms.errors.LeaseLost` (changing nothing) when
        ``worker`` no longer holds the job.
        """

    async def complete_autoreply(
        self, job_id: int, *, worker: str, receipt: str | None, recipient: str
    ) -> OutboxJob:
        """Like :meth:`complete`, and record that the mail went to ``recipient``.

        The address is kept only as :func:`recipient_hash`, for
        :meth:`count_autoreplies`. Raises
        :class:`~intakeforms.errors.LeaseLost` like :meth:`complete`.
        """

    async def count_autoreplies(self, address: str, since: dt.datetime) -> int:
        """How many jobs completed by :meth:`complete_autoreply` went to
        ``address`` (compared as :func:`recipient_hash`) at ``since`` or later."""

    async def retry_later(
        self, job_id: int, *, worker: str, error: str, at: dt.datetime
    ) -> OutboxJob:
        """Put a claimed job back to ``pending``, due ``at``, with ``error``.

        Raises :class:`~intakeforms.errors.LeaseLost` like :meth:`complete`.
        """

    async def dead_letter(self, job_id: int, *, worker: str, error: str) -> OutboxJob:
        """Give up on a claimed job: ``dead``, with ``error`` as the reason.

        Raises :class:`~intakeforms.errors.LeaseLost` like :meth:`complete`.
        """

    # -- operators (``intakeforms outbox list|show|retry``) ----------------------

    async def jobs(self, *, status: str | None = None, limit: int = 100) -> list[OutboxJob]:
        """Up to ``limit`` jobs, newest first, optionally of one ``status``."""

    async def job(self, job_id: int) -> OutboxJob | None:
        """The job with this id, or None."""

    async def requeue(self, job_id: int) -> bool:
        """Send a ``dead`` or ``pending`` job again now, with fresh attempts.

        The job becomes ``pending``, due now, with ``attempts`` 0;
        ``last_error`` is kept until the next attempt replaces it. Returns
        False, changing nothing, when there is no such job or it is
        ``claimed`` (being delivered) or ``delivered``.
        """

    async def counts(self) -> dict[str, int]:
        """Jobs in each of :data:`JOB_STATUSES`; ``dead`` omits those an erasure stopped."""

    async def oldest_pending(self) -> dt.datetime | None:
        """When the oldest ``pending`` job was created, or None (for metrics)."""

    # -- spam review (``intakeforms spam list|release|delete``) -----------------

    async def spam_list(self, *, form: str | None = None, limit: int = 100) -> list[SpamEntry]:
        """Up to ``limit`` quarantined submissions, newest first, of one form or all."""

    async def release(self, reference: str, targets: Sequence[str]) -> bool:
        """Accept a quarantined submission after all: in one transaction it is
        no longer spam and gets one ``pending`` job per name in ``targets``,
        due now, exactly as if it had been accepted. False, changing nothing,
        when there is no spam submission with this reference."""

    async def delete_spam(self, reference: str) -> StoredSubmission | None:
        """Delete a quarantined submission for good, with its files' rows;
        returns it as it was (the caller removes its uploads), or None,
        changing nothing, when there is no spam submission with this reference
        (a submission that is not spam is never deleted this way)."""

    # -- privacy (``intakeforms export|erase|purge``) --------------------------

    async def erase(self, reference: str) -> StoredSubmission | None:
        """Erase the answers of one submission for good; returns it as it was
        before (the caller removes its uploads), or None when there is no such
        reference. Its ``data`` becomes empty, its files' rows, client address
        and idempotency key are removed, every outbox job loses its receipt
        and error, and a job not yet delivered goes to ``dead`` with the
        error ``erased`` (nothing is sent after an erasure). Reference, form,
        locale, dates and ``erased_at`` stay. No erased text stays readable in
        the database files. Erasing an erased submission changes nothing."""

    async def purge(
        self,
        *,
        delivered_before: dt.datetime | None,
        spam_before: dt.datetime,
        clients_before: dt.datetime,
        faq_queries_before: dt.datetime | None = None,
        events_before: dt.datetime | None = None,
    ) -> PurgeResult:
        """Apply the retention rules at once: erase (as :meth:`erase`) every
        submission submitted before ``delivered_before`` whose jobs are all
        delivered (None: keep all); delete spam submitted before
        ``spam_before``; forget the client address of submissions submitted
        before ``clients_before``; blank the query text of FAQ searches made
        before ``faq_queries_before`` (None: keep it), keeping their counts;
        delete the visitor events that happened before ``events_before``
        (None: keep them); delete the drafts expired by the store's clock."""

    # -- the staff's inbox (see ``inbox.py``) -------------------------------------

    async def find_submissions(self, query: InboxQuery) -> InboxPage:
        """One page of the submissions ``query`` asks for (reference or its
        beginning, form, time, spam), newest first, without answers."""

    async def get_many(self, references: Sequence[str]) -> list[StoredSubmission]:
        """The submissions with these references, in that order (missing
        ones left out), with answers and files."""

    # -- visitor events (see ``events.py``) --------------------------------------

    async def save_events(self, events: Sequence[EventRecord]) -> int:
        """Keep a batch of visitor events in one transaction; how many.
        ``ValueError``, storing none, for a caller's mistake in any."""

    async def events_of(
        self, form: str, since: dt.datetime, until: dt.datetime
    ) -> list[EventRecord]:
        """The raw events of ``form`` in [since, until), oldest first."""

    # -- the statistics' counts and daily rollups (see ``rollups.py``) -----------

    async def count_visits(self, form: str, day: dt.date, questions: Sequence[str]) -> Tally:
        """The visits of ``form`` that began on the UTC ``day``, counted from
        the raw events; ``questions`` (the form's, in order) give each
        visit's furthest question."""

    async def save_rollup(
        self, form: str, day: dt.date, tally: Tally, *, at: dt.datetime | None = None
    ) -> bool:
        """Keep ``tally`` for good as the counts of ``form`` on ``day``; False,
        keeping nothing, when the day is rolled already."""

    async def rolled_days(self, form: str, first: dt.date, last: dt.date) -> frozenset[dt.date]:
        """Which days of ``form`` from ``first`` to ``last`` (inclusive) are rolled."""

    async def read_rollups(self, form: str, first: dt.date, last: dt.date) -> Tally:
        """The sums of the rolled days of ``form`` from ``first`` to ``last``."""

    async def first_event_day(self, form: str) -> dt.date | None:
        """The UTC day of the oldest raw event of ``form`` still kept, or None."""

    # -- FAQ searches (see ``faq.py``) ------------------------------------------

    async def save_faq_search(self, record: FaqSearchRecord) -> None:
        """Keep one FAQ search; ``ValueError`` for a caller's mistake (a bad
        or taken id, a query over 200 characters, a naive time)."""

    async def faq_search(self, search_id: str) -> FaqSearchRecord | None:
        """The FAQ search with this id, or None."""

    async def save_faq_event(
        self, search_id: str, entry: str | None, event: str, at: dt.datetime
    ) -> bool:
        """Record ``opened``, ``helpful``, ``not_helpful`` or ``continued``
        (``ValueError`` for another) about one result ``entry`` of a search
        (None only for ``continued``); False, storing nothing, when there is
        no such search."""

    async def faq_gaps(
        self,
        since: dt.datetime,
        limit: int = 20,
        *,
        form: str | None = None,
        until: dt.datetime | None = None,
    ) -> list[tuple[str, int]]:
        """The queries since ``since`` (and before ``until``, before one
        ``form``, when given) that had no results, normalised and counted,
        most frequent first (then by text), up to ``limit``."""

    async def faq_deflected(
        self, since: dt.datetime, until: dt.datetime, form: str | None = None
    ) -> int:
        """The FAQ searches made in [since, until), before one form or all,
        marked helpful and never continued."""

    async def faq_counts(
        self, since: dt.datetime, until: dt.datetime, form: str | None = None
    ) -> FaqCounts:
        """What came of the FAQ searches made in [since, until), before one
        form or all."""

    # -- single-use links (see ``links.py``) -------------------------------------

    async def record_link_use(
        self, jti: str, form: str, reference: str, at: dt.datetime
    ) -> str | None:
        """Record the first use of the single-use link ``jti`` (for the
        submission ``reference`` of ``form``); None when recorded now, else
        the reference of its first use, unchanged."""

    async def link_use(self, jti: str) -> str | None:
        """The reference the single-use link ``jti`` was first used for, or None."""

    # -- drafts (see ``drafts.py``) ----------------------------------------------

    async def save_draft(self, record: DraftRecord) -> None:
        """Keep a draft until it expires (7 days at most), replacing one with
        the same id; ``ValueError`` for a caller's mistake."""

    async def get_draft(self, draft_id: str) -> DraftRecord | None:
        """The draft with this id, or None (also when it has expired)."""

    async def delete_draft(self, draft_id: str) -> bool:
        """Delete a draft; whether there was one. Saving a submission with
        ``NewSubmission.draft`` deletes that draft in the same transaction."""

    async def claim_draft_mails(
        self,
        limit: int,
        *,
        lease_seconds: float = 300.0,
        now: dt.datetime | None = None,
    ) -> list[DraftRecord]:
        """Up to ``limit`` unexpired drafts whose mail is not sent, oldest
        first, each held for ``lease_seconds`` from other claims; a few
        tries each at most."""

    async def mark_draft_mail_sent(self, draft_id: str, at: dt.datetime) -> bool:
        """Record that the draft's mail went at ``at``; False when there is no
        such draft."""

    async def drafts_of(self, email: str) -> list[DraftRecord]:
        """Every stored draft of an address (case-insensitive), oldest first."""

    async def erase_drafts(self, email: str) -> int:
        """Delete every draft of an address (case-insensitive) for good; how many."""

    # -- earlier contacts (see ``contacts.py``) ----------------------------------

    async def earlier_contacts(
        self,
        keys: Sequence[str],
        *,
        before_reference: str | None,
        since: dt.datetime,
        limit: int = 10,
    ) -> list[EarlierContact]:
        """The other submissions holding one of the contact ``keys``, from
        ``since`` to the time of ``before_reference`` (None: now), not spam,
        newest first."""

    async def earlier_contacts_many(
        self, queries: Sequence[ContactQuery], *, limit: int = 10
    ) -> list[list[EarlierContact]]:
        """``earlier_contacts`` of several submissions in one read, each from
        its ``since`` to its ``until``, leaving itself out."""

    async def contact_keys_of(self, reference: str) -> tuple[str, ...]:
        """The contact keys a submission keeps (none once erased)."""

    # -- staff accounts, sessions and the admin log (see ``staff.py``) ----------

    async def add_staff(self, name: str, password_hash: str) -> bool:
        """Add a staff account (the caller hashes the password with argon2);
        False when the name is taken."""

    async def remove_staff(self, name: str) -> bool:
        """Remove a staff account and end its sessions; whether it was there."""

    async def staff_account(self, name: str) -> StaffAccount | None:
        """The staff account called ``name``, or None."""

    async def staff_accounts(self) -> list[StaffAccount]:
        """Every staff account, by name."""

    async def set_staff_password(self, name: str, password_hash: str) -> bool:
        """Replace an account's password hash; whether there is such an account."""

    async def start_staff_session(self, token: str, name: str, csrf: str) -> StaffSession | None:
        """Start a session of ``name`` under ``token`` (kept only as its
        SHA-256); None when there is no such account."""

    async def staff_session(self, token: str) -> StaffSession | None:
        """The live session under ``token`` (its idle end moved on), or None
        when it never was, ended, expired or lost its account. Every process
        on the same database sees the same sessions."""

    async def end_staff_session(self, token: str) -> bool:
        """End the session under ``token``; whether there was one."""

    async def log_admin_action(
        self, staff: str, action: str, target: str | None = None, detail: str | None = None
    ) -> None:
        """Keep for good that ``staff`` did ``action`` now, on ``target``
        (a reference or form id); never a customer's data."""

    async def admin_log(self, limit: int = 100) -> list[AdminLogEntry]:
        """The newest ``limit`` entries of the admin log, newest first."""

    # -- shared rate limits -----------------------------------------------------

    async def hit_rate(self, key: str, limit: int, period: float) -> float:
        """Count one request under ``key``; 0.0 when it is within ``limit``
        per ``period`` seconds, else the seconds to wait. Every process on the
        same database counts together. ``key`` holds no personal data (the
        caller hashes the client address into it)."""
