"""Choices, yes/no questions and consent boxes: the types choice,
multichoice, boolean and consent."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Literal

from pydantic import Field

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, Issue, Text, fixed_input, min_over_max

__all__ = [
    "BOOLEAN",
    "CHOICE",
    "CONSENT",
    "MULTICHOICE",
    "SELECT_OVER",
    "BooleanField",
    "ChoiceField",
    "ConsentField",
    "MultichoiceField",
    "check_boolean",
    "check_choice",
    "check_consent",
    "check_multichoice",
]

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


# -- the field types ---------------------------------------------------------------


class ChoiceField(FieldModel):
    """One of a fixed set of answers."""

    type: Literal["choice"]
    choices: dict[str, Text] = Field(description="Answer key → its label.")


class MultichoiceField(FieldModel):
    """Any number of a fixed set of answers."""

    type: Literal["multichoice"]
    choices: dict[str, Text]
    min: int | None = Field(default=None, ge=0, description="Fewest answers to pick.")
    max: int | None = Field(default=None, ge=1, description="Most answers to pick.")


class BooleanField(FieldModel):
    """Yes or no."""

    type: Literal["boolean"]


class ConsentField(FieldModel):
    """A box the customer must tick (terms, privacy notice)."""

    type: Literal["consent"]
    required: bool = True


#: More than this many choices show as a drop-down list instead of buttons.
SELECT_OVER = 7
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _choice_issues(f: ChoiceField | MultichoiceField) -> list[Issue]:
    issues = []
    if not f.choices:
        issues.append(
            Issue(
                ("choices",),
                "no_choices",
                "a choice question needs at least one choice, like choices: {yes: Yes}",
            )
        )
    for key in f.choices:
        if not key.strip() or _CONTROL_CHARACTER.search(key):
            issues.append(
                Issue(("choices", key), "invalid_value", "a choice key cannot be blank", key=True)
            )
    return issues


def _prepare_multichoice(f: MultichoiceField) -> tuple[Any, list[Issue]]:
    issues = [*min_over_max(f.min, f.max, f.min, f.max), *_choice_issues(f)]
    if f.min is not None and f.min > len(f.choices):
        issues.append(
            Issue(
                ("min",),
                "min_over_max",
                f"min ({f.min}) is more than the {len(f.choices)} choices there are",
            )
        )
    return None, issues


def _multichoice_schema(f: MultichoiceField, prepared: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "array",
        "items": {"enum": list(f.choices)},
        "uniqueItems": True,
        "minItems": max(1, f.min or 0),
    }
    if f.max is not None:
        schema["maxItems"] = f.max
    return schema


def _choices_spec(f: ChoiceField | MultichoiceField, text: Any) -> list[dict[str, Any]]:
    return [{"value": key, "label": text(label)} for key, label in f.choices.items()]


def _choice_input(f: ChoiceField) -> dict[str, str]:
    return {"control": "select" if len(f.choices) > SELECT_OVER else "radio"}


CHOICE = FieldType(
    name="choice",
    codes=("invalid_choice",),
    model=ChoiceField,
    schema=lambda f, p: {"type": "string", "enum": list(f.choices)},
    check=lambda f, v, p, t: check_choice(v, choices=f.choices),
    input=_choice_input,
    prepare=lambda f: (None, _choice_issues(f)),
    spec=lambda f, p, text, t: {"choices": _choices_spec(f, text)},
    when="key",
)
MULTICHOICE = FieldType(
    name="multichoice",
    codes=("not_list", "invalid_choice", "duplicate_choice", "too_few_choices", "too_many_choices"),
    model=MultichoiceField,
    schema=_multichoice_schema,
    check=lambda f, v, p, t: check_multichoice(v, choices=f.choices, minimum=f.min, maximum=f.max),
    input=fixed_input(control="checkbox"),
    prepare=_prepare_multichoice,
    spec=lambda f, p, text, t: {"min": f.min, "max": f.max, "choices": _choices_spec(f, text)},
    when="key",
)
BOOLEAN = FieldType(
    name="boolean",
    codes=("not_boolean",),
    model=BooleanField,
    schema=lambda f, p: {"type": "boolean"},
    check=lambda f, v, p, t: check_boolean(v),
    input=fixed_input(control="radio"),
    when="yes_no",
)
CONSENT = FieldType(
    name="consent",
    codes=("not_boolean", "consent_required"),
    model=ConsentField,
    schema=lambda f, p: {"type": "boolean", "const": True} if f.required else {"type": "boolean"},
    check=lambda f, v, p, t: check_consent(v, required=f.required),
    input=fixed_input(control="checkbox"),
    when="yes_no",
    # An unticked consent box reads better as what to do about it.
    required_message="consent_required",
)
