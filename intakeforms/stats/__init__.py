"""What customers do on the forms, in figures: visits, drop-off, times, FAQ.

Pages and widgets report visitor events (``POST /events``); the figures
count *visits* (one session on one form) per UTC day::

    figures = await form_figures(store, form, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    figures.completion_rate          # submissions / views
    figures.as_json()                # what GET /admin/api/stats answers

Finished days are rolled up once into tables kept for good
(:func:`roll_up`, run by the hourly retention and ``intakeforms purge``
before raw events are deleted); today is counted from the raw events.
docs/insight.md defines every figure.
"""

from __future__ import annotations

from intakeforms.stats.figures import (
    ChannelFigures,
    DayFigures,
    FaqFigures,
    FieldFigures,
    FormFigures,
    SubmitTimes,
)
from intakeforms.stats.period import NO_ANSWER_LIMIT, form_figures
from intakeforms.stats.rollup import ROLL_AFTER, roll_up

__all__ = [
    "NO_ANSWER_LIMIT",
    "ROLL_AFTER",
    "ChannelFigures",
    "DayFigures",
    "FaqFigures",
    "FieldFigures",
    "FormFigures",
    "SubmitTimes",
    "form_figures",
    "roll_up",
]
