"""Whole and decimal numbers, as JSON values and as typed text."""

from __future__ import annotations

import json
import math

import pytest

from intakeforms.fields import FieldProblem
from intakeforms.fields.numbers import check_integer, check_number, json_integer


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


@pytest.mark.parametrize(
    "bad", ["1e5", "0x10", "1,2,3", "", "1.5", 2.5, float("nan"), None, [], {}]
)
def test_integer_refuses(bad: object) -> None:
    with pytest.raises(FieldProblem, match="not_integer"):
        check_integer(bad, minimum=None, maximum=None)


@pytest.mark.parametrize("bad", ["1e5", "inf", "nan", float("nan"), True, None, "1.2.3", ".", "+"])
def test_number_refuses(bad: object) -> None:
    with pytest.raises(FieldProblem, match="not_number"):
        check_number(bad, minimum=None, maximum=None)


def test_whole_numbers_stay_int() -> None:
    assert type(check_number(4.0, minimum=None, maximum=None)) is int
    assert type(check_number(4e14, minimum=None, maximum=None)) is int
    assert type(check_number(4.5, minimum=None, maximum=None)) is float


HUGE = {
    "inf": float("inf"),  # what JSON's 1e400 reads as
    "-inf": float("-inf"),
    "1e300": 1e300,
    "10**15": 10**15,
    "-10**15": -(10**15),
    "10**5000": 10**5000,  # str() of it raises: past Python's int_max_str_digits
    "5000 digits": "1" * 5000,
    "-5000 digits": "-" + "9" * 5000,
    "grouped": "1 000 000 000 000 000",
    "zeros first": "0000" + "1" * 16,
}


@pytest.mark.parametrize("huge", HUGE.values(), ids=HUGE.keys())
def test_numbers_of_fifteen_digits_or_more_are_refused(huge: object) -> None:
    # Before: inf and 1e300 were not_number or accepted, 10**5000 accepted,
    # and the agent email could not be built from them.
    for check in (check_integer, check_number):
        with pytest.raises(FieldProblem, match="number_too_large"):
            check(huge, minimum=None, maximum=None)


def test_the_largest_numbers_allowed() -> None:
    largest = 10**15 - 1
    assert check_integer(largest, minimum=None, maximum=None) == largest
    assert check_integer("-999 999 999 999 999", minimum=None, maximum=None) == -largest
    assert check_integer("0000" + "9" * 15, minimum=None, maximum=None) == largest
    assert check_number("999999999999999,5", minimum=None, maximum=None) == 999999999999999.5
    assert check_number(float(largest), minimum=None, maximum=None) == largest


def test_the_forms_bounds_speak_first() -> None:
    # "Enter 100 or less" says more than "too large" does.
    for check in (check_integer, check_number):
        with pytest.raises(FieldProblem) as caught:
            check("9" * 5000, minimum=0, maximum=100)
        assert (caught.value.code, caught.value.params) == ("too_large", {"max": 100})
        with pytest.raises(FieldProblem) as caught:
            check(float("-inf"), minimum=-5, maximum=None)
        assert caught.value.code == "too_small"


def test_json_integer_reads_any_integer_literal() -> None:
    # json.loads' own int() raises past 4300 digits and fails the whole body.
    text = '{"n": -' + "9" * 5000 + ', "m": 12, "z": -0, "b": 999999999999999}'
    parsed = json.loads(text, parse_int=json_integer)
    assert parsed == {"n": -math.inf, "m": 12, "z": 0, "b": 999_999_999_999_999}
    with pytest.raises(FieldProblem, match="number_too_large"):
        check_integer(parsed["n"], minimum=None, maximum=None)
