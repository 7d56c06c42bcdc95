"""What the agent should know beside the answers, from a submission's context.

A stored submission may carry a ``context`` (see
:attr:`intakeforms.store.records.NewSubmission.context`)::

    {"faq": {"search": ID, "shown": [{"faq", "entry", "question"}]},
     "incomplete": {"missing": [question names]},
     "link": {"given": [question names], "locked": [question names]},
     "page": [question names]}

The agent email, helpdesk tickets and previews show it the same way, above
the answers: an incomplete contact is marked (in the subject too, and as a
ticket tag) with the required questions still unanswered, by their labels;
the FAQ answers the customer read before contacting us are listed by their
questions, so the agent starts from what did not help. Answers filled in
by a prefilled link (``link``) or given by the page the form was on
(``page``, hidden questions) are marked beside their question
(:func:`answer_marks`): the customer did not type them. A context holds no
text the customer typed; what it holds is cleaned into lines all the same,
and a malformed one (an old or hand-edited row) shows what can be read of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intakeforms.i18n import N_, gettext_for
from intakeforms.present import cap, escape, one_line

if TYPE_CHECKING:
    from intakeforms.form import Form

__all__ = [
    "CONTEXT_TEXTS",
    "INCOMPLETE_TAG",
    "Notice",
    "answer_marks",
    "context_notices",
    "context_tags",
    "notice_html",
    "notice_lines",
    "subject_marker",
]

#: The words the agent email and tickets say about a submission's context.
CONTEXT_TEXTS: dict[str, str] = {
    # Translators: put in the agent email's subject, after the reference,
    # when the customer sent the form before answering every question.
    "marker": N_("[Incomplete]"),
    # Translators: the first line above the answers of an incomplete contact.
    "incomplete": N_(
        "Incomplete: the customer chose to talk to a person before answering every question."
    ),
    # Translators: {questions} is a list of question labels, like "Mileage,
    # Registration plate".
    "missing": N_("Not answered yet: {questions}"),
    # Translators: followed by the questions of the FAQ answers the customer
    # was shown before sending the form.
    "faq": N_("Before contacting us, the customer read these answers, which did not help:"),
    # Translators: beside a question in the agent email: the answer came
    # filled in by a link the customer opened (a prefilled form).
    "link": N_("from the link"),
    # Translators: as "from the link", for an answer the customer could not change.
    "locked": N_("from the link, locked"),
    # Translators: beside a hidden question in the agent email: the web page
    # the form was on gave the answer, the customer did not type it.
    "page": N_("given by the page"),
}

#: The tag a helpdesk ticket of an incomplete contact gets.
INCOMPLETE_TAG = "incomplete"

#: At most this many FAQ questions are listed; a search shows fewer.
_MAX_SHOWN = 20
#: A question longer than this is cut (FAQ questions are one short line).
_MAX_QUESTION = 300

_NOTICE = "margin:0 0 0.3em 0;"


@dataclass(frozen=True)
class Notice:
    """A few lines shown above the answers, and items listed under them;
    the first line of a ``strong`` one stands out in HTML."""

    lines: tuple[str, ...]
    items: tuple[str, ...] = ()
    strong: bool = False


def _section(context: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    """``context[key]`` when it is a mapping (``True`` counts as an empty one)."""
    if not isinstance(context, Mapping):
        return None
    found = context.get(key)
    if found is True:
        return {}
    return found if isinstance(found, Mapping) else None


def subject_marker(context: Mapping[str, Any] | None, locale: str) -> str:
    """``[Incomplete] `` in ``locale`` for an incomplete contact, else ``""``."""
    if _section(context, "incomplete") is None:
        return ""
    return gettext_for(CONTEXT_TEXTS["marker"], locale) + " "


def context_tags(context: Mapping[str, Any] | None) -> list[str]:
    """The tags a helpdesk ticket gets for ``context``: :data:`INCOMPLETE_TAG`
    for an incomplete contact."""
    return [INCOMPLETE_TAG] if _section(context, "incomplete") is not None else []


def _missing_labels(form: Form, names: Any, locale: str) -> list[str]:
    if not isinstance(names, list):
        return []
    labels = []
    for name in names:
        if not isinstance(name, str):
            continue
        field = form.fields.get(name)
        # A question the form no longer has is named as it was stored.
        labels.append(one_line(form.text(field.label, locale) if field is not None else name))
    return [label for label in labels if label]


def _questions(shown: Any) -> tuple[str, ...]:
    if not isinstance(shown, list):
        return ()
    questions = []
    for item in shown[:_MAX_SHOWN]:
        if not isinstance(item, Mapping):
            continue
        text = item.get("question")
        if not isinstance(text, str) or not one_line(text):
            # No question stored: the entry's id still tells the agent which.
            text = str(item.get("entry") or "")
        line = cap(one_line(text), _MAX_QUESTION)
        if line:
            questions.append(line)
    return tuple(questions)


def context_notices(form: Form, context: Mapping[str, Any] | None, locale: str) -> list[Notice]:
    """What ``context`` tells the agent reading ``locale``, as notices for
    above the answers: the incomplete mark with the questions not answered
    yet (by their labels in ``locale``), then the FAQ answers the customer
    read (by their questions, in the language the customer read them)."""
    notices: list[Notice] = []
    unfinished = _section(context, "incomplete")
    if unfinished is not None:
        lines = [gettext_for(CONTEXT_TEXTS["incomplete"], locale)]
        labels = _missing_labels(form, unfinished.get("missing"), locale)
        if labels:
            template = gettext_for(CONTEXT_TEXTS["missing"], locale)
            lines.append(template.format(questions=", ".join(labels)))
        notices.append(Notice(tuple(lines), strong=True))
    faq = _section(context, "faq")
    questions = _questions(faq.get("shown")) if faq is not None else ()
    if questions:
        notices.append(Notice((gettext_for(CONTEXT_TEXTS["faq"], locale),), questions))
    return notices


def _names(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [name for name in value if isinstance(name, str)]


def answer_marks(context: Mapping[str, Any] | None, locale: str) -> dict[str, str]:
    """What the agent reading ``locale`` sees beside each question whose
    answer the customer did not type: *from the link* (given by a prefilled
    link), *from the link, locked* (one the customer could not change), or
    *given by the page* (a hidden question the page filled in). Question
    name → mark; empty for a context without ``link`` or ``page``."""
    marks: dict[str, str] = {}
    if not isinstance(context, Mapping):
        return marks
    page = gettext_for(CONTEXT_TEXTS["page"], locale)
    for name in _names(context.get("page")):
        marks[name] = page
    link = _section(context, "link")
    if link is not None:
        given = gettext_for(CONTEXT_TEXTS["link"], locale)
        locked = gettext_for(CONTEXT_TEXTS["locked"], locale)
        for name in _names(link.get("given")):
            marks[name] = given
        # A locked answer is given too, whether or not "given" names it.
        for name in _names(link.get("locked")):
            marks[name] = locked
    return marks


def notice_lines(notices: Sequence[Notice]) -> list[str]:
    """The notices as plain text: their lines, each item as ``- item``, a
    blank line after each notice."""
    lines: list[str] = []
    for notice in notices:
        lines += [*notice.lines, *(f"- {item}" for item in notice.items), ""]
    return lines


def notice_html(notices: Iterable[Notice], *, styled: bool = True) -> list[str]:
    """The notices as HTML lines, every text escaped; ``styled`` (inline
    styles) for mail, unstyled for a helpdesk, which applies its own look."""
    html: list[str] = []
    for notice in notices:
        style = f' style="{_NOTICE}"' if styled else ""
        for i, line in enumerate(notice.lines):
            text = f"<strong>{escape(line)}</strong>" if notice.strong and i == 0 else escape(line)
            html.append(f"<p{style}>{text}</p>")
        if notice.items:
            html.append("<ul>")
            html += [f"<li>{escape(item)}</li>" for item in notice.items]
            html.append("</ul>")
    return html
