"""The figures of one form over a period: rolled days and the days since.

A period's finished days are read from the rollups (rolling those not
rolled yet first); the days not finished (today, and yesterday until
:data:`~intakeforms.stats.rollup.ROLL_AFTER` past midnight) are counted from
the raw events. Both count a day the same way, so a day's figures do not
change when it is rolled.
"""

from __future__ import annotations

import datetime as dt

from intakeforms.form import Form
from intakeforms.stats.figures import FaqFigures, FormFigures, figures_of, questions_of
from intakeforms.stats.rollup import days_between, last_finished_day, roll_days, utc
from intakeforms.store import Store
from intakeforms.store.rollups import Tally

__all__ = ["NO_ANSWER_LIMIT", "form_figures"]

#: How many queries with no good answer the figures list.
NO_ANSWER_LIMIT = 10
_DAY = dt.timedelta(days=1)


async def form_figures(
    store: Store,
    form: Form,
    start: dt.date,
    end: dt.date,
    *,
    now: dt.datetime | None = None,
) -> FormFigures:
    """Every figure of ``form`` over the UTC days ``start`` to ``end``
    (inclusive), as of ``now`` (the current time when None).

    Finished days come from the rollups; a finished day of the period not
    rolled yet is rolled now (so the store must take writes). Raises
    ``TypeError`` for a ``start`` or ``end`` that is not a ``datetime.date``
    and ``ValueError`` when ``end`` is before ``start``; store failures
    raise :class:`~intakeforms.errors.StoreUnavailable`.
    """
    for name, day in (("start", start), ("end", end)):
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise TypeError(f"{name} must be a datetime.date, not {type(day).__name__}")
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start}); swap them")
    moment = utc(now)
    finished = last_finished_day(moment)
    tally = Tally()
    if start <= finished:
        rolled_end = min(end, finished)
        await roll_days(store, form, start, rolled_end, moment)
        tally = await store.read_rollups(form.id, start, rolled_end)
    questions = questions_of(form)
    for day in days_between(max(start, finished + _DAY), min(end, moment.date())):
        tally = tally + await store.count_visits(form.id, day, questions)
    return figures_of(form, start, end, tally, await _faq(store, form.id, start, end))


async def _faq(store: Store, form: str, start: dt.date, end: dt.date) -> FaqFigures:
    """The FAQ searches made before ``form`` from ``start`` to ``end``."""
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end + _DAY, dt.time(), dt.UTC)
    counts = await store.faq_counts(since, until, form)
    deflected = await store.faq_deflected(since, until, form)
    gaps = await store.faq_gaps(since, NO_ANSWER_LIMIT, form=form, until=until)
    return FaqFigures(counts.searches, counts.helpful, deflected, tuple(gaps))
