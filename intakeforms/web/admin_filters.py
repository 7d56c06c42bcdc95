"""The inbox's filters, as staff type them, made into the store's query.

``q`` is a reference or its beginning (``car-4f`` finds ``CAR-4F7K2Q``) or
a day (``2026-05-04``); ``form`` a form's id; ``from`` and ``to`` days, both
included (a day runs from midnight to midnight UTC); ``spam`` ``yes`` for
quarantined spam only, ``no`` for accepted submissions only. A filter that
cannot be used raises :class:`BadFilter`, whose ``key`` names the words of
:data:`intakeforms.render_admin.ADMIN_TEXTS` that say why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Container, Mapping

from intakeforms.store.inbox import InboxQuery, reference_search

__all__ = ["BadFilter", "described", "inbox_query", "parse_day"]

# Looks like a day, whether or not it is one (2026-13-01 is a mistyped day).
_DAY_SHAPED = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


class BadFilter(Exception):
    """A filter staff gave that cannot be used; ``key`` names the message,
    ``values`` fill it in."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def parse_day(text: str) -> dt.date:
    """A day written ``YYYY-MM-DD``; ``ValueError`` for anything else."""
    if len(text) != 10:
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def _start(day: dt.date, plus: int = 0) -> dt.datetime:
    """The first moment of ``day`` (plus days) in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=plus), dt.time(), tzinfo=dt.UTC)


def inbox_query(values: Mapping[str, str], forms: Container[str], limit: int) -> InboxQuery:
    """The query for the filters in ``values`` (``q``, ``form``, ``from``,
    ``to``, ``spam``; empty ones match all), ``limit`` per page; ``forms``
    are the ids a ``form`` may name. :class:`BadFilter` for one that cannot
    be used."""
    query = InboxQuery(limit=limit)
    text = values.get("q", "").strip()
    if text:
        try:
            day = parse_day(text)
        except ValueError:
            if _DAY_SHAPED.fullmatch(text):
                raise BadFilter("bad_date") from None
            reference = reference_search(text)
            if reference is None:
                raise BadFilter("bad_search") from None
            query = dataclasses.replace(query, reference=reference)
        else:
            query = dataclasses.replace(query, since=_start(day), until=_start(day, 1))
    form = values.get("form", "")
    if form:
        if form not in forms:
            raise BadFilter("unknown_form", form=form)
        query = dataclasses.replace(query, form=form)
    days: dict[str, dt.date] = {}
    for name in ("from", "to"):
        if values.get(name):
            try:
                days[name] = parse_day(values[name])
            except ValueError:
                raise BadFilter("bad_date") from None
    if "from" in days and "to" in days and days["from"] > days["to"]:
        raise BadFilter("bad_period")
    if "from" in days:  # with a day searched for too, both must hold
        since = _start(days["from"])
        query = dataclasses.replace(query, since=max(since, query.since or since))
    if "to" in days:
        until = _start(days["to"], 1)
        query = dataclasses.replace(query, until=min(until, query.until or until))
    spam = values.get("spam", "")
    if spam in ("yes", "no"):
        query = dataclasses.replace(query, spam=spam == "yes")
    return query


def described(query: InboxQuery) -> str:
    """The filters of a query for the action log: no text staff typed, only
    a reference search (references are not personal data), dates and spam;
    the form is the log entry's target."""
    parts = []
    if query.reference:
        parts.append(f"reference={query.reference}")
    if query.since:
        parts.append(f"since={query.since.date()}")
    if query.until:
        parts.append(f"until={query.until.date()}")
    if query.spam is not None:
        parts.append(f"spam={'yes' if query.spam else 'no'}")
    return " ".join(parts) or "all"
