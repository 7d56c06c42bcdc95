"""What every field type is made of: the keys every question has, and the
:class:`FieldType` entry through which a type tells the rest of the package
everything it needs (its model, answer schema, checker, HTML input, spec).

A type's module in this package defines its pydantic model and its entry;
:mod:`intakeforms.fields.registry` lists the entries. Nothing here imports the
form language: the language imports the field types.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

__all__ = [
    "ANY_LOCALE",
    "COMMON_CODES",
    "WHEN_READS",
    "FieldModel",
    "FieldType",
    "Issue",
    "Model",
    "Text",
    "fixed_input",
    "min_over_max",
    "string_schema",
    "whole",
]

#: The key under which a text written as a plain string is kept: it serves
#: every locale.
ANY_LOCALE = "*"


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return {ANY_LOCALE: value}
    return value


#: A label, help text, placeholder or title: a plain string (one language) or a
#: map from locale code to text.
Text = Annotated[
    dict[str, str],
    BeforeValidator(_text, json_schema_input_type=str | dict[str, str]),
]

FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class Model(BaseModel):
    """The strictness of every model of the form language: unknown keys are
    errors, and a loaded form never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldModel(Model):
    """The keys every question has; each field type's model adds its own."""

    if TYPE_CHECKING:
        # Each type's model narrows it to its own name (a Literal), which
        # pydantic reads as the union's discriminator.
        type: str

    name: FieldName = Field(description="The answer's key: lowercase letters, digits and _.")
    label: Text = Field(description="The question as the customer sees it.")
    help: Text | None = Field(default=None, description="A hint shown under the question.")
    placeholder: Text | None = None
    required: bool = False
    when: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Ask this question only when the condition holds: {field: value}, "
            "{field: [a, b]}, {field: {gte: 10}}, or {all: [...]} / {any: [...]}."
        ),
    )
    default: Any = Field(default=None, description="The answer filled in beforehand.")
    sensitive: bool = Field(
        default=False, description="Never write this answer to logs (ids, health details)."
    )
    messages: dict[str, Text] | None = Field(
        default=None,
        description=(
            "Your own text for an error code of this question, replacing the built-in "
            "one everywhere: {invalid_plate: {fi: Kirjoita muodossa ABC-123}}."
        ),
    )


#: The error codes any answer may get, whatever its type: ``required`` for
#: a required question left blank, ``invalid_text`` for characters no store
#: can hold.
COMMON_CODES = ("required", "invalid_text")


#: What a ``when`` may compare answers as, in the order the types are listed
#: to an author: a choice's key (one of the picks, for several), yes or no,
#: an amount (which ``gt``/``lte`` and the like also compare).
WHEN_READS = ("key", "yes_no", "amount")


@dataclass(frozen=True)
class Issue:
    """A mistake in one question's definition, found when the form loads.

    ``at`` is the path under the question (like ``("min",)``); the loader
    turns it into a problem with the file:line:col it was written at.
    """

    at: tuple[str | int, ...]
    code: str
    message: str
    key: bool = False


#: What a type prepares from a question at load time (a compiled pattern,
#: parsed bounds, a size in bytes), and the mistakes it found.
Prepare = Callable[[Any], tuple[Any, list[Issue]]]
#: (question, answer, what was prepared, today) → the normalised answer, or
#: raises :class:`~intakeforms.fields.FieldProblem`.
Check = Callable[[Any, Any, Any, Any], Any]
#: (question, what was prepared) → the JSON Schema of one answer.
Schema = Callable[[Any, Any], dict[str, Any]]
#: (question) → the HTML input hints of the spec (``control``, ``type``, …).
Input = Callable[[Any], dict[str, str]]
#: (question, what was prepared, localize a text, today) → the type's own
#: keys of the spec, in the order the spec lists them.
Spec = Callable[[Any, Any, Callable[[dict[str, str]], str | None], Any], dict[str, Any]]


def _nothing_to_prepare(field: Any) -> tuple[Any, list[Issue]]:
    return None, []


def _no_spec(field: Any, prepared: Any, text: Any, today: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class FieldType:
    """Everything the package needs to know about one field type."""

    #: The ``type:`` written in a form file.
    name: str
    #: The pydantic model of a question of this type (a :class:`FieldModel`).
    model: type[FieldModel]
    #: The answer's JSON Schema, published in the form's submission schema.
    schema: Schema
    #: The server's check and normalisation of an answer.
    check: Check
    #: The HTML input hints of the spec.
    input: Input
    #: Load-time preparation and checks beyond the model's shape.
    prepare: Prepare = _nothing_to_prepare
    #: The type's own keys of the spec (bounds, choices, limits).
    spec: Spec = _no_spec
    #: What a ``when`` compares this type's answers as (one of
    #: :data:`WHEN_READS`); None when a ``when`` cannot read it.
    when: Literal["key", "yes_no", "amount"] | None = None
    #: The error codes the type's check may raise (``invalid_plate``); a
    #: question's ``messages`` may replace these, ``required`` and
    #: :data:`COMMON_CODES`.
    codes: tuple[str, ...] = ()
    #: The regions the ``region`` key may name, when the type has one.
    regions: Collection[str] | None = None
    #: Example answers by problem code and region, shown in that problem's
    #: message (``{example}``); the first serves a region without one.
    examples: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The message (a key of :data:`intakeforms.validate.MESSAGES`) for a
    #: required question left unanswered.
    required_message: str = "required"
    #: How an answer lets the service reach the customer: ``write`` (an
    #: address), ``call`` (a number); None when it does not. An incomplete
    #: contact must leave one (:func:`intakeforms.validate.check_partial`).
    contact: Literal["write", "call"] | None = None


def whole(pattern: str) -> str:
    """A pattern that must match the whole answer, in every regex dialect."""
    return f"^(?:{pattern})$"


def string_schema(pattern: str, **extra: Any) -> dict[str, Any]:
    """The JSON Schema of a string answer that fully matches ``pattern``."""
    return {"type": "string", "pattern": whole(pattern), **extra}


def fixed_input(**hints: str) -> Input:
    """Input hints that do not depend on the question."""

    def hints_for(field: Any) -> dict[str, str]:
        return dict(hints)

    return hints_for


def min_over_max(low: Any, high: Any, written_min: Any, written_max: Any) -> list[Issue]:
    """``min_over_max`` when both bounds are set and ``low`` is above ``high``;
    the message shows the bounds as written."""
    if low is not None and high is not None and low > high:
        return [
            Issue(
                ("min",),
                "min_over_max",
                f"min ({written_min}) is greater than max ({written_max}); swap them",
            )
        ]
    return []
