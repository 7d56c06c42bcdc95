"""Drafts: a customer's unfinished answers, kept so they can continue later.

"Continue by email later" stores the answers so far as a
:class:`~intakeforms.store.records.DraftRecord` with the customer's address;
the delivery worker claims the drafts whose mail is not sent yet
(:meth:`DraftMethods.claim_draft_mails`) and mails each a signed link that
opens the form where the customer left. A draft is gone when the
submission that continues it is stored (``NewSubmission.draft``, in the
same transaction), when it expires (at most :data:`MAX_DRAFT_DAYS` days;
``Store.purge`` deletes it, and an expired draft is never read or mailed
before that), or when its customer asks (:meth:`DraftMethods.erase_drafts`).

A draft holds personal data (answers, an address), so nothing of it is in
``repr``, messages or logs; a customer's drafts are found by the address,
compared case-insensitively, for access and erasure requests.

:class:`DraftMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them. The coroutines
below are the operations, run on a
:class:`~intakeforms.store.dialect.Session`.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import DRAFT_COLUMNS, Row, Session, Work
from intakeforms.store.records import DRAFT_ID, DraftRecord
from intakeforms.store.storable import text_problem, texts_in

__all__ = [
    "DRAFT_MAIL_ATTEMPTS",
    "DRAFT_MAIL_LEASE",
    "MAX_DRAFT_BYTES",
    "MAX_DRAFT_DAYS",
    "MAX_EMAIL",
    "DraftMethods",
    "email_key",
]

_T = TypeVar("_T")

#: The longest a draft is kept: its ``expires_at`` is at most this many days
#: after its ``created_at`` (the draft link is valid as long).
MAX_DRAFT_DAYS = 7
#: How many times a draft's mail is claimed at most; a mail that failed that
#: often is not tried again (the draft stays until it expires).
DRAFT_MAIL_ATTEMPTS = 5
#: Seconds a claimed draft mail is held by its worker before another may
#: take it over (the first one is taken to have crashed).
DRAFT_MAIL_LEASE = 300.0
#: The most a draft's answers may take as JSON text (UTF-8 bytes).
MAX_DRAFT_BYTES = 256 * 1024
#: The longest address a draft keeps (RFC 5321 allows 254 in a path).
MAX_EMAIL = 320

_SELECT = f"SELECT {DRAFT_COLUMNS} FROM drafts"  # noqa: S608
_GET = f"{_SELECT} WHERE id = :id AND expires_at > :now"
_OF_EMAIL = f"{_SELECT} WHERE email_key = :key ORDER BY created_at, id"
_DELETE = "DELETE FROM drafts WHERE id = :id"
_ERASE = "DELETE FROM drafts WHERE email_key = :key"
_MAIL_SENT = "UPDATE drafts SET mail_sent_at = :at, mail_claimed_until = NULL WHERE id = :id"


def email_key(email: str) -> str:
    """How drafts are found by address: spaces at either end dropped,
    casefolded (``" Matti@Example.COM"`` → ``"matti@example.com"``)."""
    return email.strip().casefold()


# -- the operations ------------------------------------------------------------


def draft(s: Session, row: Row) -> DraftRecord:
    """A row of :data:`~intakeforms.store.dialect.DRAFT_COLUMNS` as a record."""
    return DraftRecord(
        id=row[0],
        form=row[1],
        locale=row[2],
        data=s.answers(row[3]),
        email=row[4],
        created_at=s.moment(row[5]),
        expires_at=s.moment(row[6]),
        mail_sent_at=None if row[7] is None else s.moment(row[7]),
    )


async def save(s: Session, values: Mapping[str, object]) -> None:
    """Store a draft (``values`` as :attr:`Statements.save_draft` takes them)."""
    async with s.transaction():
        await s.change(s.sql.save_draft, values)


async def get(s: Session, draft_id: str, now: dt.datetime) -> DraftRecord | None:
    """The draft with this id not expired at ``now``, or None."""
    row = await s.row(_GET, {"id": draft_id, "now": now})
    return None if row is None else draft(s, row)


async def delete(s: Session, draft_id: str) -> bool:
    """Delete the draft; whether there was one."""
    async with s.transaction():
        return await s.change(_DELETE, {"id": draft_id}) > 0


async def claim_mails(
    s: Session, limit: int, now: dt.datetime, until: dt.datetime
) -> list[DraftRecord]:
    """Claim up to ``limit`` drafts whose mail is due, until ``until``."""
    values = {"limit": limit, "now": now, "until": until, "attempts": DRAFT_MAIL_ATTEMPTS}
    async with s.transaction():
        rows = await s.rows(s.sql.claim_draft_mails, values)
    found = [draft(s, row) for row in rows]
    return sorted(found, key=lambda d: (d.created_at, d.id))  # RETURNING keeps no order


async def mail_sent(s: Session, draft_id: str, at: dt.datetime) -> bool:
    """Record that the draft's mail went at ``at``; whether there is such a draft."""
    async with s.transaction():
        return await s.change(_MAIL_SENT, {"id": draft_id, "at": at}) > 0


async def of_email(s: Session, key: str) -> list[DraftRecord]:
    """Every stored draft of an address (as :func:`email_key`), oldest first."""
    return [draft(s, row) for row in await s.rows(_OF_EMAIL, {"key": key})]


async def erase(s: Session, key: str) -> int:
    """Delete every draft of an address; how many. The deleted text is then
    made unreadable in the database's files as far as it allows."""
    async with s.transaction():
        deleted = await s.change(_ERASE, {"key": key})
    if deleted:
        await s.forget()
    return deleted


# -- the Store methods ---------------------------------------------------------


class DraftMethods(abc.ABC):
    """The draft methods of the ``Store`` protocol: they check the caller's
    arguments and run the operations above through the store's ``_read``
    and ``_write``."""

    _clock: Callable[[], dt.datetime]

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice (see ``SqlStore``)."""

    async def save_draft(self, record: DraftRecord) -> None:
        """Keep a draft until ``record.expires_at``, replacing a stored draft
        with the same id (its mail tries start again).

        A caller's mistake raises ``ValueError`` before any database work,
        naming what is wrong and never a value: an id that is not 32
        lowercase hex digits, an empty form or locale, an empty or
        overlong address, answers that are not a JSON object, hold text no
        store can keep or take more than :data:`MAX_DRAFT_BYTES`, a naive
        time, or an expiry not after ``created_at`` or more than
        :data:`MAX_DRAFT_DAYS` days after it.
        """
        values = _draft_values(record)
        await self._write(lambda s: save(s, values))

    async def get_draft(self, draft_id: str) -> DraftRecord | None:
        """The draft with this id, or None when there is none, it has
        expired, or the id could never be one (a client's garbage)."""
        if not _is_id(draft_id):
            return None
        now = self._clock()
        return await self._read(lambda s: get(s, draft_id, now))

    async def delete_draft(self, draft_id: str) -> bool:
        """Delete a draft (expired or not); whether there was one."""
        if not _is_id(draft_id):
            return False
        return await self._write(lambda s: delete(s, draft_id))

    async def claim_draft_mails(
        self,
        limit: int,
        *,
        lease_seconds: float = DRAFT_MAIL_LEASE,
        now: dt.datetime | None = None,
    ) -> list[DraftRecord]:
        """Up to ``limit`` drafts whose mail is not sent yet, oldest first,
        for the worker to mail; then :meth:`mark_draft_mail_sent` each.

        Each is held for ``lease_seconds``: no other claim, in any process,
        gets it meanwhile; after that (the worker crashed, or the mail
        failed) the next claim takes it again, up to
        :data:`DRAFT_MAIL_ATTEMPTS` times in all. Expired drafts are never
        claimed. ``now`` defaults to the store's clock.
        """
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        if not (lease_seconds > 0 and math.isfinite(lease_seconds)):
            raise ValueError(f"lease_seconds must be more than 0, not {lease_seconds}")
        moment = self._clock() if now is None else check_moment("now", now)
        until = moment + dt.timedelta(seconds=lease_seconds)
        return await self._write(lambda s: claim_mails(s, limit, moment, until))

    async def mark_draft_mail_sent(self, draft_id: str, at: dt.datetime) -> bool:
        """Record that the draft's mail was sent at ``at`` (it is not claimed
        again); False when there is no such draft (submitted meanwhile).
        A worker that gives up on a mail for good marks it too."""
        moment = check_moment("at", at)
        if not _is_id(draft_id):
            return False
        return await self._write(lambda s: mail_sent(s, draft_id, moment))

    async def drafts_of(self, email: str) -> list[DraftRecord]:
        """Every stored draft of the address ``email`` (compared
        case-insensitively), oldest first, expired ones not yet purged
        included: what an access request gets."""
        key = _check_email(email)
        return await self._read(lambda s: of_email(s, key))

    async def erase_drafts(self, email: str) -> int:
        """Delete every draft of the address ``email`` (compared
        case-insensitively) for good; how many there were. No deleted text
        stays readable in the database files (as for ``erase``)."""
        key = _check_email(email)
        return await self._write(lambda s: erase(s, key))


def _is_id(draft_id: object) -> bool:
    return isinstance(draft_id, str) and DRAFT_ID.fullmatch(draft_id) is not None


def _check_email(email: object) -> str:
    """``email``'s key, after refusing what could never be an address."""
    if not isinstance(email, str) or not email.strip():
        raise ValueError("the email address is empty; give the customer's address")
    if len(email) > MAX_EMAIL or text_problem(email) is not None:
        raise ValueError(
            f"the email address is not one a store can keep (at most {MAX_EMAIL} "
            "characters, no NUL, valid Unicode); validate it first"
        )
    return email_key(email)


def _check_name(name: str, value: object) -> None:
    if not isinstance(value, str) or not value or text_problem(value) is not None:
        raise ValueError(f"the draft's {name} is empty or not a text a store can keep")


def _draft_values(record: DraftRecord) -> dict[str, object]:
    """The row of ``record``, after checking it (see ``save_draft``)."""
    if not _is_id(record.id):
        raise ValueError(
            "a draft's id must be 32 lowercase hex digits; make one with secrets.token_hex(16)"
        )
    _check_name("form", record.form)
    _check_name("locale", record.locale)
    key = _check_email(record.email)
    created = check_moment("created_at", record.created_at)
    expires = check_moment("expires_at", record.expires_at)
    if expires <= created:
        raise ValueError("the draft's expires_at must be after its created_at")
    if expires - created > dt.timedelta(days=MAX_DRAFT_DAYS):
        raise ValueError(
            f"the draft's expires_at is more than {MAX_DRAFT_DAYS} days after its "
            "created_at; drafts are kept that long at most"
        )
    sent = record.mail_sent_at
    if sent is not None:
        sent = check_moment("mail_sent_at", sent)
    return {
        "id": record.id,
        "form": record.form,
        "locale": record.locale,
        "data": _encode(record.data),
        "email": record.email,
        "email_key": key,
        "created_at": created,
        "expires_at": expires,
        "mail_sent_at": sent,
    }


def _encode(data: Mapping[str, Any]) -> str:
    """A draft's answers as JSON text (as submissions keep them), checked."""
    if not isinstance(data, Mapping):
        raise ValueError("the draft's data must be a JSON object of answers")
    try:
        text = json.dumps(dict(data), ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        raise ValueError(
            "the draft's data is not JSON a store can keep (a number with no JSON form, "
            "a value that is not JSON, or nesting too deep)"
        ) from None
    for where, value in texts_in(data):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(f"the draft's data cannot be stored: {where!r} holds {problem[1]}")
    size = len(text.encode("utf-8"))
    if size > MAX_DRAFT_BYTES:
        raise ValueError(
            f"the draft's data takes {size} bytes as JSON; a draft may take {MAX_DRAFT_BYTES}"
        )
    return text
