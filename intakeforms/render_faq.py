"""The page of one FAQ answer (``GET /faq/{faq}/{entry}``).

A link to an answer is what a customer shares or bookmarks, and what the
chat's answers point to; the page says the answer and offers the way to
contact the team when it did not help.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from intakeforms.i18n import N_, gettext_for
from intakeforms.render import Language, language_links, page_assets, page_environment
from intakeforms.render_texts import page_texts

__all__ = ["CONTACT", "render_answer_page"]

#: The link under an answer that did not help.
CONTACT = N_("I still need to contact you")


def render_answer_page(
    *,
    question: str,
    answer_html: str,
    locale: str,
    contact: str | None = None,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
) -> str:
    """The page of one answer in ``locale``: the question as its heading and
    ``answer_html`` (sanitised already, see :func:`intakeforms.faq.library.answer_html`),
    with a link to ``contact`` (the forms) under it."""
    template = page_environment().get_template("faq_answer.html")
    return template.render(
        locale=locale,
        ui=page_texts(locale),
        page_title=question,
        question=question,
        answer=Markup(answer_html),  # noqa: S704  (made from Markdown with raw HTML off)
        contact=contact,
        contact_text=gettext_for(CONTACT, locale),
        languages=language_links(languages, locale),
        assets=page_assets(assets),
    )
