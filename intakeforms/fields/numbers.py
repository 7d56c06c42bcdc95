"""Whole and decimal numbers: the types integer and number.

Every answer is less than :data:`MAX_MAGNITUDE` in size (``number_too_large``
otherwise): such numbers are exact as doubles, so JSON readers in every
language, PostgreSQL, SQLite and the widgets read the same value, and babel
can write them in the agent email. Infinities (``1e400`` reads as one) and
numbers typed with thousands of digits are refused by the same rule, without
ever converting the digits to a number.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import Field

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, Issue, Text, fixed_input, min_over_max

__all__ = [
    "INTEGER",
    "MAX_DIGITS",
    "MAX_MAGNITUDE",
    "NUMBER",
    "IntegerField",
    "NumberField",
    "check_integer",
    "check_number",
    "json_integer",
]

#: Digits an answer may have before the decimal point.
MAX_DIGITS = 15
#: Every answer's absolute value is below this: at most 999 999 999 999 999.
MAX_MAGNITUDE = 10**MAX_DIGITS

# HTML forms post text, and people write 120 000 or 12,5 in Finnish and
# Swedish: spaces (also no-break and thin spaces) group digits, and a comma
# may be the decimal sign.
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009_")
_INTEGER = re.compile(r"([+-]?)([0-9]+)")
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:[.,][0-9]*)?")
#: Digits after the decimal point beyond what a double holds are noise; a
#: limit keeps float() from reading megabytes of them.
_MAX_TEXT = 60


def _bounds(number: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and number < minimum:
        raise FieldProblem("too_small", min=minimum)
    if maximum is not None and number > maximum:
        raise FieldProblem("too_large", max=maximum)
    # After the form's own bounds, whose message says more ("Enter 100 or
    # less"); comparing an int or an infinity with them is exact.
    if not abs(number) < MAX_MAGNITUDE:
        raise FieldProblem("number_too_large")


def _too_many_digits(sign: str, digits: str) -> float | None:
    """An infinity of the answer's sign when ``digits`` (before any decimal
    point) are too many; int() of thousands of digits would raise."""
    if len(digits.lstrip("0")) > MAX_DIGITS:
        return -math.inf if sign == "-" else math.inf
    return None


def json_integer(text: str) -> int | float:
    """An integer literal of a JSON body, for ``json.loads(…, parse_int=json_integer)``.

    Python's own parse_int is int(), which raises past
    ``sys.get_int_max_str_digits()`` (4300 digits), failing the whole body
    as if it were not JSON. Here a literal of more than :data:`MAX_DIGITS`
    digits becomes an infinity of its sign, which a number question refuses
    as ``number_too_large`` and any other question as the wrong type.
    """
    found = _INTEGER.fullmatch(text)
    huge = _too_many_digits(*found.groups()) if found else None
    return int(text) if huge is None else huge


def check_integer(value: Any, *, minimum: int | None, maximum: int | None) -> int:
    """A whole number within its bounds; ``5.0`` counts as 5 as in JSON Schema."""
    number: int | float
    if isinstance(value, bool):
        raise FieldProblem("not_integer")
    if isinstance(value, float):
        if math.isnan(value) or (math.isfinite(value) and not value.is_integer()):
            raise FieldProblem("not_integer")
        number = value
    elif isinstance(value, str):
        text = value.strip().translate(_GROUPING)
        found = _INTEGER.fullmatch(text)
        if not found:
            raise FieldProblem("not_integer")
        huge = _too_many_digits(*found.groups())
        number = int(text) if huge is None else huge
    elif isinstance(value, int):
        number = value
    else:
        raise FieldProblem("not_integer")
    _bounds(number, minimum, maximum)
    return int(number)


def check_number(value: Any, *, minimum: float | None, maximum: float | None) -> int | float:
    """A finite number within its bounds; whole numbers stay ``int``."""
    number: int | float
    if isinstance(value, bool):
        raise FieldProblem("not_number")
    if isinstance(value, str):
        text = value.strip().translate(_GROUPING)
        found = _DECIMAL.fullmatch(text)
        if not found or not any(c.isdigit() for c in text):
            raise FieldProblem("not_number")
        huge = _too_many_digits(*found.groups())
        if huge is not None:
            number = huge
        elif len(text) > _MAX_TEXT:
            raise FieldProblem("not_number")
        else:
            number = float(text.replace(",", "."))
    elif isinstance(value, int | float):
        number = value
    else:
        raise FieldProblem("not_number")
    if isinstance(number, float) and math.isnan(number):
        raise FieldProblem("not_number")
    _bounds(number, minimum, maximum)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return number


# -- the field types ---------------------------------------------------------------

#: The largest bound a number question may have: every answer is below
#: ``MAX_MAGNITUDE`` in size.
_NUMBER_BOUND = MAX_MAGNITUDE - 1


class IntegerField(FieldModel):
    """A whole number."""

    type: Literal["integer"]
    min: int | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    max: int | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    unit: Text | None = Field(default=None, description="Shown after the number, like km.")


class NumberField(FieldModel):
    """A decimal number."""

    type: Literal["number"]
    min: float | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    max: float | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    unit: Text | None = None


def _prepare(f: IntegerField | NumberField) -> tuple[Any, list[Issue]]:
    return None, min_over_max(f.min, f.max, f.min, f.max)


def _schema(kind: str) -> Any:
    def schema(f: IntegerField | NumberField, prepared: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind}
        # Without a bound of the form's, validate's own: every answer is
        # less than MAX_MAGNITUDE in size.
        if f.min is not None:
            out["minimum"] = f.min
        else:
            out["exclusiveMinimum"] = -MAX_MAGNITUDE
        if f.max is not None:
            out["maximum"] = f.max
        else:
            out["exclusiveMaximum"] = MAX_MAGNITUDE
        return out

    return schema


def _spec(f: IntegerField | NumberField, prepared: Any, text: Any, today: Any) -> dict[str, Any]:
    return {"min": f.min, "max": f.max, "unit": None if f.unit is None else text(f.unit)}


# type=number loses "120 000" and wheels values away; numeric keyboards come
# from inputmode instead.
INTEGER = FieldType(
    name="integer",
    codes=("not_integer", "too_small", "too_large", "number_too_large"),
    model=IntegerField,
    schema=_schema("integer"),
    check=lambda f, v, p, t: check_integer(v, minimum=f.min, maximum=f.max),
    input=fixed_input(control="input", type="text", inputmode="numeric"),
    prepare=_prepare,
    spec=_spec,
    when="amount",
)
NUMBER = FieldType(
    name="number",
    codes=("not_number", "too_small", "too_large", "number_too_large"),
    model=NumberField,
    schema=_schema("number"),
    check=lambda f, v, p, t: check_number(v, minimum=f.min, maximum=f.max),
    input=fixed_input(control="input", type="text", inputmode="decimal"),
    prepare=_prepare,
    spec=_spec,
    when="amount",
)
