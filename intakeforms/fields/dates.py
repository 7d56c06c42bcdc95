"""Dates and times of day."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from intakeforms.fields import FieldProblem

__all__ = [
    "DATE_PATTERN",
    "TIME_PATTERN",
    "check_date",
    "check_time",
    "parse_date_bound",
    "parse_time",
    "resolve_date_bound",
]

DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Browsers post HH:MM, or HH:MM:SS when the input's step is under a minute.
TIME_PATTERN = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"

_DATE = re.compile(DATE_PATTERN)
_TIME = re.compile(TIME_PATTERN)
_RELATIVE = re.compile(r"today(?:\s*([+-])\s*([0-9]{1,5}))?")

#: A date bound as written: a fixed date, or days from the day of submission.
DateBound = dt.date | int


def parse_date_bound(text: str) -> DateBound:
    """``2026-01-31`` → a date; ``today``, ``today+7`` → a day offset.

    Raises ``ValueError`` saying what is accepted.
    """
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        sign, days = relative.groups()
        return 0 if days is None else int(days) * (-1 if sign == "-" else 1)
    try:
        return _parse_date(text.strip())
    except FieldProblem:
        raise ValueError(
            f"{text!r} is not a date; write YYYY-MM-DD, today, or today+N / today-N"
        ) from None


def resolve_date_bound(bound: DateBound, today: dt.date) -> dt.date:
    """The bound as a date on the day ``today``."""
    return today + dt.timedelta(days=bound) if isinstance(bound, int) else bound


def _parse_date(text: str) -> dt.date:
    if not _DATE.fullmatch(text):
        raise FieldProblem("invalid_date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FieldProblem("invalid_date") from None


def check_date(
    value: Any, *, minimum: DateBound | None, maximum: DateBound | None, today: dt.date
) -> str:
    """An existing calendar date, as ``YYYY-MM-DD``, within its bounds."""
    if not isinstance(value, str):
        raise FieldProblem("invalid_date")
    day = _parse_date(value.strip())
    if minimum is not None and day < (low := resolve_date_bound(minimum, today)):
        raise FieldProblem("date_too_early", min=low)
    if maximum is not None and day > (high := resolve_date_bound(maximum, today)):
        raise FieldProblem("date_too_late", max=high)
    return day.isoformat()


def parse_time(text: str) -> dt.time:
    """``HH:MM`` or ``HH:MM:SS`` (24-hour) → a time; ``invalid_time`` otherwise."""
    if not _TIME.fullmatch(text):
        raise FieldProblem("invalid_time")
    return dt.time.fromisoformat(text)


def check_time(value: Any, *, minimum: dt.time | None, maximum: dt.time | None) -> str:
    """A time of day as ``HH:MM`` (seconds kept when given), within its bounds."""
    if not isinstance(value, str):
        raise FieldProblem("invalid_time")
    moment = parse_time(value.strip())
    if minimum is not None and moment < minimum:
        raise FieldProblem("time_too_early", min=minimum)
    if maximum is not None and moment > maximum:
        raise FieldProblem("time_too_late", max=maximum)
    return moment.isoformat("seconds" if moment.second else "minutes")
