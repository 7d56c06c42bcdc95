"""Checks of the caller's arguments, shared by every backend: a caller's
mistake fails before any SQL, and both backends keep the same text."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from intakeforms.store.records import JOB_STATUSES

__all__ = [
    "MAX_NOTE_LENGTH",
    "check_claim",
    "check_listing",
    "check_moment",
    "check_recipient",
    "check_worker",
    "clean_note",
    "recipient_hash",
]


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
