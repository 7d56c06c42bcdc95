"""What every store keeps and returns: submissions, their files and outbox jobs.

Callers only ever see these records, whichever backend stored them, so
switching backends changes no caller.

An outbox job moves through these states::

    pending ──claim──▶ claimed ──complete──▶ delivered
       ▲                  │ │
       └──retry_later─────┘ └──dead_letter──▶ dead
       ▲                                        │
       └────────────requeue (an operator)───────┘

A ``claimed`` job whose lease ran out (its worker crashed or hung) is due
again: the next ``claim`` takes it over, and the old worker can no longer
report on it (:class:`~intakeforms.errors.LeaseLost`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

__all__ = [
    "EVENT_CHANNELS",
    "EVENT_KINDS",
    "FAQ_EVENTS",
    "JOB_STATUSES",
    "ClaimedJob",
    "ContactQuery",
    "DraftRecord",
    "EarlierContact",
    "EventRecord",
    "FaqCounts",
    "FaqSearchRecord",
    "NewSubmission",
    "OutboxJob",
    "PurgeResult",
    "SaveResult",
    "SpamEntry",
    "StoredFile",
    "StoredSubmission",
]

#: Every state an outbox job can be in, in the order a job goes through them.
JOB_STATUSES = ("pending", "claimed", "delivered", "dead")

#: What a customer can do with the answers of an FAQ search: open one, say
#: it helped (the question is answered, no contact needed) or did not, or go
#: on to contact us anyway.
FAQ_EVENTS = ("opened", "helpful", "not_helpful", "continued")

#: Where a visitor event came from: the hosted form, the chat, the inline widget.
EVENT_CHANNELS = ("form", "chat", "inline")
#: What a visitor did: saw a form, began answering, answered a question, was
#: shown an error, submitted, or left without submitting.
EVENT_KINDS = ("view", "start", "answer", "error", "submit", "abandon")

# The same rule as the form language's ``reference_prefix``.
_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")
#: The longest contact key a store keeps (an HMAC-SHA256 is 64 hex digits).
MAX_CONTACT_KEY = 128
#: What a draft's id is: 32 lowercase hex digits (``secrets.token_hex(16)``).
DRAFT_ID = re.compile(r"[0-9a-f]{32}")


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
    #: What the agent should know beside the answers (the FAQ answers shown
    #: that did not help, an incomplete contact's missing questions): JSON-able,
    #: never the customer's own text. ``None`` when there is nothing.
    context: Mapping[str, Any] | None = field(default=None, repr=False)
    #: The id of the draft these answers continue (``?d=`` link), or None:
    #: that draft is deleted in the same transaction as the save.
    draft: str | None = None
    #: The customer's contact keys (normalised-and-hashed email and phone,
    #: made by the caller; never an address), for
    #: :meth:`~intakeforms.store.Store.earlier_contacts`. Pseudonymous, so
    #: kept out of ``repr`` too.
    contact_keys: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        # These are the caller's mistakes, so they fail before any database work.
        if self.draft is not None and not (
            isinstance(self.draft, str) and DRAFT_ID.fullmatch(self.draft)
        ):
            raise ValueError(
                "draft must be a draft's id (32 lowercase hex digits, as read from "
                "its token) or None"
            )
        if isinstance(self.contact_keys, str):
            raise TypeError("contact_keys must be a tuple of keys, not one text")
        for key in self.contact_keys:
            if not isinstance(key, str) or not key or len(key) > MAX_CONTACT_KEY:
                raise ValueError(
                    f"a contact key must be a text of 1 to {MAX_CONTACT_KEY} characters "
                    "(a hash of a normalised address or phone number)"
                )
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
    #: As :attr:`NewSubmission.context`.
    context: Mapping[str, Any] | None = field(default=None, repr=False)

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
    #: FAQ searches whose query text was blanked (their counts stay).
    faq_queries_blanked: int = 0
    #: Expired drafts deleted.
    drafts_deleted: int = 0
    #: Raw visitor events deleted for their age.
    events_deleted: int = 0


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


@dataclass(frozen=True, slots=True)
class FaqSearchRecord:
    """One FAQ search and what it showed, kept for counting and for finding
    questions the FAQ does not answer yet.

    ``id`` is 32 lowercase hex digits (the web layer's random id). ``form``
    is the form it was made before, or None (topic search, or the API
    without a form). ``channel`` is where it came from (``chat``, ``form``,
    ``inline``, ``api``). ``query`` is what the customer typed, at most
    :data:`~intakeforms.store.faq.MAX_FAQ_QUERY` characters (the caller cuts
    it) and kept out of ``repr``; retention blanks it to ``""`` after
    :data:`~intakeforms.store.faq.FAQ_QUERY_DAYS` days. ``results`` are the
    ``(faq, entry)`` ids shown, best first (empty: nothing matched well);
    ``top_score`` is the best result's score, or None. ``at`` is an aware
    datetime, read back in UTC. Nothing about the client (address, browser)
    is part of it.
    """

    id: str
    language: str
    form: str | None
    channel: str
    query: str = field(repr=False)
    results: tuple[tuple[str, str], ...]
    top_score: float | None
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class FaqCounts:
    """What came of the FAQ searches made in a period (:meth:`Store.faq_counts`).

    ``searches`` = ``answered`` (at least one result shown) + ``no_answer``.
    Each event count is the number of those searches that had the event at
    least once (a customer who opened two answers counts once in ``opened``).
    """

    searches: int = 0
    answered: int = 0
    no_answer: int = 0
    opened: int = 0
    helpful: int = 0
    not_helpful: int = 0
    continued: int = 0


@dataclass(frozen=True, slots=True)
class DraftRecord:
    """A customer's unfinished answers, kept so that they can continue later
    from a link mailed to them (:meth:`Store.save_draft`).

    ``id`` is 32 lowercase hex digits (``secrets.token_hex(16)``): the draft
    link's token carries it. ``data`` (the answers so far, JSON-able) and
    ``email`` (where the link goes) are the customer's and stay out of
    ``repr``. Times are aware, read back in UTC; ``expires_at`` is at most
    :data:`~intakeforms.store.drafts.MAX_DRAFT_DAYS` days after
    ``created_at``. ``mail_sent_at`` is when the mail with the link went,
    None until then.
    """

    id: str
    form: str
    locale: str
    data: Mapping[str, Any] = field(repr=False)
    email: str = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime
    mail_sent_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """One submission's look-up in :meth:`ContactMethods.earlier_contacts_many`:
    its contact ``keys``, its ``reference`` (left out of its own list) and
    the window from ``since`` to ``until`` (its own time)."""

    keys: Sequence[str]
    reference: str
    since: dt.datetime
    until: dt.datetime


@dataclass(frozen=True, slots=True)
class EarlierContact:
    """One earlier submission of the same customer (:meth:`Store.earlier_contacts`).

    ``data`` holds its answers, for a summary line built from the form's
    summary template (never shown in full), and stays out of ``repr``; it is
    None when the answers were erased (``erased``).
    """

    reference: str
    form: str
    submitted_at: dt.datetime
    erased: bool = False
    data: Mapping[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One thing a visitor did on a form, as counted for the statistics.

    ``session`` is a random id per visit (8 to 64 of ``A-Z a-z 0-9 _ -``):
    nothing in an event names a person or a client. ``channel`` is one of
    :data:`EVENT_CHANNELS`, ``event`` one of :data:`EVENT_KINDS`; ``field``
    is the question it is about (or None), ``code`` the validation code of
    an ``error`` (or None). ``at`` is aware.
    """

    session: str
    form: str
    channel: str
    event: str
    field: str | None
    code: str | None
    at: dt.datetime
