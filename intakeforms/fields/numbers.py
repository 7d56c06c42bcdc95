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
    if isinstance(value, bool):
        raise FieldProblem("not_integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldProblem("not_integer")
        value = int(value)
    elif isinstance(value, str):
        text = value.strip().translate(_GROUPING)
        if not _INTEGER.fullmatch(text) or len(text) > 30:
            raise FieldProblem("not_integer")
        value = int(text)
    elif not isinstance(value, int):
        raise FieldProblem("not_integer")
    _bounds(value, minimum, maximum)
    return value


def check_number(value: Any, *, minimum: float | None, maximum: float | None) -> int | float:
    """A finite number within its bounds; whole numbers stay ``int``."""
    if isinstance(value, bool):
        raise FieldProblem("not_number")
    if isinstance(value, str):
        text = value.strip().translate(_GROUPING)
        if not _DECIMAL.fullmatch(text) or len(text) > 40:
            raise FieldProblem("not_number")
        value = float(text.replace(",", "."))
    elif not isinstance(value, int | float):
        raise FieldProblem("not_number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldProblem("not_number")
        if value.is_integer() and abs(value) < 2**53:
            value = int(value)
    _bounds(value, minimum, maximum)
    return value
