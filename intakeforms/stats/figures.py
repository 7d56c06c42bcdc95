"""One form's figures over a period, made from what its visits add up to.

:func:`figures_of` turns a :class:`~intakeforms.store.rollups.Tally` (the
counts of the period's visits, rolled or counted from raw events) and the
FAQ's counts into :class:`FormFigures`; :meth:`FormFigures.as_json` is the
shape the dashboard, ``GET /admin/api/stats`` and ``intakeforms stats
--json`` give. docs/insight.md defines every figure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from intakeforms.form import Form
from intakeforms.store.records import EVENT_CHANNELS
from intakeforms.store.rollups import ChannelCounts, Tally

__all__ = [
    "ChannelFigures",
    "DayFigures",
    "FaqFigures",
    "FieldFigures",
    "FormFigures",
    "SubmitTimes",
    "figures_of",
    "questions_of",
    "rate",
    "submit_times",
]


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """The visits of one channel (or all): seen, begun, submitted, and
    ``completion_rate`` = submissions / views (0.0 with no views)."""

    views: int
    starts: int
    submissions: int
    completion_rate: float

    def as_json(self) -> dict[str, Any]:
        """``{"views", "starts", "submissions", "completion_rate"}``."""
        return {
            "views": self.views,
            "starts": self.starts,
            "submissions": self.submissions,
            "completion_rate": self.completion_rate,
        }


@dataclass(frozen=True, slots=True)
class FieldFigures:
    """One question's funnel: the visits that ``reached`` it (named it or a
    later question), ``answered`` it, its error events (``errors``, and by
    code in ``codes``, most first) and the visits ``dropped`` there (their
    furthest question, never submitted)."""

    field: str
    reached: int
    answered: int
    errors: int
    dropped: int
    codes: Mapping[str, int]

    def as_json(self) -> dict[str, Any]:
        """``{"field", "reached", "answered", "errors", "dropped", "codes"}``."""
        return {
            "field": self.field,
            "reached": self.reached,
            "answered": self.answered,
            "errors": self.errors,
            "dropped": self.dropped,
            "codes": dict(self.codes),
        }


@dataclass(frozen=True, slots=True)
class SubmitTimes:
    """Seconds from a submitted visit's first event to its first submit:
    the median and the 90th percentile (nearest rank); None with no
    submitted visit."""

    median: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class FaqFigures:
    """The FAQ searches made before the form in the period: how many,
    how many were marked helpful, how many of those never went on to the
    form (``deflected``), and the commonest queries with no good answer."""

    searches: int
    helpful: int
    deflected: int
    no_answer: tuple[tuple[str, int], ...]

    def as_json(self) -> dict[str, Any]:
        """``{"searches", "helpful", "deflected", "no_answer": [{"q", "count"}]}``."""
        return {
            "searches": self.searches,
            "helpful": self.helpful,
            "deflected": self.deflected,
            "no_answer": [{"q": q, "count": n} for q, n in self.no_answer],
        }


@dataclass(frozen=True, slots=True)
class DayFigures:
    """The visits that began on one UTC day: seen and submitted."""

    date: dt.date
    views: int
    submissions: int


@dataclass(frozen=True, slots=True)
class FormFigures:
    """Every figure of one form over the days ``start`` to ``end`` (UTC,
    inclusive): totals, per channel, per question, times to submit, the
    FAQ's and one entry per day. See docs/insight.md for each definition."""

    form: str
    start: dt.date
    end: dt.date
    totals: ChannelFigures
    by_channel: Mapping[str, ChannelFigures]
    fields: tuple[FieldFigures, ...]
    time_to_submit: SubmitTimes
    faq: FaqFigures
    per_day: tuple[DayFigures, ...]

    @property
    def views(self) -> int:
        """The period's visits."""
        return self.totals.views

    @property
    def starts(self) -> int:
        """The visits that began answering."""
        return self.totals.starts

    @property
    def submissions(self) -> int:
        """The visits that submitted."""
        return self.totals.submissions

    @property
    def completion_rate(self) -> float:
        """submissions / views, to 4 places (0.0 with no views)."""
        return self.totals.completion_rate

    def as_json(self) -> dict[str, Any]:
        """The figures as JSON-able values, in the shape of ``GET
        /admin/api/stats`` (docs/insight.md)."""
        return {
            "form": self.form,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "views": self.views,
            "starts": self.starts,
            "submissions": self.submissions,
            "completion_rate": self.completion_rate,
            "by_channel": {name: c.as_json() for name, c in self.by_channel.items()},
            "fields": [f.as_json() for f in self.fields],
            "time_to_submit_seconds": {
                "median": self.time_to_submit.median,
                "p90": self.time_to_submit.p90,
            },
            "faq": self.faq.as_json(),
            "per_day": [
                {"date": d.date.isoformat(), "views": d.views, "submissions": d.submissions}
                for d in self.per_day
            ],
        }


def questions_of(form: Form) -> tuple[str, ...]:
    """The form's questions in form order: every field but hidden ones."""
    return tuple(name for name, field in form.fields.items() if field.type != "hidden")


def rate(part: int, whole: int) -> float:
    """``part / whole`` to 4 places; 0.0 when ``whole`` is 0."""
    return round(part / whole, 4) if whole else 0.0


def submit_times(times: Mapping[int, int]) -> SubmitTimes:
    """The median (the middle value, or the mean of the two middle ones)
    and the nearest-rank 90th percentile (the ceil(0.9 n)-th smallest) of
    the seconds in ``times`` (seconds → how many visits took them)."""
    ordered = sorted((seconds, n) for seconds, n in times.items() if n > 0)
    count = sum(n for _, n in ordered)
    if not count:
        return SubmitTimes(None, None)

    def nth(rank: int) -> int:  # the rank-th smallest, from 1
        seen = 0
        for seconds, n in ordered:
            seen += n
            if seen >= rank:
                return seconds
        raise AssertionError("rank past the count")  # pragma: no cover

    if count % 2:
        median = float(nth(count // 2 + 1))
    else:
        median = (nth(count // 2) + nth(count // 2 + 1)) / 2
    return SubmitTimes(median, float(nth(math.ceil(0.9 * count))))


def _channel(counts: ChannelCounts) -> ChannelFigures:
    return ChannelFigures(
        counts.views, counts.starts, counts.submissions, rate(counts.submissions, counts.views)
    )


def figures_of(
    form: Form,
    start: dt.date,
    end: dt.date,
    tally: Tally,
    faq: FaqFigures,
) -> FormFigures:
    """The figures of ``form`` from ``start`` to ``end`` out of ``tally``,
    the sum of the visits of those days, and the FAQ's figures."""
    channels = {name: tally.channels.get(name, ChannelCounts()) for name in EVENT_CHANNELS}
    total = ChannelCounts(
        sum(c.views for c in channels.values()),
        sum(c.starts for c in channels.values()),
        sum(c.submissions for c in channels.values()),
    )
    return FormFigures(
        form=form.id,
        start=start,
        end=end,
        totals=_channel(total),
        by_channel={name: _channel(c) for name, c in channels.items()},
        fields=_fields(questions_of(form), tally),
        time_to_submit=submit_times(tally.times),
        faq=faq,
        per_day=tuple(DayFigures(day, *tally.days.get(day, (0, 0))) for day in _days(start, end)),
    )


def _fields(questions: Sequence[str], tally: Tally) -> tuple[FieldFigures, ...]:
    # A visit reached question i when its furthest question is i or later.
    out: list[FieldFigures] = []
    reached = 0
    for name in reversed(questions):
        counts = tally.fields.get(name)
        reached += counts.furthest if counts else 0
        codes = sorted(
            ((code, n) for (field, code), n in tally.codes.items() if field == name and n),
            key=lambda c: (-c[1], c[0]),
        )
        out.append(
            FieldFigures(
                field=name,
                reached=reached,
                answered=counts.answered if counts else 0,
                errors=counts.errors if counts else 0,
                dropped=counts.dropped if counts else 0,
                codes=dict(codes),
            )
        )
    return tuple(reversed(out))


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
