"""Whole and decimal numbers."""

from __future__ import annotations

import math
import re
from typing import Any

from intakeforms.fields import FieldProblem

__all__ = ["check_integer", "check_number"]

# HTML forms post text, and people write 120 000 or 12,5 in Finnish and
# Swedish: spaces (also no-break and thin spaces) group digits, and a comma
# may be the decimal sign.
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009_")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


def _bounds(number: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and number < minimum:
        raise FieldProblem("too_small", min=minimum)
    if maximum is not None and number > maximum:
        raise FieldProblem("too_large", max=maximum)


def check_integer(value: Any, *, minimum: int | None, maximum: int | None) -> int:
    """A whole number within its bounds; ``5.0`` counts as 5 as in JSON Schema."""
    number: int
    if isinstance(value, bool):
        raise FieldProblem("not_integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldProblem("not_integer")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().translate(_GROUPING)
        if not _INTEGER.fullmatch(text) or len(text) > 30:
            raise FieldProblem("not_integer")
        number = int(text)
    elif isinstance(value, int):
        number = value
    else:
        raise FieldProblem("not_integer")
    _bounds(number, minimum, maximum)
    return number


def check_number(value: Any, *, minimum: float | None, maximum: float | None) -> int | float:
    """A finite number within its bounds; whole numbers stay ``int``."""
    number: int | float
    if isinstance(value, bool):
        raise FieldProblem("not_number")
    if isinstance(value, str):
        text = value.strip().translate(_GROUPING)
        if not _DECIMAL.fullmatch(text) or len(text) > 40:
            raise FieldProblem("not_number")
        number = float(text.replace(",", "."))
    elif isinstance(value, int | float):
        number = value
    else:
        raise FieldProblem("not_number")
    if isinstance(number, float):
        if not math.isfinite(number):
            raise FieldProblem("not_number")
        if number.is_integer() and abs(number) < 2**53:
            number = int(number)
    _bounds(number, minimum, maximum)
    return number
