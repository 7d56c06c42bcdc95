"""Answers the page gives, never asked: the type hidden.

A hidden question takes its answer from the address of the hosted form page
(``/forms/booking?campaign=spring``) or, in the widgets, from the element's
``data-<name>`` attributes: a campaign tag, an order number the shop's page
already knows. Nothing signs it, so it is checked like a line of text, and
agents see it marked as given by the page. The customer never sees it, so it
can never be required; its label names it for the agents.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from intakeforms.fields.base import FieldModel, FieldType, Issue, fixed_input, whole
from intakeforms.fields.patterns import PatternError, compile_site_pattern
from intakeforms.fields.text import FORBIDDEN_IN_LINE, check_text

__all__ = ["HIDDEN", "HIDDEN_CONTROL", "HiddenField"]

#: The ``input.control`` of a hidden question in the spec: the page and the
#: widgets give its answer themselves and never show it.
HIDDEN_CONTROL = "hidden"


class HiddenField(FieldModel):
    """A line of text the page gives (its address, the widget's attributes)."""

    type: Literal["hidden"]
    max_length: int = Field(default=200, ge=1, le=2000)
    pattern: str | None = Field(
        default=None, description="A regular expression the whole answer must match."
    )


def _prepare(f: HiddenField) -> tuple[Any, list[Issue]]:
    """The compiled pattern (or None); ``required`` is refused."""
    issues = []
    if f.required:
        issues.append(
            Issue(
                ("required",),
                "invalid_value",
                "a hidden question cannot be required: the customer never sees it, so "
                "cannot answer it; remove required: true (an address or widget without "
                "the value leaves it unanswered)",
            )
        )
    if f.pattern is None:
        return None, issues
    try:
        return compile_site_pattern(f.pattern), issues
    except PatternError as exc:
        return None, [*issues, Issue(("pattern",), exc.code, str(exc))]


def _schema(f: HiddenField, prepared: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": 1,
        "maxLength": f.max_length,
        "not": {"pattern": FORBIDDEN_IN_LINE},
    }
    if f.pattern is not None:
        schema["pattern"] = whole(f.pattern)
    return schema


def _check(f: HiddenField, value: Any, pattern: Any, today: Any) -> str:
    return check_text(
        value, multiline=False, min_length=None, max_length=f.max_length, pattern=pattern
    )


HIDDEN = FieldType(
    name="hidden",
    codes=("not_text", "control_characters", "too_long", "pattern"),
    model=HiddenField,
    schema=_schema,
    check=_check,
    input=fixed_input(control=HIDDEN_CONTROL, type="hidden"),
    prepare=_prepare,
)
