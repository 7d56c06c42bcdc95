"""A submission's answers as ``(label, value)`` rows, in the form's order.

Which answers are shown: every answered question, and none other. Blank
answers (an optional question left empty) are left out, and so are the
questions whose ``when`` was false, since validation drops their answers
before a submission is stored. A stored answer is never hidden because the
form changed since: an answer to a question the form no longer has comes
last, labelled by its name.

The agent email and helpdesk tickets show :func:`answer_rows`; the
customer's confirmation shows the few :func:`confirmation_rows` allows.
Labels and values are cleaned into lines (:mod:`intakeforms.present.lines`).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from intakeforms.i18n import N_, gettext_for
from intakeforms.present.files import attachment_names
from intakeforms.present.lines import clean_lines, one_line
from intakeforms.present.values import (
    blank,
    consent_row,
    file_entry,
    format_answer,
    plain,
    submitted,
)

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredFile, StoredSubmission

__all__ = [
    "INTRO",
    "MASK",
    "answer_rows",
    "answered",
    "confirmation_rows",
    "intro",
    "summary",
]

# Translators: the first line of the agent email. {reference} is like
# CAR-4F7K2Q, {title} the form's title, {submitted} a date and time.
INTRO = N_("{reference} · {title} · submitted {submitted}")

#: What a sensitive answer looks like in the customer's confirmation.
MASK = "***"

_FORMATTER = string.Formatter()


def intro(
    reference: str, title: str, moment: dt.datetime, locale: str, zone: str | None = None
) -> str:
    """The line above the answers of the agent email and of a ticket:
    ``REFERENCE · title · submitted DATE TIME UTC`` in ``locale``, the time
    in the IANA time zone ``zone`` when given, with ``reference`` and
    ``title`` as the caller cleaned them."""
    return gettext_for(INTRO, locale).format(
        reference=reference, title=title, submitted=submitted(moment, locale, zone)
    )


def answered(form: Form, data: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """``(name, field, value)`` of every question of ``form`` with a
    non-blank answer in ``data``, in the form's order (files included)."""
    for name, field in form.fields.items():
        value = data.get(name)
        if not blank(value):
            yield name, field, value


def _file_entries(
    name: str,
    submission: StoredSubmission,
    named: list[tuple[StoredFile, str]],
    unattached: Collection[StoredFile],
    locale: str,
) -> list[str]:
    stored = [(f, attached) for f, attached in named if f.field == name]
    if stored:
        return [
            file_entry(attached, f.name, f.size, f in unattached, locale) for f, attached in stored
        ]
    # Known only from the answers: the stored file is gone.
    described = submission.data.get(name)
    items = described if isinstance(described, list) else []
    return [
        file_entry(None, plain(i.get("name")), i.get("size"), True, locale)
        if isinstance(i, dict)
        else file_entry(None, plain(i), None, True, locale)
        for i in items
    ]


def answer_rows(
    form: Form,
    submission: StoredSubmission,
    locale: str,
    *,
    unattached: Collection[StoredFile] = (),
    marks: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Every answered question as ``(label, value)``, in the form's order.

    Labels and values are written for agents reading ``locale``: choice
    labels, localized yes/no, numbers and dates by babel, units after
    numbers. Values are cleaned of control characters; a ``textarea`` value
    keeps its line breaks. Files are listed by the name they are attached
    with (:func:`~intakeforms.present.files.attachment_name`) and size,
    then the name the customer gave, labelled as theirs; the ones in
    ``unattached`` (or known only from the answers) are marked missing.
    Answers to questions the form no longer has come last, labelled by name,
    so an edited form never hides an answer. ``marks`` (question name →
    text, like *from the link*) are added to their labels in brackets.
    """
    marks = marks or {}
    data = submission.data
    named = list(zip(submission.files, attachment_names(submission), strict=True))
    rows: list[tuple[str, str]] = []
    for name, field in form.fields.items():
        label = one_line(form.text(field.label, locale))
        if name in marks:
            label = f"{label} ({one_line(marks[name])})"
        if field.type == "file":
            entries = _file_entries(name, submission, named, unattached, locale)
            if entries:
                rows.append((label, "\n".join(entries)))
            continue
        value = data.get(name)
        if blank(value):
            continue
        if field.type == "consent" and isinstance(value, bool):
            # "Consent given: I agree that …", not "I agree that ….: Given".
            text = form.text(field.label, locale)
            rows.append(consent_row(text, value, locale, marks.get(name)))
            continue
        text = format_answer(form, field, value, locale)
        rows.append((label, clean_lines(text) if field.type == "textarea" else one_line(text)))
    for name, value in data.items():
        if name not in form.fields and not blank(value):
            rows.append((one_line(name), one_line(plain(value))))
    return rows


def _repeatable(field: Any, value: Any) -> bool:
    """Whether a confirmation may repeat ``value``: the form's own words (a
    choice's label, yes or no) or a date or time that intakeforms writes;
    never text the customer typed, nor an odd stored value."""
    kind = field.type
    if kind == "choice":
        return isinstance(value, str) and value in field.choices
    if kind == "multichoice":
        return isinstance(value, list) and all(
            isinstance(key, str) and key in field.choices for key in value
        )
    if kind in ("boolean", "consent"):
        return isinstance(value, bool)
    if kind in ("date", "time") and isinstance(value, str):
        try:
            (dt.date if kind == "date" else dt.time).fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


def confirmation_rows(
    form: Form, submission: StoredSubmission, locale: str
) -> tuple[list[tuple[str, str]], bool]:
    """What the customer's confirmation repeats of the answers, as
    ``(label, value)`` rows in the form's order, and whether any answer was
    left out because the customer typed it.

    A confirmation goes to whatever address was typed into the form, so
    anyone can have it sent to someone else with their own words in it.
    It therefore repeats only choices (by the form's labels), yes/no and
    consent answers, dates and times, with a ``sensitive`` one as
    :data:`MASK`. Text, numbers, addresses, names, identifiers and files
    are left out, as are answers to questions the form no longer has.
    """
    rows: list[tuple[str, str]] = []
    typed = bool(submission.files)
    for _, field, value in answered(form, submission.data):
        if not _repeatable(field, value):
            typed = True
            continue
        if field.type == "consent" and not field.sensitive:
            rows.append(consent_row(form.text(field.label, locale), value, locale))
            continue
        text = MASK if field.sensitive else format_answer(form, field, value, locale)
        rows.append((one_line(form.text(field.label, locale)), one_line(text)))
    return rows, typed


def summary(form: Form, data: Mapping[str, Any], locale: str) -> str:
    """The form's ``summary`` with the answers in ``data`` written for
    ``locale`` (files and blank answers left out), or its title when it has
    no summary; not yet cleaned."""
    template = form.definition.summary
    if template is None:
        return form.title(locale)
    # The loader checked the template: plain {name} fields of this form, so
    # the pieces are joined here rather than handed to str.format.
    parts: list[str] = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        parts.append(literal)
        if name is None:
            continue
        field = form.fields.get(name)
        value = data.get(name)
        if field is None or blank(value) or field.type == "file":
            continue
        parts.append(format_answer(form, field, value, locale))
    return "".join(parts)
