"""The staff's inbox: stored submissions found by reference, form, time and spam.

:meth:`InboxMethods.find_submissions` answers an :class:`InboxQuery` with
one :class:`InboxPage` of :class:`InboxEntry` rows, newest first, and a
cursor for the page after it. Entries hold no answers (a listing shows none);
:meth:`InboxMethods.get_many` reads whole submissions, a page at a time, for
an export. The cursor is the last entry's time and reference, so a
submission stored while staff page through never shifts the pages.

The statements are the same on both databases: only the conditions a query
asks for are written, so the database can use its ``(form, submitted_at)``
index. A reference is matched exactly, or by its beginning when it is
shorter (``CAR-4F`` finds ``CAR-4F7K2Q``).

:class:`InboxMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them.
"""

from __future__ import annotations

import abc
import base64
import binascii
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from intakeforms.store import submissions
from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import Session, Work
from intakeforms.store.records import StoredSubmission

__all__ = [
    "MAX_INBOX_PAGE",
    "InboxEntry",
    "InboxMethods",
    "InboxPage",
    "InboxQuery",
    "reference_search",
]

_T = TypeVar("_T")

#: The most entries one page holds.
MAX_INBOX_PAGE = 1000

# What may be searched for: a reference or its beginning, as typed (the
# letters are upper-cased first). No LIKE wildcard can get through.
_SEARCH = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
# A whole reference: PREFIX-XXXXXX (Crockford's base32 after the dash).
_WHOLE = re.compile(r"[A-Z][A-Z0-9]{0,9}-[0-9A-HJKMNP-TV-Z]{6}")

_COLUMNS = "reference, form, locale, submitted_at, spam, spam_reason, erased_at"


def reference_search(text: str) -> str | None:
    """``text`` as the reference (or its beginning) it may be, upper-cased;
    None when it cannot begin any reference."""
    wanted = text.strip().upper()
    return wanted if _SEARCH.fullmatch(wanted) else None


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What the inbox is asked for; every condition left None matches all.

    ``reference``: a reference, or its beginning (see :func:`reference_search`).
    ``since`` and ``until``: submitted at ``since`` or later and before
    ``until`` (aware). ``spam``: quarantined ones only (True) or accepted
    ones only (False). ``limit``: entries per page (1 to
    :data:`MAX_INBOX_PAGE`). ``after``: the cursor of the page before.
    """

    reference: str | None = None
    form: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    spam: bool | None = None
    limit: int = 50
    after: str | None = None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One submission in the inbox: what a listing shows, no answers."""

    reference: str
    form: str
    locale: str
    submitted_at: dt.datetime
    spam: bool
    spam_reason: str
    erased_at: dt.datetime | None

    @property
    def erased(self) -> bool:
        """Whether the answers of this submission were erased."""
        return self.erased_at is not None


@dataclass(frozen=True, slots=True)
class InboxPage:
    """One page of the inbox, newest first; ``next`` is the cursor of the
    page after it (for :attr:`InboxQuery.after`), None on the last page."""

    entries: tuple[InboxEntry, ...]
    next: str | None


def _cursor(entry: InboxEntry) -> str:
    text = f"{entry.submitted_at.isoformat(timespec='microseconds')}|{entry.reference}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The time and reference a cursor holds; ``ValueError`` for one this
    module did not make (a hand-edited address)."""
    problem = ValueError("the cursor is not one the inbox gave; start from the first page")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, reference = text.partition("|")
        at = dt.datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem from None
    if at.tzinfo is None or not _SEARCH.fullmatch(reference):
        raise problem
    return at.astimezone(dt.UTC), reference


def _statement(query: InboxQuery) -> tuple[str, dict[str, object]]:
    """The SELECT for ``query``, with only the conditions it asks for."""
    where: list[str] = []
    values: dict[str, object] = {"limit": query.limit + 1}
    if query.reference is not None:
        values["reference"] = query.reference
        if _WHOLE.fullmatch(query.reference):
            where.append("reference = :reference")
        else:
            values["reference"] = f"{query.reference}%"
            where.append("reference LIKE :reference")
    if query.form is not None:
        values["form"] = query.form
        where.append("form = :form")
    if query.since is not None:
        values["since"] = query.since
        where.append("submitted_at >= :since")
    if query.until is not None:
        values["until"] = query.until
        where.append("submitted_at < :until")
    if query.spam is not None:
        values["spam"] = query.spam
        where.append("spam = :spam")
    if query.after is not None:
        at, reference = _read_cursor(query.after)
        values["at"], values["after"] = at, reference
        where.append("(submitted_at < :at OR (submitted_at = :at AND reference < :after))")
    statement = f"SELECT {_COLUMNS} FROM submissions"  # noqa: S608 - fixed column list
    if where:
        statement += " WHERE " + " AND ".join(where)
    return statement + " ORDER BY submitted_at DESC, reference DESC LIMIT :limit", values


async def find(s: Session, statement: str, values: dict[str, object], limit: int) -> InboxPage:
    """One page of entries (``limit``), reading one more to know if there is a next."""
    rows = await s.rows(statement, values)
    entries = tuple(
        InboxEntry(
            reference=row[0],
            form=row[1],
            locale=row[2],
            submitted_at=s.moment(row[3]),
            spam=bool(row[4]),
            spam_reason=row[5] or "",
            erased_at=None if row[6] is None else s.moment(row[6]),
        )
        for row in rows[:limit]
    )
    more = len(rows) > limit
    return InboxPage(entries, _cursor(entries[-1]) if more and entries else None)


async def read_many(s: Session, references: Sequence[str]) -> list[StoredSubmission]:
    """The submissions with these references, in their order; missing ones left out."""
    async with s.transaction(write=False):  # one snapshot of rows and files
        found = await submissions.read(s, references)
    return [found[reference] for reference in references if reference in found]


class InboxMethods(abc.ABC):
    """The inbox methods of the ``Store`` protocol."""

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    async def find_submissions(self, query: InboxQuery) -> InboxPage:
        """One page of the submissions ``query`` asks for, newest first (by
        the time they were stored, then by reference), without answers.

        ``ValueError`` before any database work for a caller's mistake: a
        reference search that cannot begin a reference, a naive time, a
        ``limit`` out of 1 to :data:`MAX_INBOX_PAGE`, a cursor the inbox did
        not give.
        """
        if query.reference is not None and reference_search(query.reference) != query.reference:
            raise ValueError(
                "reference must be a reference or its beginning in capitals, like CAR-4F7K2Q "
                "or CAR-4F (reference_search() makes one of what staff typed)"
            )
        if not 1 <= query.limit <= MAX_INBOX_PAGE:
            raise ValueError(f"limit must be 1 to {MAX_INBOX_PAGE}, not {query.limit}")
        if query.since is not None:
            check_moment("since", query.since)
        if query.until is not None:
            check_moment("until", query.until)
        statement, values = _statement(query)
        return await self._read(lambda s: find(s, statement, values, query.limit))

    async def get_many(self, references: Sequence[str]) -> list[StoredSubmission]:
        """The submissions with these references, in the order asked for
        (those not stored are left out); with their answers and files, read
        in one snapshot. At most :data:`MAX_INBOX_PAGE` at a time."""
        wanted = list(dict.fromkeys(references))
        if len(wanted) > MAX_INBOX_PAGE:
            raise ValueError(f"ask for at most {MAX_INBOX_PAGE} references at a time")
        if not wanted:
            return []
        return await self._read(lambda s: read_many(s, wanted))
