"""What visitors did on the forms, written once for every SQL database.

Pages and widgets report a visit's steps (a form seen, begun, a question
answered, an error shown, submitted, left) as
:class:`~intakeforms.store.records.EventRecord`; the statistics count them.
An event holds a random per-visit id and nothing that names a person or a
client (no address, no browser). Raw events are kept for the days of
``INTAKE_EVENT_RETENTION_DAYS``: the hourly retention deletes older ones
(``Store.purge(events_before=…)``).

:class:`EventMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, overload

from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import Session, Work
from intakeforms.store.records import EVENT_CHANNELS, EVENT_KINDS, EventRecord
from intakeforms.store.storable import text_problem

__all__ = [
    "EVENT_SESSION",
    "MAX_EVENT_NAME",
    "EventColumns",
    "EventFields",
    "EventMethods",
    "event_fields",
    "event_hour",
    "hours_between",
    "read_events",
    "save_events",
]

_T = TypeVar("_T")

#: What a visit's id is: 8 to 64 of ``A-Z a-z 0-9 _ -``.
EVENT_SESSION = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: The longest form, field or code name an event keeps.
MAX_EVENT_NAME = 200

_INSERT = (
    "INSERT INTO events (session, form, channel, event, field, code, happened_at, hour)"
    " VALUES (:session, :form, :channel, :event, :field, :code, :at, :hour)"
)
_READ = (
    "SELECT session, form, channel, event, field, code, happened_at FROM events"
    " WHERE form = :form AND hour >= :first_hour AND hour <= :last_hour"
    " AND happened_at >= :since AND happened_at < :until"
    " ORDER BY happened_at, id"
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = _EPOCH.toordinal()
_HOUR = dt.timedelta(hours=1)

#: An event's fields, those of :class:`EventRecord` in order.
EventFields = tuple[str, str, str, str, str | None, str | None, dt.datetime]
_FIELDS = 7
#: No session checked yet in a batch (no field of an event is this object).
_UNSEEN = object()


class EventColumns(Sequence[EventRecord]):
    """Events kept field by field: a list for each field of
    :class:`EventRecord`, in order (:attr:`columns`).

    What a service holds while accepted events wait to be written, and what
    :meth:`EventMethods.save_events` writes with the least work. A string or
    a time put in a list is no new object for the garbage collector, where a
    record (or tuple) an event would be: thousands waiting would set off
    collections in the middle of submissions. Read as a sequence, it gives
    each event as a record, made when asked for.
    """

    __slots__ = ("columns",)

    def __init__(self) -> None:
        self.columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])

    def extend(self, events: Iterable[EventFields]) -> None:
        """Add ``events``, each its fields in order (see :func:`event_fields`);
        ``ValueError``, adding none of them, when one is not seven fields.
        What the fields hold is checked when the events are saved."""
        given = events if isinstance(events, list | tuple) else list(events)
        for number, fields in enumerate(given):
            if len(fields) != _FIELDS:
                raise ValueError(
                    f"event {number} has {len(fields)} fields; an event is the {_FIELDS}"
                    " of EventRecord in order (session, form, channel, event, field, code, at)"
                )
        for column, values in zip(self.columns, zip(*given, strict=True), strict=False):
            column.extend(values)

    def fields(self) -> Iterator[EventFields]:
        """Each event's fields in order, oldest first."""
        return zip(*self.columns, strict=True)

    def __len__(self) -> int:
        return len(self.columns[0])

    @overload
    def __getitem__(self, index: int) -> EventRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[EventRecord]: ...

    def __getitem__(self, index: int | slice) -> EventRecord | list[EventRecord]:
        if isinstance(index, slice):
            rows = zip(*(column[index] for column in self.columns), strict=True)
            return [EventRecord(*row) for row in rows]
        return EventRecord(*(column[index] for column in self.columns))

    def __iter__(self) -> Iterator[EventRecord]:
        for row in self.fields():
            yield EventRecord(*row)


def event_fields(event: EventRecord) -> EventFields:
    """The fields of ``event``, in order."""
    e = event
    return (e.session, e.form, e.channel, e.event, e.field, e.code, e.at)


def event_hour(moment: dt.datetime) -> int:
    """The ``hour`` column of an event at ``moment`` (aware): whole hours
    since 1970 in UTC, the key events are found by (with the form)."""
    if moment.tzinfo is dt.UTC:  # what the service makes: whole days, no division
        return (moment.toordinal() - _EPOCH_DAY) * 24 + moment.hour
    return (moment - _EPOCH) // _HOUR


def hours_between(since: dt.datetime, until: dt.datetime) -> dict[str, int]:
    """The ``first_hour`` and ``last_hour`` that hold the events of [since, until)."""
    return {"first_hour": event_hour(since), "last_hour": event_hour(until)}


async def save_events(s: Session, rows: Sequence[Sequence[object]]) -> None:
    """Store ``rows`` (see :func:`_rows`) in one transaction. Committed
    without waiting for the disk: events lost in a power cut cost no
    customer anything."""
    async with s.transaction(synced=False):
        await s.insert_rows(_INSERT, rows)


async def read_events(
    s: Session, form: str, since: dt.datetime, until: dt.datetime
) -> list[EventRecord]:
    """The events of ``form`` in [since, until), oldest first."""
    values = {"form": form, "since": since, "until": until, **hours_between(since, until)}
    rows = await s.rows(_READ, values)
    return [
        EventRecord(
            session=row[0],
            form=row[1],
            channel=row[2],
            event=row[3],
            field=row[4],
            code=row[5],
            at=s.moment(row[6]),
        )
        for row in rows
    ]


class EventMethods(abc.ABC):
    """The event methods of the ``Store`` protocol."""

    _clock: Callable[[], dt.datetime]

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice (see ``SqlStore``)."""

    async def save_events(self, events: Sequence[EventRecord]) -> int:
        """Keep a batch of visitor events in one transaction; how many.

        ``ValueError``, before any database work and storing none of the
        batch, for a caller's mistake in any of them: a session that is not
        8 to 64 of ``A-Z a-z 0-9 _ -``, a channel not in
        :data:`~intakeforms.store.records.EVENT_CHANNELS`, an event not in
        :data:`~intakeforms.store.records.EVENT_KINDS`, an empty or
        unstorable form, field or code name (or one over
        :data:`MAX_EVENT_NAME` characters), a naive ``at``. The store does
        not know the forms: checking names against them is the caller's.
        """
        if isinstance(events, EventColumns):
            rows = _rows(events.fields())
        else:
            rows = _rows(event_fields(event) for event in events)
        if rows:
            await self._write(lambda s: save_events(s, rows))
        return len(rows)

    async def events_of(
        self, form: str, since: dt.datetime, until: dt.datetime
    ) -> list[EventRecord]:
        """The raw events of ``form`` at ``since`` or later and before
        ``until``, oldest first (those retention has not deleted)."""
        start = check_moment("since", since)
        end = check_moment("until", until)
        if end < start:
            raise ValueError(f"until ({end}) is before since ({start})")
        return await self._read(lambda s: read_events(s, form, start, end))


def _rows(events: Iterable[EventFields]) -> list[tuple[object, ...]]:
    """The rows of ``events``, their values in ``_INSERT``'s order, after
    checking each: ``ValueError`` naming the first bad one's place.

    Every event of a busy stream comes this way, so it is written for speed:
    an event whose names were seen before (see :func:`_names_problem`) costs
    a cache lookup, and its session's pattern unless it is the one checked
    just before.
    """
    rows: list[tuple[object, ...]] = []
    names_problem = _names_problem
    session_ok = EVENT_SESSION.fullmatch
    # The session checked last: a visit's events come together, each with
    # the one string the service parsed for its id.
    seen: object = _UNSEEN
    for number, (session, form, channel, event, field, code, at) in enumerate(events):
        try:
            problem = names_problem(form, channel, event, field, code)
        except TypeError:  # a name that is a list or such: not cached
            problem = names_problem.__wrapped__(form, channel, event, field, code)
        if (
            problem is not None
            or (session is not seen and (type(session) is not str or not session_ok(session)))
            or at.tzinfo is not dt.UTC  # what the service makes
        ):
            where = f"event {number} of the batch"
            if not isinstance(session, str) or not session_ok(session):
                raise ValueError(f"{where}: session must be 8 to 64 of A-Z a-z 0-9 _ -")
            if problem is not None:
                raise ValueError(f"{where}: {problem}")
            at = check_moment("at", at)  # another zone is converted; naive refused
        seen = session
        rows.append((session, form, channel, event, field, code, at, event_hour(at)))
    return rows


@functools.lru_cache(maxsize=4096)
def _names_problem(
    form: object, channel: object, event: object, field: object, code: object
) -> str | None:
    """What is wrong with an event's names, or None. Cached: a stream of
    events repeats the same few dozen of them."""
    if channel not in EVENT_CHANNELS:
        return f"channel must be one of {', '.join(EVENT_CHANNELS)}"
    if event not in EVENT_KINDS:
        return f"event must be one of {', '.join(EVENT_KINDS)}"
    for name, value in (("form", form), ("field", field), ("code", code)):
        if value is None and name != "form":
            continue
        if not (
            isinstance(value, str)
            and 0 < len(value) <= MAX_EVENT_NAME
            and text_problem(value) is None
        ):
            return f"{name} is not a name a store can keep"  # not echoed: from a client
    return None
