"""The YAML form language as pydantic models: a form and its questions.

Each field type's model lives with its type in :mod:`intakeforms.fields` and
is re-exported here; :data:`FieldDefinition` takes the types registered in
:mod:`intakeforms.fields.registry`.

These models check the *shape* of a form file (known keys, value types). The
rules that need the whole form (duplicate names, ``when`` references, locales,
min over max, patterns) are checked by :mod:`intakeforms.language.rules`, where
every problem gets the file:line:col it came from. A ``deliver`` item holds
the settings of a registered target kind (:mod:`intakeforms.language.target_kinds`;
each kind's model lives with the kind, in :mod:`intakeforms.targets`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, StringConstraints

from intakeforms.fields import registry
from intakeforms.fields.base import ANY_LOCALE, FieldModel, Text
from intakeforms.fields.base import Model as _Model
from intakeforms.fields.choice import BooleanField, ChoiceField, ConsentField, MultichoiceField
from intakeforms.fields.dates import DateField, TimeField
from intakeforms.fields.files import FileField
from intakeforms.fields.identifiers import BusinessIdField, IbanField, NationalIdField, VinField
from intakeforms.fields.layout import LAYOUT, PageItem, SectionItem
from intakeforms.fields.numbers import IntegerField, NumberField
from intakeforms.fields.phone import PhoneField
from intakeforms.fields.plate import PlateField
from intakeforms.fields.postal import PostalCodeField
from intakeforms.fields.text import EmailField, TextareaField, TextField, UrlField
from intakeforms.language.target_kinds import AUTOREPLY_TARGET, DeliverTarget

__all__ = [
    "ANY_LOCALE",
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
    "FieldModel",
    "FileField",
    "FormDefinition",
    "FormItem",
    "IbanField",
    "IntegerField",
    "MultichoiceField",
    "NationalIdField",
    "NumberField",
    "PageItem",
    "PhoneField",
    "PlateField",
    "PostalCodeField",
    "SectionItem",
    "Text",
    "TextField",
    "TextareaField",
    "Thanks",
    "Theme",
    "TimeField",
    "UrlField",
    "VinField",
]

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64),
]


def _field_union() -> Any:
    """One item of a form file's ``fields``: the model its ``type`` names, of
    the types registered now (:mod:`intakeforms.fields.registry`), or a
    section or page (:mod:`intakeforms.fields.layout`)."""
    models = (*(entry.model for entry in registry.TYPES.values()), *LAYOUT.values())
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


if TYPE_CHECKING:
    FieldDefinition = FieldModel
    #: One item of ``fields``: a question, or a section or page.
    FormItem = FieldModel | SectionItem | PageItem
else:
    FieldDefinition = FieldModel
    FormItem = _field_union()

#: The built-in field types' models by type name, in the language's order.
FIELD_MODELS: dict[str, type[FieldModel]] = {entry.name: entry.model for entry in registry.BUILTIN}
#: The built-in field types' names, in the language's order.
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


_WEB_ADDRESS = r"^https?://[^\s/?#]+[^\s]*$"
_SECURE_ADDRESS = r"^https://[^\s/?#]+[^\s]*$"


class Thanks(_Model):
    """What the customer sees after sending: your own page, or your own text."""

    url: Annotated[str, StringConstraints(pattern=_WEB_ADDRESS, max_length=2000)] | None = Field(
        default=None,
        description=(
            "A browser that posts the hosted form is sent here, with "
            "?reference=<the submission's reference> added."
        ),
    )
    text: Text | None = Field(
        default=None, description="Shown on the thanks page and in the widgets after sending."
    )


class Theme(_Model):
    """The hosted page's and the widgets' look: an accent colour and a logo."""

    accent: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")] | None = Field(
        default=None, description="Buttons, links and focus rings, like #0b5fff."
    )
    logo: Annotated[str, StringConstraints(pattern=_SECURE_ADDRESS, max_length=2000)] | None = (
        Field(default=None, description="An https:// address of an image shown above the title.")
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
    fields: list[FormItem] = Field(
        min_length=1,
        description="The questions in order, with sections (type: section) and steps "
        "(type: page) among them.",
    )
    deliver: list[DeliverTarget] = Field(default_factory=list)
    autorespond: Autorespond | None = Field(
        default=None,
        description=(
            "Send the customer a confirmation email with the reference and a copy of "
            "the answers; needs an email question with role: reply_to."
        ),
    )
    thanks: Thanks | None = Field(
        default=None, description="Your own thanks page (url) or thanks text."
    )
    theme: Theme | None = Field(default=None, description="Accent colour and logo.")

    @property
    def questions(self) -> list[FieldModel]:
        """The items of ``fields`` that are questions (not sections or
        pages), in order: the ones with a name and an answer."""
        return [f for f in self.fields if isinstance(f, FieldModel)]

    def with_role(self, role: str) -> list[FieldDefinition]:
        """The questions with ``role`` (``reply_to``, ``customer_name``), in order.

        The one place a role is looked up: a loaded form has at most one
        question per role (the rules check it), so callers take the first.
        """
        return [f for f in self.questions if getattr(f, "role", None) == role]


def _take_in_field_types() -> None:
    # A form file may use a type registered after this module was imported:
    # its item model is rebuilt with the types registered now.
    items: Any = list.__class_getitem__(_field_union())
    FormDefinition.model_fields["fields"].annotation = items
    FormDefinition.model_rebuild(force=True)


registry.on_change(_take_in_field_types)
