"""Dates and times of day, with fixed and relative bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from intakeforms.fields import FieldProblem
from intakeforms.fields.dates import check_date, check_time, parse_date_bound, parse_time

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "bound"),
    [("today", 0), ("today+7", 7), ("today - 3", -3), ("2026-01-31", dt.date(2026, 1, 31))],
)
def test_date_bounds(text: str, bound: object) -> None:
    assert parse_date_bound(text) == bound


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "31.1.2026", "today+x"])
def test_bad_date_bounds_say_what_to_write(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD, today"):
        parse_date_bound(bad)


def test_relative_bounds_move_with_the_day() -> None:
    assert check_date("2026-11-24", minimum=1, maximum=None, today=TODAY) == "2026-11-24"
    with pytest.raises(FieldProblem) as caught:
        check_date("2026-11-23", minimum=1, maximum=None, today=TODAY)
    assert caught.value.params == {"min": dt.date(2026, 11, 24)}
    with pytest.raises(FieldProblem, match="date_too_late"):
        check_date("2027-01-01", minimum=None, maximum=dt.date(2026, 12, 31), today=TODAY)


@pytest.mark.parametrize(
    "bad", ["20261124", "2026-11-31", "2026-1-1", 20261124, "2026-11-24T10:00"]
)
def test_invalid_dates(bad: object) -> None:
    with pytest.raises(FieldProblem, match="invalid_date"):
        check_date(bad, minimum=None, maximum=None, today=TODAY)


def test_times() -> None:
    assert check_time("08:05", minimum=parse_time("08:00"), maximum=None) == "08:05"
    assert check_time("08:05:30", minimum=None, maximum=None) == "08:05:30"
    assert check_time("08:05:00", minimum=None, maximum=None) == "08:05"
    for bad in ("8:05", "24:00", "08:60", "08.05", 805):
        with pytest.raises(FieldProblem, match="invalid_time"):
            check_time(bad, minimum=None, maximum=None)
