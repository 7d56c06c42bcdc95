"""Pages that say one thing: a link that is damaged or used, a contact's status.

Every text is given in the page's language by the caller; the template
escapes all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from intakeforms.render import Language, language_links, page_assets, page_environment
from intakeforms.render_texts import page_texts

__all__ = ["Table", "render_message_page"]


@dataclass(frozen=True)
class Table:
    """A table of a message page; the first cell of each row heads it."""

    caption: str
    rows: Sequence[Sequence[str]]
    head: Sequence[str] = field(default_factory=tuple)


def render_message_page(
    *,
    title: str,
    paragraphs: Sequence[str],
    locale: str,
    link: str | None = None,
    link_text: str = "",
    tables: Sequence[Table] = (),
    languages: Sequence[Language] = (),
    assets: str = "/assets",
) -> str:
    """A page with ``title``, ``paragraphs``, ``tables`` and a link on."""
    return (
        page_environment()
        .get_template("message.html")
        .render(
            locale=locale,
            ui=page_texts(locale),
            page_title=title,
            title=title,
            paragraphs=list(paragraphs),
            tables=list(tables),
            link=link,
            link_text=link_text,
            languages=language_links(languages, locale),
            assets=page_assets(assets),
        )
    )
