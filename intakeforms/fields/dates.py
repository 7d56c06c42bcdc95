"""Dates and times of day: the types date and time."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import (
    FieldModel,
    FieldType,
    Issue,
    fixed_input,
    min_over_max,
    string_schema,
)

__all__ = [
    "DATE",
    "DATE_PATTERN",
    "TIME",
    "TIME_PATTERN",
    "DateField",
    "TimeField",
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


# -- the field types ---------------------------------------------------------------


class DateField(FieldModel):
    """A calendar date (YYYY-MM-DD)."""

    type: Literal["date"]
    min: str | None = Field(default=None, description="YYYY-MM-DD, today, or today+N / today-N.")
    max: str | None = Field(default=None, description="YYYY-MM-DD, today, or today+N / today-N.")


class TimeField(FieldModel):
    """A time of day (HH:MM, 24-hour)."""

    type: Literal["time"]
    min: str | None = None
    max: str | None = None


def _time_bound(text: str) -> dt.time:
    try:
        return parse_time(text.strip())
    except FieldProblem:
        raise ValueError(f"{text!r} is not a time; write HH:MM") from None


def _bounds(f: DateField | TimeField, parse: Callable[[str], Any]) -> tuple[Any, list[Issue]]:
    """The parsed (min, max), each None when left out or wrong."""
    bounds: list[Any] = []
    issues = []
    for key in ("min", "max"):
        raw = getattr(f, key)
        try:
            bounds.append(None if raw is None else parse(raw))
        except ValueError as exc:
            issues.append(Issue((key,), "invalid_value", str(exc)))
            bounds.append(None)
    return (bounds[0], bounds[1]), issues


def _prepare_date(f: DateField) -> tuple[Any, list[Issue]]:
    (low, high), issues = _bounds(f, parse_date_bound)
    # Relative and fixed bounds cannot be compared at load time.
    if type(low) is type(high):
        issues.extend(min_over_max(low, high, f.min, f.max))
    return (low, high), issues


def _prepare_time(f: TimeField) -> tuple[Any, list[Issue]]:
    (low, high), issues = _bounds(f, _time_bound)
    return (low, high), [*issues, *min_over_max(low, high, f.min, f.max)]


def _date_spec(f: DateField, bounds: Any, text: Any, today: dt.date) -> dict[str, Any]:
    low, high = bounds
    return {
        "min": None if low is None else resolve_date_bound(low, today).isoformat(),
        "max": None if high is None else resolve_date_bound(high, today).isoformat(),
    }


def _time_spec(f: TimeField, bounds: Any, text: Any, today: Any) -> dict[str, Any]:
    low, high = bounds
    return {
        "min": None if low is None else low.isoformat("minutes"),
        "max": None if high is None else high.isoformat("minutes"),
    }


def _check_date(f: DateField, value: Any, bounds: Any, today: dt.date) -> str:
    low, high = bounds or (None, None)
    return check_date(value, minimum=low, maximum=high, today=today)


def _check_time(f: TimeField, value: Any, bounds: Any, today: Any) -> str:
    low, high = bounds or (None, None)
    return check_time(value, minimum=low, maximum=high)


DATE = FieldType(
    name="date",
    codes=("invalid_date", "date_too_early", "date_too_late"),
    model=DateField,
    schema=lambda f, p: string_schema(DATE_PATTERN, format="date"),
    check=_check_date,
    input=fixed_input(control="input", type="date"),
    prepare=_prepare_date,
    spec=_date_spec,
)
TIME = FieldType(
    name="time",
    codes=("invalid_time", "time_too_early", "time_too_late"),
    model=TimeField,
    schema=lambda f, p: string_schema(TIME_PATTERN),
    check=_check_time,
    input=fixed_input(control="input", type="time"),
    prepare=_prepare_time,
    spec=_time_spec,
)
