"""What every store keeps and returns, the ``Store`` protocol, and references.

A backend (``sqlite.py``, ``postgres.py``) implements :class:`Store`; callers
only ever see these records, so switching backends changes no caller.

An outbox job moves through these states::

    pending ──claim──▶ claimed ──complete──▶ delivered
       ▲                  │ │
       └──retry_later─────┘ └──dead_letter──▶ dead
       ▲                                        │
       └────────────requeue (an operator)───────┘

A ``claimed`` job whose lease ran out (its worker crashed or hung) is due
again: the next ``claim`` takes it over, and the old worker can no longer
report on it (:class:`~intakeforms.errors.LeaseLost`).

A delivered confirmation to a customer (the ``autoreply`` job) also records
whom it went to, as :func:`recipient_hash`, so that the worker can cap how
many confirmations one address gets a day (:meth:`Store.count_autoreplies`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "JOB_STATUSES",
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "ClaimedJob",
    "NewSubmission",
    "OutboxJob",
    "PurgeResult",
    "SaveResult",
    "SpamEntry",
    "Store",
    "StoredFile",
    "StoredSubmission",
    "job_from_row",
    "new_reference",
    "new_worker_id",
]

#: Every state an outbox job can be in, in the order a job goes through them.
JOB_STATUSES = ("pending", "claimed", "delivered", "dead")

#: Crockford's base32 digits: no I, L, O or U, so a reference read aloud over
#: the phone or copied by hand cannot be mistaken for another one.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: 32**6 ≈ 1.07 billion references per prefix: short enough to read out,
#: sparse enough that guessing one is hopeless and collisions are rare.
REFERENCE_LENGTH = 6

# The same rule as the form language's ``reference_prefix``.
_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")


def new_reference(prefix: str) -> str:
    """A fresh random reference like ``CAR-4F7K2Q``.

    The characters come from :mod:`secrets`, so references cannot be
    predicted from earlier ones. Uniqueness is the store's job: it retries on
    the rare collision.
    """
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{prefix}-{body}"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One uploaded file of a submission, whose bytes the web layer has saved.

    ``path`` is where the bytes are, relative to the upload folder; the store
    records it and never reads or deletes the file.
    """

    field: str
    name: str
    content_type: str
    size: int
    path: str


@dataclass(frozen=True, slots=True)
class NewSubmission:
    """A validated submission to store, with where it must be delivered.

    ``data`` holds the normalised answers and must be JSON-able. ``targets``
    names one outbox job per delivery target (like ``email:0``); a ``spam``
    submission is kept for review but gets no jobs. ``idempotency_key`` is
    scoped to the form. ``data`` and ``client`` stay out of ``repr`` so that
    logging a submission writes no personal data.
    """

    form: str
    form_version: str
    reference_prefix: str
    locale: str
    data: Mapping[str, Any] = field(repr=False)
    files: Sequence[StoredFile] = ()
    targets: Sequence[str] = ()
    spam: bool = False
    idempotency_key: str | None = None
    client: str | None = field(default=None, repr=False)
    #: Why a ``spam`` submission was judged spam ("honeypot filled"), for review.
    spam_reason: str = ""

    def __post_init__(self) -> None:
        # These are the caller's mistakes, so they fail before any database work.
        if not _PREFIX.fullmatch(self.reference_prefix):
            raise ValueError(
                f"reference_prefix {self.reference_prefix!r} must be 1 to 10 capital "
                "letters or digits, starting with a letter"
            )
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"targets {list(self.targets)!r} name a target twice")
        if self.idempotency_key == "":
            raise ValueError("idempotency_key is empty; pass None when the client sent none")


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What :meth:`Store.save` did: the reference to show the customer.

    ``created`` is False when the idempotency key was seen before for the
    form: ``reference`` is then the first submission's and nothing was stored.
    """

    reference: str
    created: bool


@dataclass(frozen=True, slots=True)
class StoredSubmission:
    """A submission as stored; ``submitted_at`` is an aware UTC datetime."""

    reference: str
    form: str
    form_version: str
    locale: str
    data: dict[str, Any] = field(repr=False)
    files: tuple[StoredFile, ...]
    submitted_at: dt.datetime
    spam: bool
    client: str | None = field(repr=False)
    #: Why it was judged spam; empty for a submission that is not spam.
    spam_reason: str = ""
    #: When its answers were erased (a privacy request or retention), else None.
    #: An erased submission keeps reference, form, dates and locale; its
    #: ``data`` is empty, ``files`` and ``client`` are gone.
    erased_at: dt.datetime | None = None

    @property
    def erased(self) -> bool:
        """Whether the answers of this submission were erased."""
        return self.erased_at is not None


@dataclass(frozen=True, slots=True)
class SpamEntry:
    """One quarantined submission, as ``intakeforms spam list`` shows it."""

    reference: str
    form: str
    submitted_at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What :meth:`Store.purge` did. ``files`` are the uploads of the erased
    and deleted submissions: the caller removes them from the upload folder
    (the store never touches files)."""

    erased: int = 0
    deleted_spam: int = 0
    clients_cleared: int = 0
    files: tuple[StoredFile, ...] = ()


def new_worker_id() -> str:
    """A name for one running delivery worker, like ``web-1:4242:9f3a01``.

    Host and process id say where it runs (for ``intakeforms outbox list``);
    the random part keeps a restarted process that got the same id from
    answering for jobs its previous life claimed.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class OutboxJob:
    """One delivery of one submission to one target.

    A new job is ``pending`` with no attempts and is due at once. ``status``
    is one of :data:`JOB_STATUSES`; ``attempts`` counts claims (so a worker
    that crashed mid-delivery used one). ``claimed_by`` is the worker that
    holds the job or held it last; ``lease_until`` is set only while it is
    ``claimed``. ``last_error`` is the reason of the latest failed attempt
    and stays after a later success. ``delivered_at`` and ``receipt`` (what
    the target answered, such as an SMTP reply or a ticket id) are set when
    delivered. Every time is an aware UTC datetime; ``created_at`` and
    ``updated_at`` are None only on jobs built by hand, never on read ones.
    """

    id: int
    reference: str
    target: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    _: KW_ONLY
    claimed_by: str | None = None
    lease_until: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    receipt: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job a worker has claimed, with the submission it must deliver."""

    job: OutboxJob
    submission: StoredSubmission


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
    ) -> PurgeResult:
        """Apply the retention rules at once: erase (as :meth:`erase`) every
        submission submitted before ``delivered_before`` whose jobs are all
        delivered (None: keep all); delete spam submitted before
        ``spam_before``; forget the client address of submissions submitted
        before ``clients_before``."""

    # -- shared rate limits -----------------------------------------------------

    async def hit_rate(self, key: str, limit: int, period: float) -> float:
        """Count one request under ``key``; 0.0 when it is within ``limit``
        per ``period`` seconds, else the seconds to wait. Every process on the
        same database counts together. ``key`` holds no personal data (the
        caller hashes the client address into it)."""


# -- checks shared by the backends: the caller's mistakes fail before any SQL --------


def check_worker(worker: str) -> None:
    """Refuse an empty worker name, which could not be told from no worker."""
    if not worker:
        raise ValueError("worker is empty; name each worker, e.g. with new_worker_id()")


def check_claim(worker: str, limit: int, lease_seconds: float) -> None:
    """Refuse claim arguments that could never take a job or keep it."""
    check_worker(worker)
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    if not (lease_seconds > 0 and math.isfinite(lease_seconds)):
        raise ValueError(f"lease_seconds must be more than 0, not {lease_seconds}")


def check_moment(name: str, moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive one is refused (whose local time would it be?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), not {moment}")
    return moment.astimezone(dt.UTC)


#: The longest error or receipt a job keeps: room for an SMTP reply or an
#: exception's message, not for a whole HTML error page a webhook returned.
MAX_NOTE_LENGTH = 2000


def clean_note(text: str) -> str:
    """``text`` cut to :data:`MAX_NOTE_LENGTH`, without NUL characters.

    PostgreSQL text cannot hold NUL, and a remote server's answer may have
    one; both backends store the same text so they behave alike.
    """
    text = text.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    return text if len(text) <= MAX_NOTE_LENGTH else text[: MAX_NOTE_LENGTH - 1] + "…"


def recipient_hash(address: str) -> str:
    """The key under which a confirmation's recipient is counted: SHA-256 hex
    of the address in a canonical form, one per mailbox.

    A hash, so the outbox does not hold a second copy of every customer's
    address (the submission has it). Someone flooding one person's inbox
    through a form must not get past the daily cap by spelling the address
    another way that still reaches that inbox, so the canonical form is:
    lower case; no ``+tag`` after the local part, for every domain (mail
    servers deliver ``Matti+1@Example.com`` to ``matti@example.com``); and at
    Gmail, which ignores dots in the local part and also answers to
    ``googlemail.com``, no dots and the domain ``gmail.com``
    (``M.a.t.t.i+x@googlemail.com`` is ``matti@gmail.com``).
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:  # not an address at all; it still gets a key of its own
        local, domain = domain, ""
    local = local.split("+", 1)[0] or local
    if domain in ("gmail.com", "googlemail.com"):  # one mailbox, whatever the dots
        domain = "gmail.com"
        local = local.replace(".", "") or local
    return hashlib.sha256(f"{local}@{domain}".encode()).hexdigest()


def check_recipient(address: str) -> None:
    """Refuse an empty address, which would count every blank one as one."""
    if not address.strip():
        raise ValueError("the recipient address is empty")


def check_listing(status: str | None, limit: int) -> None:
    """Refuse an unknown status (a typo would list nothing) or a useless limit."""
    if status is not None and status not in JOB_STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(JOB_STATUSES)}")
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")


def job_from_row(row: Sequence[Any], moment: Callable[[Any], dt.datetime]) -> OutboxJob:
    """An :class:`OutboxJob` from a row in the column order every backend
    selects (id, reference, target, status, attempts, next_attempt_at,
    last_error, claimed_by, lease_until, delivered_at, receipt, created_at,
    updated_at); ``moment`` turns the backend's stored time into aware UTC."""

    def maybe(value: Any) -> dt.datetime | None:
        return None if value is None else moment(value)

    return OutboxJob(
        id=row[0],
        reference=row[1],
        target=row[2],
        status=row[3],
        attempts=row[4],
        next_attempt_at=moment(row[5]),
        last_error=row[6],
        claimed_by=row[7],
        lease_until=maybe(row[8]),
        delivered_at=maybe(row[9]),
        receipt=row[10],
        created_at=maybe(row[11]),
        updated_at=maybe(row[12]),
    )
