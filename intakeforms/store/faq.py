"""FAQ searches and what came of them, written once for every SQL database.

Each search the web layer answers is kept as a
:class:`~intakeforms.store.records.FaqSearchRecord`, and what the customer
then did with its answers as events (:data:`FAQ_EVENTS`). From these the
store counts how well the FAQ deflects contacts (:meth:`FaqMethods.faq_counts`)
and which questions it does not answer yet (:meth:`FaqMethods.faq_gaps`).

What a customer typed is personal data of a kind (it may hold a name or a
plate), so it is kept only :data:`FAQ_QUERY_DAYS` days: the hourly retention
blanks it (``Store.purge(faq_queries_before=…)``), and the counts stay.
Nothing about the client (address, browser) is kept with a search.

:class:`FaqMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them. The coroutines
below are the operations, run on a
:class:`~intakeforms.store.dialect.Session`.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import TypeVar

from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import Session, Work
from intakeforms.store.records import FAQ_EVENTS, FaqCounts, FaqSearchRecord
from intakeforms.store.storable import clean_text, text_problem

__all__ = [
    "FAQ_QUERY_DAYS",
    "MAX_FAQ_QUERY",
    "FaqMethods",
    "counts",
    "deflected",
    "gaps",
    "normalise_query",
    "read_search",
    "save_event",
    "save_search",
]

_T = TypeVar("_T")

#: Days a search's query text is kept; then retention blanks it.
FAQ_QUERY_DAYS = 30
#: The longest query text a search keeps; the caller cuts longer ones.
MAX_FAQ_QUERY = 200

# What the web layer makes with secrets.token_hex(16).
_SEARCH_ID = re.compile(r"[0-9a-f]{32}")

_SEARCH = (
    "SELECT id, language, form, channel, query, results, top_score, searched_at"
    " FROM faq_searches WHERE id = :id"
)
_RESULTS = "SELECT results FROM faq_searches WHERE id = :id"
_INSERT_EVENT = (
    "INSERT INTO faq_events (search, entry, event, happened_at)"
    " VALUES (:search, :entry, :event, :at)"
)
# {form} is "" or a fixed condition on the form (below); values are parameters.
_SEARCH_COUNTS = (
    "SELECT count(*), coalesce(sum(CASE WHEN result_count > 0 THEN 1 ELSE 0 END), 0)"
    " FROM faq_searches s WHERE s.searched_at >= :since AND s.searched_at < :until{form}"
)
_EVENT_COUNTS = (
    "SELECT e.event, count(DISTINCT e.search) FROM faq_events e"
    " JOIN faq_searches s ON s.id = e.search"
    " WHERE s.searched_at >= :since AND s.searched_at < :until{form} GROUP BY e.event"
)
_OF_FORM = " AND s.form = :form"
# The searches marked helpful and never continued (the statistics' deflected).
_DEFLECTED = (
    "SELECT count(*) FROM faq_searches s"
    " WHERE s.searched_at >= :since AND s.searched_at < :until{form}"
    " AND EXISTS (SELECT 1 FROM faq_events e WHERE e.search = s.id AND e.event = 'helpful')"
    " AND NOT EXISTS (SELECT 1 FROM faq_events e WHERE e.search = s.id AND e.event = 'continued')"
)
# Gaps of one form and/or before a moment ({where}: fixed conditions), put
# in order in Python: its order of texts is code point order, as the
# dialects' faq_gaps statements order them.
_GAPS_WHERE = (
    "SELECT s.query_key, count(*) FROM faq_searches s"
    " WHERE s.searched_at >= :since AND s.result_count = 0 AND s.query_key <> ''{where}"
    " GROUP BY s.query_key"
)
_BEFORE = " AND s.searched_at < :until"


def normalise_query(text: str) -> str:
    """A query as gaps are grouped: casefolded, runs of white space made one
    space, none at either end (``"  Winter  TYRES "`` → ``"winter tyres"``)."""
    return " ".join(text.casefold().split())


# -- the operations ------------------------------------------------------------


async def save_search(s: Session, values: dict[str, object]) -> bool:
    """Store one search (``values`` as :attr:`Statements.insert_faq_search`
    takes them); False when its id is taken. Committed without waiting for
    the disk: a search lost in a power cut costs no customer anything."""
    async with s.transaction(synced=False):
        return await s.change(s.sql.insert_faq_search, values) == 1


async def read_search(s: Session, search_id: str) -> FaqSearchRecord | None:
    """The search with this id, or None."""
    row = await s.row(_SEARCH, {"id": search_id})
    if row is None:
        return None
    return FaqSearchRecord(
        id=row[0],
        language=row[1],
        form=row[2],
        channel=row[3],
        query=row[4],
        results=_results(s, row[5]),
        top_score=None if row[6] is None else float(row[6]),
        at=s.moment(row[7]),
    )


async def save_event(
    s: Session, search_id: str, entry: str | None, event: str, at: dt.datetime
) -> bool:
    """Record ``event`` of a search; False, storing nothing, when there is no
    such search. ``ValueError`` when ``entry`` is not one of its results."""
    async with s.transaction(synced=False):
        row = await s.row(_RESULTS, {"id": search_id})
        if row is None:
            return False
        if entry is not None and entry not in {shown for _, shown in _results(s, row[0])}:
            # Not echoed: it came from the client, and may be anything.
            raise ValueError(
                f"the entry was not among the answers of search {search_id}; "
                "check it against faq_search(id).results first"
            )
        values = {"search": search_id, "entry": entry, "event": event, "at": at}
        await s.change(_INSERT_EVENT, values)
    return True


async def gaps(
    s: Session,
    since: dt.datetime,
    limit: int,
    form: str | None = None,
    until: dt.datetime | None = None,
) -> list[tuple[str, int]]:
    """The commonest normalised queries without results since ``since``
    (and before ``until``, of ``form``, when given)."""
    if form is None and until is None:
        rows = await s.rows(s.sql.faq_gaps, {"since": since, "limit": limit})
        return [(str(row[0]), int(row[1])) for row in rows]
    where = ("" if form is None else _OF_FORM) + ("" if until is None else _BEFORE)
    values = {"since": since, "until": until, "form": form}
    rows = await s.rows(_GAPS_WHERE.format(where=where), values)
    found = sorted(((str(row[0]), int(row[1])) for row in rows), key=lambda g: (-g[1], g[0]))
    return found[:limit]


async def deflected(s: Session, since: dt.datetime, until: dt.datetime, form: str | None) -> int:
    """The searches made in [since, until), of one form or all, that were
    marked helpful and never continued."""
    where = "" if form is None else _OF_FORM
    row = await s.row(_DEFLECTED.format(form=where), {"since": since, "until": until, "form": form})
    return 0 if row is None else int(row[0])


async def counts(s: Session, since: dt.datetime, until: dt.datetime, form: str | None) -> FaqCounts:
    """What came of the searches made in [since, until), of one form or all."""
    where = "" if form is None else _OF_FORM
    values = {"since": since, "until": until, "form": form}
    async with s.transaction(write=False):  # one snapshot for both reads
        row = await s.row(_SEARCH_COUNTS.format(form=where), values)
        events = await s.rows(_EVENT_COUNTS.format(form=where), values)
    assert row is not None
    searches, answered = int(row[0]), int(row[1])
    had = {str(event): int(n) for event, n in events}
    return FaqCounts(
        searches=searches,
        answered=answered,
        no_answer=searches - answered,
        opened=had.get("opened", 0),
        helpful=had.get("helpful", 0),
        not_helpful=had.get("not_helpful", 0),
        continued=had.get("continued", 0),
    )


def _results(s: Session, stored: object) -> tuple[tuple[str, str], ...]:
    return tuple((str(faq), str(entry)) for faq, entry in s.json_value(stored))


# -- the Store methods ---------------------------------------------------------


class FaqMethods(abc.ABC):
    """The FAQ methods of the ``Store`` protocol: they check the caller's
    arguments and run the operations above through the store's
    ``_read`` and ``_write``."""

    _clock: Callable[[], dt.datetime]

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice (see ``SqlStore``)."""

    async def save_faq_search(self, record: FaqSearchRecord) -> None:
        """Keep one search: what was asked, in which language, before which
        form, through which channel, and which answers were shown.

        The query text is kept :data:`FAQ_QUERY_DAYS` days; a NUL or a lone
        surrogate in it becomes U+FFFD. A caller's mistake raises
        ``ValueError`` before any database work: an id that is not 32
        lowercase hex digits, a query longer than :data:`MAX_FAQ_QUERY`, an
        empty or unstorable language, channel, form or result id, a score
        that is not a finite number, a naive ``at``; and an id already
        stored.
        """
        values = _search_values(record)
        if not await self._write(lambda s: save_search(s, values)):
            raise ValueError(f"search {record.id} is stored already; give each search a new id")

    async def faq_search(self, search_id: str) -> FaqSearchRecord | None:
        """The search with this id, or None (also for an id that could never
        be one, such as a client's garbage)."""
        if not _SEARCH_ID.fullmatch(search_id):
            return None
        return await self._read(lambda s: read_search(s, search_id))

    async def save_faq_event(
        self, search_id: str, entry: str | None, event: str, at: dt.datetime
    ) -> bool:
        """Record what the customer did with a search's answers: ``event`` is
        one of :data:`FAQ_EVENTS`, about the result ``entry`` (an entry id;
        None only for ``continued``). False, storing nothing, when there is no
        such search. ``ValueError`` for another event, a missing entry, an
        entry that was not among the search's results, or a naive ``at``."""
        if event not in FAQ_EVENTS:
            raise ValueError(f"event {_shown(event)!r} is not one of {', '.join(FAQ_EVENTS)}")
        if entry is None and event != "continued":
            raise ValueError(f"the event {event!r} is about an answer: name its entry")
        moment = check_moment("at", at)
        if not _SEARCH_ID.fullmatch(search_id):
            return False
        return await self._write(lambda s: save_event(s, search_id, entry, event, moment))

    async def faq_gaps(
        self,
        since: dt.datetime,
        limit: int = 20,
        *,
        form: str | None = None,
        until: dt.datetime | None = None,
    ) -> list[tuple[str, int]]:
        """What customers asked that the FAQ did not answer: the query texts
        of the searches since ``since`` that had no results, normalised
        (:func:`normalise_query`) and counted, most frequent first, equal
        counts in the texts' order; up to ``limit``. Blanked queries (older
        than :data:`FAQ_QUERY_DAYS`) are left out. ``form`` keeps the
        searches made before that form only, ``until`` those made before
        that moment only."""
        moment = check_moment("since", since)
        end = None if until is None else check_moment("until", until)
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        if form == "":
            raise ValueError("form is empty; pass None for every form")
        return await self._read(lambda s: gaps(s, moment, limit, form, end))

    async def faq_deflected(
        self, since: dt.datetime, until: dt.datetime, form: str | None = None
    ) -> int:
        """How many searches made at ``since`` or later and before ``until``,
        before one ``form`` or all (None), were marked ``helpful`` and never
        ``continued``: contacts the FAQ saved."""
        start = check_moment("since", since)
        end = check_moment("until", until)
        if end < start:
            raise ValueError(f"until ({end}) is before since ({start})")
        if form == "":
            raise ValueError("form is empty; pass None to count every form")
        return await self._read(lambda s: deflected(s, start, end, form))

    async def faq_counts(
        self, since: dt.datetime, until: dt.datetime, form: str | None = None
    ) -> FaqCounts:
        """What came of the searches made at ``since`` or later and before
        ``until``, before one ``form`` or all (None): how many, how many had
        answers, and how many of them had each event, whenever it happened."""
        start = check_moment("since", since)
        end = check_moment("until", until)
        if end < start:
            raise ValueError(f"until ({end}) is before since ({start})")
        if form == "":
            raise ValueError("form is empty; pass None to count every form")
        return await self._read(lambda s: counts(s, start, end, form))


def _search_values(record: FaqSearchRecord) -> dict[str, object]:
    """The row of ``record``, after checking it (see ``save_faq_search``)."""
    if not isinstance(record.id, str) or not _SEARCH_ID.fullmatch(record.id):
        raise ValueError(
            f"search id {_shown(str(record.id))!r} is not 32 lowercase hex digits; "
            "make one with secrets.token_hex(16)"
        )
    for name, value in (("language", record.language), ("channel", record.channel)):
        _check_name(name, value)
    if record.form is not None:
        _check_name("form", record.form)
    for pair in record.results:
        if len(pair) != 2:
            raise ValueError(f"a result of search {record.id} is not a (faq, entry) pair")
        for name, value in zip(("faq", "entry"), pair, strict=True):
            _check_name(f"a result's {name}", value)
    score = record.top_score
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score)
    ):
        raise ValueError(f"top_score of search {record.id} must be a finite number or None")
    if len(record.query) > MAX_FAQ_QUERY:
        # The length only: the text is the customer's.
        raise ValueError(
            f"the query of search {record.id} is {len(record.query)} characters; "
            f"cut it to {MAX_FAQ_QUERY} before saving"
        )
    query = clean_text(record.query)
    return {
        "id": record.id,
        "language": record.language,
        "form": record.form,
        "channel": record.channel,
        "query": query,
        "query_key": normalise_query(query),
        "results": json.dumps([list(pair) for pair in record.results], ensure_ascii=False),
        "result_count": len(record.results),
        "top_score": None if score is None else float(score),
        "at": check_moment("at", record.at),
    }


def _check_name(name: str, value: object) -> None:
    if not isinstance(value, str) or not value or text_problem(value) is not None:
        raise ValueError(f"{name} {_shown(str(value))!r} is not an id a store can keep")


def _shown(text: str) -> str:
    """A caller's id fit for a message: short, with odd characters escaped."""
    return text[:40].encode("unicode_escape").decode("ascii")
