"""Daily rollups: each finished day's visits counted once and kept for good.

Raw events are deleted after ``INTAKE_EVENT_RETENTION_DAYS``; before that,
:func:`roll_up` counts every finished day of each form from them
(:meth:`Store.count_visits`) and keeps the counts in the rollup tables
(:meth:`Store.save_rollup`). It runs in the hourly retention and in
``intakeforms purge`` before they delete events, and
:func:`~intakeforms.stats.form_figures` rolls the days it needs that are
not rolled yet. A day is finished :data:`ROLL_AFTER` after it ends: its
visits go on counting for :data:`~intakeforms.store.rollups.VISIT_OVERLAP`
past midnight, and events reach the store a moment after they happen.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping

from intakeforms.form import Form
from intakeforms.stats.figures import questions_of
from intakeforms.store import Store
from intakeforms.store.rollups import VISIT_OVERLAP

__all__ = ["ROLL_AFTER", "days_between", "last_finished_day", "roll_days", "roll_up", "utc"]

logger = logging.getLogger("intakeforms.stats")

#: How long after a UTC day ends it is rolled up.
ROLL_AFTER = VISIT_OVERLAP + dt.timedelta(minutes=5)
_DAY = dt.timedelta(days=1)


def utc(now: dt.datetime | None) -> dt.datetime:
    """``now`` in UTC (the current time when None); a naive one is refused."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (with a time zone)")
    return now.astimezone(dt.UTC)


def last_finished_day(now: dt.datetime) -> dt.date:
    """The last UTC day that is finished at ``now`` (see :data:`ROLL_AFTER`)."""
    return (now - ROLL_AFTER).date() - _DAY


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Every day from ``first`` to ``last``, both included."""
    day = first
    while day <= last:
        yield day
        day += _DAY


async def roll_days(
    store: Store, form: Form, first: dt.date | None, last: dt.date, at: dt.datetime
) -> int:
    """Roll the days of ``form`` from ``first`` (None: its oldest raw event's)
    to ``last`` that are not rolled yet; how many this call rolled.

    Days before the oldest raw event kept are left alone: they hold no
    visit, or their events are gone already.
    """
    oldest = await store.first_event_day(form.id)
    if oldest is None:
        return 0
    begin = oldest if first is None else max(first, oldest)
    if begin > last:
        return 0
    done = await store.rolled_days(form.id, begin, last)
    questions = questions_of(form)
    rolled = 0
    for day in days_between(begin, last):
        if day in done:
            continue
        tally = await store.count_visits(form.id, day, questions)
        # False: another process rolled it meanwhile, with the same counts.
        rolled += await store.save_rollup(form.id, day, tally, at=at)
    return rolled


async def roll_up(
    store: Store, forms: Mapping[str, Form], *, now: dt.datetime | None = None
) -> int:
    """Roll every finished day of ``forms`` that has raw events and is not
    rolled yet; how many days (of all forms) were rolled.

    Events of a form not in ``forms`` are not rolled: give the forms the
    service runs with. Safe to run in several processes at once: each day
    is kept once.
    """
    moment = utc(now)
    last = last_finished_day(moment)
    rolled = 0
    for form in forms.values():
        rolled += await roll_days(store, form, None, last, moment)
    if rolled:
        logger.info("stats: rolled up %d day(s) of visitor events", rolled)
    return rolled
