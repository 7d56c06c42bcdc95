"""Items of a form that are not questions: ``type: section`` (a heading and a
text) and ``type: page`` (the start of the next step).

They sit among the questions in ``fields`` so that an author writes them
where they show, but they have no answer: no name of their own, no place in
the submission's JSON Schema, the answers, emails, tickets, CSV files, visitor
events or statistics. The compiled spec lists them in document order with a
generated name (``section-1``, ``page-2``) that no question's name can take
(names of questions have no dash).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from intakeforms.fields.base import Model, Text

__all__ = ["LAYOUT", "LayoutItem", "PageItem", "SectionItem", "is_layout", "layout_names"]


class SectionItem(Model):
    """A heading, and a text under it, between questions (no answer)."""

    type: Literal["section"]
    title: Text = Field(description="The section's heading.")
    text: Text | None = Field(default=None, description="A paragraph under the heading.")


class PageItem(Model):
    """The start of a next step: the HTML form and the inline widget show
    the questions up to here first, with Next and Back (no answer)."""

    type: Literal["page"]
    title: Text | None = Field(
        default=None, description="The step's heading, shown above its questions."
    )


LayoutItem = SectionItem | PageItem

#: The item types that are not questions, by ``type``.
LAYOUT: dict[str, type[SectionItem] | type[PageItem]] = {
    "section": SectionItem,
    "page": PageItem,
}


def is_layout(item: Any) -> bool:
    """Whether an item of ``fields`` is a section or a page, not a question."""
    return isinstance(item, SectionItem | PageItem)


def layout_names(items: list[Any]) -> dict[int, str]:
    """The generated names of the sections and pages among ``items``, by
    position: ``section-1``, ``section-2``, ``page-1``, counted per type in
    document order."""
    counts: dict[str, int] = {}
    names: dict[int, str] = {}
    for i, item in enumerate(items):
        if is_layout(item):
            counts[item.type] = counts.get(item.type, 0) + 1
            names[i] = f"{item.type}-{counts[item.type]}"
    return names
