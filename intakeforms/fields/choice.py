"""Choices, yes/no questions and consent boxes."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from intakeforms.fields import FieldProblem

__all__ = ["check_boolean", "check_choice", "check_consent", "check_multichoice"]

_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


def check_choice(value: Any, *, choices: Collection[str]) -> str:
    """One of the choice keys."""
    if not isinstance(value, str) or value not in choices:
        raise FieldProblem("invalid_choice")
    return value


def check_multichoice(
    value: Any, *, choices: Collection[str], minimum: int | None, maximum: int | None
) -> list[str]:
    """Distinct choice keys, kept in the order the form lists them."""
    if not isinstance(value, list):
        raise FieldProblem("not_list")
    if any(not isinstance(v, str) or v not in choices for v in value):
        raise FieldProblem("invalid_choice")
    if len(set(value)) != len(value):
        raise FieldProblem("duplicate_choice")
    if minimum is not None and len(value) < minimum:
        raise FieldProblem("too_few_choices", min=minimum)
    if maximum is not None and len(value) > maximum:
        raise FieldProblem("too_many_choices", max=maximum)
    picked = set(value)
    return [key for key in choices if key in picked]


def check_boolean(value: Any) -> bool:
    """``true``/``false``; HTML forms may post on, yes, 1 and their opposites."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise FieldProblem("not_boolean")


def check_consent(value: Any, *, required: bool) -> bool:
    """A ticked box; a required consent must be ``true``."""
    given = check_boolean(value)
    if required and not given:
        raise FieldProblem("consent_required")
    return given
