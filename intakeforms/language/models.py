"""The YAML form language as pydantic models: one model per field type.

These models check the *shape* of a form file (known keys, value types). The
rules that need the whole form (duplicate names, ``when`` references, locales,
min over max, patterns) are checked by :mod:`intakeforms.language.rules`, where
every problem gets the file:line:col it came from. A ``deliver`` item holds
the settings of a registered target kind (:mod:`intakeforms.language.target_kinds`;
each kind's model lives with the kind, in :mod:`intakeforms.targets`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from intakeforms.fields.numbers import MAX_MAGNITUDE
from intakeforms.language.target_kinds import AUTOREPLY_TARGET, DeliverTarget

__all__ = [
    "AUTOREPLY_TARGET",
    "FIELD_MODELS",
    "FIELD_TYPES",
    "Autorespond",
    "BooleanField",
    "BusinessIdField",
    "ChoiceField",
    "ConsentField",
    "DateField",
    "DeliverTarget",
    "EmailField",
    "FieldDefinition",
    "FileField",
    "FormDefinition",
    "IbanField",
    "IntegerField",
    "MultichoiceField",
    "NationalIdField",
    "NumberField",
    "PhoneField",
    "PlateField",
    "PostalCodeField",
    "Text",
    "TextField",
    "TextareaField",
    "TimeField",
    "UrlField",
    "VinField",
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

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64),
]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Field(_Model):
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


class TextField(_Field):
    """One line of text."""

    type: Literal["text"]
    min_length: int | None = Field(default=None, ge=0)
    max_length: int = Field(default=200, ge=1, le=10_000)
    pattern: str | None = Field(
        default=None, description="A regular expression the whole answer must match."
    )
    role: Literal["customer_name"] | None = None


class TextareaField(_Field):
    """Several lines of text."""

    type: Literal["textarea"]
    min_length: int | None = Field(default=None, ge=0)
    max_length: int = Field(default=5000, ge=1, le=100_000)
    pattern: str | None = None


class EmailField(_Field):
    """An email address, checked and normalised."""

    type: Literal["email"]
    role: Literal["reply_to"] | None = Field(
        default=None, description="reply_to: agents' replies go to this address."
    )


class PhoneField(_Field):
    """A phone number, normalised to E.164."""

    type: Literal["phone"]
    region: str | None = Field(
        default=None, description="Country assumed when the number has no +prefix (FI, SE…)."
    )


class UrlField(_Field):
    """A web address (http or https)."""

    type: Literal["url"]
    max_length: int = Field(default=2000, ge=1, le=8000)


#: The largest bound a number question may have: every answer is below
#: ``MAX_MAGNITUDE`` in size (see intakeforms.fields.numbers).
_NUMBER_BOUND = MAX_MAGNITUDE - 1


class IntegerField(_Field):
    """A whole number."""

    type: Literal["integer"]
    min: int | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    max: int | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    unit: Text | None = Field(default=None, description="Shown after the number, like km.")


class NumberField(_Field):
    """A decimal number."""

    type: Literal["number"]
    min: float | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    max: float | None = Field(default=None, ge=-_NUMBER_BOUND, le=_NUMBER_BOUND)
    unit: Text | None = None


class ChoiceField(_Field):
    """One of a fixed set of answers."""

    type: Literal["choice"]
    choices: dict[str, Text] = Field(description="Answer key → its label.")


class MultichoiceField(_Field):
    """Any number of a fixed set of answers."""

    type: Literal["multichoice"]
    choices: dict[str, Text]
    min: int | None = Field(default=None, ge=0, description="Fewest answers to pick.")
    max: int | None = Field(default=None, ge=1, description="Most answers to pick.")


class BooleanField(_Field):
    """Yes or no."""

    type: Literal["boolean"]


class ConsentField(_Field):
    """A box the customer must tick (terms, privacy notice)."""

    type: Literal["consent"]
    required: bool = True


class DateField(_Field):
    """A calendar date (YYYY-MM-DD)."""

    type: Literal["date"]
    min: str | None = Field(default=None, description="YYYY-MM-DD, today, or today+N / today-N.")
    max: str | None = Field(default=None, description="YYYY-MM-DD, today, or today+N / today-N.")


class TimeField(_Field):
    """A time of day (HH:MM, 24-hour)."""

    type: Literal["time"]
    min: str | None = None
    max: str | None = None


class FileField(_Field):
    """Uploaded files."""

    type: Literal["file"]
    accept: list[str] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "application/pdf"],
        description="Allowed media types.",
    )
    max_size: str | int = Field(default="10 MB", description="Largest file, like 10 MB.")
    max_files: int = Field(default=1, ge=1, le=20)


class PlateField(_Field):
    """A vehicle registration plate; the region decides its format."""

    type: Literal["plate"]
    region: str


class VinField(_Field):
    """A vehicle identification number (17 characters)."""

    type: Literal["vin"]
    check_digit: bool | Literal["auto"] = Field(
        default="auto",
        description=(
            "Verify the check digit at position 9: auto (where it is mandatory: "
            "North American and Chinese VINs), true (always) or false (never)."
        ),
    )


class IbanField(_Field):
    """A bank account number (IBAN), mod-97 checked."""

    type: Literal["iban"]


class PostalCodeField(_Field):
    """A postal code; the region decides its format."""

    type: Literal["postal_code"]
    region: str


class NationalIdField(_Field):
    """A personal identity code (FI henkilötunnus, SE personnummer)."""

    type: Literal["national_id"]
    region: str
    sensitive: bool = True


class BusinessIdField(_Field):
    """A business id (FI Y-tunnus, SE organisationsnummer)."""

    type: Literal["business_id"]
    region: str


FieldDefinition = Annotated[
    TextField
    | TextareaField
    | EmailField
    | PhoneField
    | UrlField
    | IntegerField
    | NumberField
    | ChoiceField
    | MultichoiceField
    | BooleanField
    | ConsentField
    | DateField
    | TimeField
    | FileField
    | PlateField
    | VinField
    | IbanField
    | PostalCodeField
    | NationalIdField
    | BusinessIdField,
    Field(discriminator="type"),
]

FIELD_MODELS: dict[str, type[_Field]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        TextField,
        TextareaField,
        EmailField,
        PhoneField,
        UrlField,
        IntegerField,
        NumberField,
        ChoiceField,
        MultichoiceField,
        BooleanField,
        ConsentField,
        DateField,
        TimeField,
        FileField,
        PlateField,
        VinField,
        IbanField,
        PostalCodeField,
        NationalIdField,
        BusinessIdField,
    )
}
FIELD_TYPES: tuple[str, ...] = tuple(FIELD_MODELS)


class Autorespond(_Model):
    """A confirmation email to the customer for each submission (opt-in)."""

    from_name: Text | None = Field(
        default=None,
        description="The sender's name the customer sees; the form's title if left out.",
    )
    intro: Text | None = Field(
        default=None,
        description="The confirmation's first paragraph; a translated thank-you if left out.",
    )
    max_per_day: int = Field(
        default=3,
        ge=1,
        description="Most confirmations one email address gets in 24 hours; more are not sent.",
    )


class FormDefinition(_Model):
    """One form: a customer-service topic and its questions."""

    form: Slug = Field(description="The form's id: lowercase letters, digits and dashes.")
    title: Text
    description: Text | None = None
    version: str | None = Field(
        default=None, description="Recorded with each submission; defaults to a content hash."
    )
    locales: list[str] = Field(
        default_factory=lambda: ["en"], min_length=1, description="The first is the default."
    )
    reference_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,9}$")] | None = (
        Field(default=None, description="References look like PREFIX-4F7K2Q.")
    )
    summary: str | None = Field(
        default=None, description="Agent-facing subject line, like '{service} {plate}'."
    )
    fields: list[FieldDefinition] = Field(min_length=1)
    deliver: list[DeliverTarget] = Field(default_factory=list)
    autorespond: Autorespond | None = Field(
        default=None,
        description=(
            "Send the customer a confirmation email with the reference and a copy of "
            "the answers; needs an email question with role: reply_to."
        ),
    )

    def with_role(self, role: str) -> list[FieldDefinition]:
        """The questions with ``role`` (``reply_to``, ``customer_name``), in order.

        The one place a role is looked up: a loaded form has at most one
        question per role (the rules check it), so callers take the first.
        """
        return [f for f in self.fields if getattr(f, "role", None) == role]
