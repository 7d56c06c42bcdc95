"""What every store keeps and returns, the ``Store`` protocol, and references.

A backend (``sqlite.py`` now, PostgreSQL later) implements :class:`Store`;
callers only ever see these records, so switching backends changes no caller.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "NewSubmission",
    "OutboxJob",
    "SaveResult",
    "Store",
    "StoredFile",
    "StoredSubmission",
    "new_reference",
]

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


@dataclass(frozen=True, slots=True)
class OutboxJob:
    """One delivery of one submission to one target.

    A new job is ``pending`` with no attempts and is due at once;
    ``next_attempt_at`` is an aware UTC datetime.
    """

    id: int
    reference: str
    target: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None


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
        """Store a submission, its files and outbox jobs in one transaction."""

    async def get(self, reference: str) -> StoredSubmission | None:
        """The submission with this reference, or None."""

    async def outbox(self, reference: str) -> list[OutboxJob]:
        """The outbox jobs of one submission, oldest first."""

    async def count(self, form: str | None = None, spam: bool | None = None) -> int:
        """How many submissions are stored, of one form and/or spam flag."""

    async def check(self) -> None:
        """A cheap query proving the database answers (for ``/healthz``)."""
