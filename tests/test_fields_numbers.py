"""Whole and decimal numbers, as JSON values and as typed text."""

from __future__ import annotations

import pytest

from intakeforms.fields import FieldProblem
from intakeforms.fields.numbers import check_integer, check_number


@pytest.mark.parametrize(
    ("text", "value"),
    [("120 000", 120000), ("120\u00a0000", 120000), ("1\u202f000", 1000), ("+7", 7), (" -3 ", -3)],
)
def test_integer_text_with_digit_grouping(text: str, value: int) -> None:
    assert check_integer(text, minimum=None, maximum=None) == value


@pytest.mark.parametrize(("text", "value"), [("12,5", 12.5), ("12.5", 12.5), (",5", 0.5), ("3", 3)])
def test_decimal_comma_or_point(text: str, value: float) -> None:
    assert check_number(text, minimum=None, maximum=None) == value


def test_bounds_name_the_limit() -> None:
    with pytest.raises(FieldProblem) as caught:
        check_integer(11, minimum=0, maximum=10)
    assert (caught.value.code, caught.value.params) == ("too_large", {"max": 10})
    with pytest.raises(FieldProblem) as caught:
        check_number(-0.5, minimum=0, maximum=None)
    assert (caught.value.code, caught.value.params) == ("too_small", {"min": 0})


@pytest.mark.parametrize("bad", ["1e5", "0x10", "1,2,3", "", "1" * 31, None, [], {}])
def test_integer_refuses(bad: object) -> None:
    with pytest.raises(FieldProblem, match="not_integer"):
        check_integer(bad, minimum=None, maximum=None)


@pytest.mark.parametrize("bad", ["1e5", "inf", "nan", float("inf"), True, None, "1.2.3"])
def test_number_refuses(bad: object) -> None:
    with pytest.raises(FieldProblem, match="not_number"):
        check_number(bad, minimum=None, maximum=None)


def test_whole_numbers_stay_int() -> None:
    assert type(check_number(4.0, minimum=None, maximum=None)) is int
    assert type(check_number(1e300, minimum=None, maximum=None)) is float
