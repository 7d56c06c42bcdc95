"""The statistics' side of the store: visits counted from raw events, and
the daily rollups that keep those counts after the events are deleted.

A *visit* is one ``session`` on one form (a page load, a widget's mount, a
chat). Visits are counted per UTC day: the visits of day D are the sessions
with an event on D and none in the :data:`VISIT_OVERLAP` before D; a visit's
events are those it has from D to :data:`VISIT_OVERLAP` after D ends, so
that a visit going on past midnight is counted whole, on the day it began.
Counting a day therefore reads the events from D minus the overlap to the
end of D plus the overlap, and the same day always gives the same counts.

What the visits of one or more days add up to is a :class:`Tally`. The
statistics (``intakeforms.stats``) count a finished day once
(:meth:`RollupMethods.count_visits`) and keep it
(:meth:`RollupMethods.save_rollup`) in the ``stats_*`` tables, kept for
good; later they read the sums of the rolled days
(:meth:`RollupMethods.read_rollups`) and count only the days not rolled yet
from the raw events.

:class:`RollupMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import Row, Session, Work
from intakeforms.store.events import event_hour, hours_between
from intakeforms.store.records import EVENT_CHANNELS

__all__ = [
    "VISIT_OVERLAP",
    "ChannelCounts",
    "FieldCounts",
    "RollupMethods",
    "Tally",
    "count_visits",
    "read_rollups",
    "save_rollup",
]

_T = TypeVar("_T")

#: How long after midnight a visit begun the day before goes on counting
#: (and how long before a day an earlier event makes a session no new visit).
VISIT_OVERLAP = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    """The visits of one channel: seen (``views``), begun (``starts``: with a
    start, answer, error or submit event) and submitted."""

    views: int = 0
    starts: int = 0
    submissions: int = 0


@dataclass(frozen=True, slots=True)
class FieldCounts:
    """One question's counts: the visits that answered it (an edit counts
    once), its error events, the visits whose furthest question it was
    (``furthest``, in the form's order when they were counted) and those of
    them that never submitted (``dropped``)."""

    answered: int = 0
    errors: int = 0
    furthest: int = 0
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class Tally:
    """What the visits of one form on some days add up to.

    ``channels`` by :data:`~intakeforms.store.records.EVENT_CHANNELS` name
    (those with no visit may be missing), ``fields`` by question name,
    ``codes`` the error events by (question, code), ``times`` the submitted
    visits by their whole seconds from first event to first submit, and
    ``days`` (views, submissions) by the day the visits began.
    """

    channels: Mapping[str, ChannelCounts] = field(default_factory=dict)
    fields: Mapping[str, FieldCounts] = field(default_factory=dict)
    codes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    times: Mapping[int, int] = field(default_factory=dict)
    days: Mapping[dt.date, tuple[int, int]] = field(default_factory=dict)

    def __add__(self, other: Tally) -> Tally:
        """Both tallies' counts together (of days apart: each visit is in one)."""
        return Tally(
            channels=_summed(self.channels, other.channels, ChannelCounts),
            fields=_summed(self.fields, other.fields, FieldCounts),
            codes=dict(Counter(self.codes) + Counter(other.codes)),
            times=dict(Counter(self.times) + Counter(other.times)),
            days={**self.days, **other.days},
        )


def _summed(a: Mapping[str, Any], b: Mapping[str, Any], kind: Callable[..., _T]) -> dict[str, _T]:
    out: dict[str, _T] = {}
    for key in {*a, *b}:
        left, right = a.get(key, kind()), b.get(key, kind())
        out[key] = kind(*(x + y for x, y in zip(_values(left), _values(right), strict=True)))
    return out


def _values(counts: ChannelCounts | FieldCounts) -> tuple[int, ...]:
    if isinstance(counts, ChannelCounts):
        return counts.views, counts.starts, counts.submissions
    return counts.answered, counts.errors, counts.furthest, counts.dropped


# -- counting one day from the raw events --------------------------------------

# One row per visit of the day: its first event, first submit, channel (the
# first of form, chat, inline its events name), whether it began, and the
# position of the furthest question its events name ({position}: a CASE of
# the form's questions, 0 for none).
_VISITS = (
    "SELECT min(happened_at), min(CASE WHEN event = 'submit' THEN happened_at END),"
    " min(CASE channel WHEN 'form' THEN 0 WHEN 'chat' THEN 1 ELSE 2 END),"
    " max(CASE WHEN event IN ('start', 'answer', 'error', 'submit') THEN 1 ELSE 0 END),"
    " max({position})"
    " FROM events WHERE form = :form AND hour >= :first_hour AND hour <= :last_hour"
    " AND happened_at >= :lo AND happened_at < :hi"
    " GROUP BY session HAVING min(happened_at) >= :start AND min(happened_at) < :end"
)
# The answers (visits) and errors (events) of each question and code, of the
# same visits.
_ANSWERS_AND_ERRORS = (
    "SELECT field, event, CASE WHEN event = 'error' THEN code END,"
    " count(*), count(DISTINCT session) FROM events"
    " WHERE form = :form AND hour >= :start_hour AND hour <= :last_hour"
    " AND happened_at >= :start AND happened_at < :hi"
    " AND event IN ('answer', 'error') AND field IS NOT NULL AND session IN ("
    "  SELECT session FROM events WHERE form = :form AND hour >= :first_hour"
    "  AND hour <= :last_hour AND happened_at >= :lo AND happened_at < :hi GROUP BY session"
    "  HAVING min(happened_at) >= :start AND min(happened_at) < :end)"
    " GROUP BY field, event, CASE WHEN event = 'error' THEN code END"
)


def _position(questions: Sequence[str]) -> tuple[str, dict[str, object]]:
    """The CASE giving a question's place (1, 2, …) in ``questions``, with its values."""
    if not questions:
        return "0", {}
    whens = " ".join(f"WHEN :q{i} THEN {i + 1}" for i in range(len(questions)))
    return f"CASE field {whens} ELSE 0 END", {f"q{i}": q for i, q in enumerate(questions)}


def day_bounds(day: dt.date) -> dict[str, dt.datetime]:
    """The moments counting ``day`` reads between (see the module's docstring)."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    end = start + dt.timedelta(days=1)
    return {"lo": start - VISIT_OVERLAP, "start": start, "end": end, "hi": end + VISIT_OVERLAP}


async def count_visits(s: Session, form: str, day: dt.date, questions: Sequence[str]) -> Tally:
    """The visits of ``form`` that began on ``day``, counted from the raw
    events, with ``questions`` (the form's, in order) for the furthest one."""
    position, named = _position(questions)
    bounds = day_bounds(day)
    hours = {**hours_between(bounds["lo"], bounds["hi"]), "start_hour": event_hour(bounds["start"])}
    values = {"form": form, **bounds, **hours, **named}
    async with s.transaction(write=False):  # one snapshot for both reads
        visits = await s.rows(_VISITS.format(position=position), values)
        answers = await s.rows(_ANSWERS_AND_ERRORS, values)
    return _tally(s, day, questions, visits, answers)


def _tally(
    s: Session, day: dt.date, questions: Sequence[str], visits: list[Row], answers: list[Row]
) -> Tally:
    channels = {name: [0, 0, 0] for name in EVENT_CHANNELS}
    furthest: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    times: Counter[int] = Counter()
    for first, submitted, channel, started, place in visits:
        counts = channels[EVENT_CHANNELS[channel]]
        counts[0] += 1
        counts[1] += int(started)
        if submitted is not None:
            counts[2] += 1
            times[int((s.moment(submitted) - s.moment(first)).total_seconds())] += 1
        if place:
            furthest[questions[place - 1]] += 1
            dropped[questions[place - 1]] += submitted is None
    answered: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    codes: dict[tuple[str, str], int] = {}
    for name, event, code, events, sessions in answers:
        if event == "answer":
            answered[name] += int(sessions)
        else:
            errors[name] += int(events)
            if code is not None:
                codes[(name, code)] = codes.get((name, code), 0) + int(events)
    fields = {
        name: FieldCounts(answered[name], errors[name], furthest[name], dropped[name])
        for name in {*answered, *errors, *furthest}
    }
    views = sum(c[0] for c in channels.values())
    submissions = sum(c[2] for c in channels.values())
    return Tally(
        channels={k: ChannelCounts(*c) for k, c in channels.items() if c[0]},
        fields=fields,
        codes=codes,
        times=dict(times),
        days={day: (views, submissions)} if views else {},
    )


# -- the rollups -----------------------------------------------------------------

_MARK_DAY = (
    "INSERT INTO stats_days (form, day, rolled_at) VALUES (:form, :day, :at)"
    " ON CONFLICT (form, day) DO NOTHING"
)
_INSERT_CHANNEL = (
    "INSERT INTO stats_channels (form, day, channel, views, starts, submissions)"
    " VALUES (:form, :day, :channel, :views, :starts, :submissions)"
)
_INSERT_FIELD = (
    "INSERT INTO stats_fields (form, day, field, answered, errors, furthest, dropped)"
    " VALUES (:form, :day, :field, :answered, :errors, :furthest, :dropped)"
)
_INSERT_CODE = (
    "INSERT INTO stats_codes (form, day, field, code, errors)"
    " VALUES (:form, :day, :field, :code, :errors)"
)
_INSERT_TIME = (
    "INSERT INTO stats_times (form, day, seconds, visits) VALUES (:form, :day, :seconds, :visits)"
)
# The rolled days of a form from :first to :last (inclusive), and their sums.
_ROLLED = "SELECT day FROM stats_days WHERE form = :form AND day >= :first AND day <= :last"
_SUM_CHANNELS = (
    "SELECT channel, sum(views), sum(starts), sum(submissions) FROM stats_channels"
    " WHERE form = :form AND day >= :first AND day <= :last GROUP BY channel"
)
_SUM_DAYS = (
    "SELECT day, sum(views), sum(submissions) FROM stats_channels"
    " WHERE form = :form AND day >= :first AND day <= :last GROUP BY day"
)
_SUM_FIELDS = (
    "SELECT field, sum(answered), sum(errors), sum(furthest), sum(dropped) FROM stats_fields"
    " WHERE form = :form AND day >= :first AND day <= :last GROUP BY field"
)
_SUM_CODES = (
    "SELECT field, code, sum(errors) FROM stats_codes"
    " WHERE form = :form AND day >= :first AND day <= :last GROUP BY field, code"
)
_SUM_TIMES = (
    "SELECT seconds, sum(visits) FROM stats_times"
    " WHERE form = :form AND day >= :first AND day <= :last GROUP BY seconds"
)
# The first hour's events only (the index gives the first hour at once).
_FIRST_EVENT = (
    "SELECT min(happened_at) FROM events WHERE form = :form"
    " AND hour = (SELECT min(hour) FROM events WHERE form = :form)"
)


async def save_rollup(s: Session, form: str, day: dt.date, tally: Tally, at: dt.datetime) -> bool:
    """Keep ``tally`` as the rollup of ``form`` on ``day``; False, keeping
    nothing, when that day is rolled already (by another process, say)."""
    key = {"form": form, "day": day.isoformat()}
    async with s.transaction():
        if await s.change(_MARK_DAY, {**key, "at": at}) != 1:
            return False
        rows: list[tuple[str, list[dict[str, object]]]] = [
            (
                _INSERT_CHANNEL,
                [
                    {
                        **key,
                        "channel": name,
                        "views": c.views,
                        "starts": c.starts,
                        "submissions": c.submissions,
                    }
                    for name, c in tally.channels.items()
                ],
            ),
            (
                _INSERT_FIELD,
                [
                    {
                        **key,
                        "field": name,
                        "answered": f.answered,
                        "errors": f.errors,
                        "furthest": f.furthest,
                        "dropped": f.dropped,
                    }
                    for name, f in tally.fields.items()
                ],
            ),
            (
                _INSERT_CODE,
                [{**key, "field": q, "code": c, "errors": n} for (q, c), n in tally.codes.items()],
            ),
            (
                _INSERT_TIME,
                [{**key, "seconds": sec, "visits": n} for sec, n in tally.times.items()],
            ),
        ]
        for statement, values in rows:
            if values:
                await s.change_many(statement, values)
    return True


async def read_rollups(s: Session, form: str, first: dt.date, last: dt.date) -> Tally:
    """The sums of the rollups of ``form`` from ``first`` to ``last``."""
    values = {"form": form, "first": first.isoformat(), "last": last.isoformat()}
    async with s.transaction(write=False):  # one snapshot for every read
        channels = await s.rows(_SUM_CHANNELS, values)
        days = await s.rows(_SUM_DAYS, values)
        fields = await s.rows(_SUM_FIELDS, values)
        codes = await s.rows(_SUM_CODES, values)
        times = await s.rows(_SUM_TIMES, values)
    return Tally(
        channels={str(r[0]): ChannelCounts(int(r[1]), int(r[2]), int(r[3])) for r in channels},
        fields={str(r[0]): FieldCounts(*(int(n) for n in r[1:])) for r in fields},
        codes={(str(r[0]), str(r[1])): int(r[2]) for r in codes},
        times={int(r[0]): int(r[1]) for r in times},
        days={_day(r[0]): (int(r[1]), int(r[2])) for r in days},
    )


async def rolled_days(s: Session, form: str, first: dt.date, last: dt.date) -> frozenset[dt.date]:
    """The days of ``form`` from ``first`` to ``last`` that are rolled."""
    values = {"form": form, "first": first.isoformat(), "last": last.isoformat()}
    return frozenset(_day(row[0]) for row in await s.rows(_ROLLED, values))


async def first_event_day(s: Session, form: str) -> dt.date | None:
    """The day of the oldest raw event of ``form`` kept, or None."""
    row = await s.row(_FIRST_EVENT, {"form": form})
    return None if row is None or row[0] is None else s.moment(row[0]).date()


def _day(stored: object) -> dt.date:
    """A stored day: a ``date`` from PostgreSQL, ISO text from SQLite."""
    return stored if isinstance(stored, dt.date) else dt.date.fromisoformat(str(stored))


# -- the Store methods -----------------------------------------------------------


class RollupMethods(abc.ABC):
    """The statistics' methods of the ``Store`` protocol."""

    _clock: Callable[[], dt.datetime]

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice (see ``SqlStore``)."""

    async def count_visits(self, form: str, day: dt.date, questions: Sequence[str]) -> Tally:
        """The visits of ``form`` that began on the UTC ``day``, counted from
        the raw events (see the module's docstring); ``questions`` are the
        form's, in order, for each visit's furthest question."""
        _check_day("day", day)
        return await self._read(lambda s: count_visits(s, form, day, tuple(questions)))

    async def save_rollup(
        self, form: str, day: dt.date, tally: Tally, *, at: dt.datetime | None = None
    ) -> bool:
        """Keep ``tally`` for good as the counts of ``form`` on ``day`` (rolled
        ``at``, else now); False, keeping nothing, when the day is rolled
        already."""
        _check_day("day", day)
        moment = self._clock() if at is None else check_moment("at", at)
        return await self._write(lambda s: save_rollup(s, form, day, tally, moment))

    async def rolled_days(self, form: str, first: dt.date, last: dt.date) -> frozenset[dt.date]:
        """Which days of ``form`` from ``first`` to ``last`` (inclusive) are rolled."""
        _check_span(first, last)
        return await self._read(lambda s: rolled_days(s, form, first, last))

    async def read_rollups(self, form: str, first: dt.date, last: dt.date) -> Tally:
        """The sums of the rolled days of ``form`` from ``first`` to ``last``
        (inclusive); a day not rolled adds nothing."""
        _check_span(first, last)
        return await self._read(lambda s: read_rollups(s, form, first, last))

    async def first_event_day(self, form: str) -> dt.date | None:
        """The UTC day of the oldest raw event of ``form`` still kept, or None."""
        return await self._read(lambda s: first_event_day(s, form))


def _check_day(name: str, day: object) -> None:
    # A datetime is a date too, and would be cut to its day silently.
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise TypeError(f"{name} must be a datetime.date, not {type(day).__name__}")


def _check_span(first: dt.date, last: dt.date) -> None:
    _check_day("first", first)
    _check_day("last", last)
    if last < first:
        raise ValueError(f"last ({last}) is before first ({first})")
