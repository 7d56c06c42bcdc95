"""The FAQ file as pydantic models: questions customers ask and their answers.

An FAQ file sits beside the forms and starts with ``faq: <id>``. The models
check its shape as strictly as the form language's (unknown keys are errors,
a loaded file never changes); the rules that need the whole file (unique entry
ids, a text for every locale, forms that exist) are in
:mod:`intakeforms.faq.rules`, each problem with its file:line:col.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from intakeforms.fields.base import Model, Text
from intakeforms.language.source import Path

__all__ = ["FaqDefinition", "FaqEntry", "Slug", "faq_model_at"]

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64),
]


class FaqEntry(Model):
    """One question and its answer, in each of the file's locales."""

    id: Slug = Field(
        description="The entry's id: lowercase letters, digits and dashes, unique in the file."
    )
    question: Text = Field(description="The question as customers ask it, per locale.")
    answer: Text = Field(
        description="The answer in Markdown (paragraphs, lists, links), per locale."
    )
    forms: list[Slug] = Field(
        default_factory=list,
        description="The forms this entry is offered before; none: before every form.",
    )
    keywords: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Extra words customers use that are not in the question or answer, "
            "per locale, like {fi: [nastarenkaat, kitkarenkaat]}."
        ),
    )


class FaqDefinition(Model):
    """One FAQ file: answers offered before the forms of a site."""

    faq: Slug = Field(description="The FAQ's id: lowercase letters, digits and dashes.")
    locales: list[str] = Field(
        default_factory=lambda: ["en"], min_length=1, description="The first is the default."
    )
    entries: list[FaqEntry] = Field(min_length=1)


def faq_model_at(path: Path, values: Any) -> type[Model] | None:
    """The model written at ``path`` of an FAQ file, for "did you mean"."""
    if path == ():
        return FaqDefinition
    if len(path) == 2 and path[0] == "entries":
        return FaqEntry
    return None
