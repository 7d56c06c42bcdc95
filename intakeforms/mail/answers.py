"""Answers written for people reading mail: one ``(label, value)`` row per
answered question, values in the reader's language, and the subject line.

The agent email, the customer's confirmation and helpdesk tickets show
answers this way. Every value is cleaned of control characters (see
:mod:`intakeforms.mail.policy`); files are listed by the name they are
attached with (:mod:`intakeforms.mail.attachments`).
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from babel.units import format_unit

from intakeforms.i18n import N_, format_value, gettext_for
from intakeforms.mail.attachments import attachment_name
from intakeforms.mail.policy import SUBJECT_MAX_LENGTH, cap, clean_lines, one_line

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredFile, StoredSubmission

__all__ = [
    "MAIL_TEXTS",
    "agent_subject",
    "answer_rows",
    "attachment_names",
    "blank",
    "format_answer",
    "mail_words",
    "plain",
]

#: Every word of the mail's own, translated into the agents' language.
MAIL_TEXTS: dict[str, str] = {
    # Translators: the first line of the agent email. {reference} is like
    # CAR-4F7K2Q, {title} the form's title, {submitted} a date and time.
    "intro": N_("{reference} · {title} · submitted {submitted}"),
    "yes": N_("Yes"),
    "no": N_("No"),
    # Translators: the answer to a consent box (like a privacy notice) that was ticked.
    "given": N_("Given"),
    "not_given": N_("Not given"),
    # Translators: after an uploaded file's name in the agent email.
    "file_missing": N_("file missing, not attached"),
    # Translators: {address} is the customer's email address.
    "reply": N_("Replying to this email answers the customer at {address}."),
    # Translators: after the name an uploaded file is attached with, the name
    # the customer's own computer gave it; {name} is that name.
    "customer_named": N_("named by the customer “{name}”"),
    # Translators: {files} is a list of file names.
    "attachments": N_("Attachments: {files}"),
    # Translators: describes the attached REFERENCE.json file.
    "json": N_("all answers as JSON"),
}

_FORMATTER = string.Formatter()


def mail_words(locale: str) -> dict[str, str]:
    """:data:`MAIL_TEXTS` translated into ``locale``."""
    return {key: gettext_for(message, locale) for key, message in MAIL_TEXTS.items()}


def plain(value: Any) -> str:
    """Any stored value as text, for answers whose type is not what the form says."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict | bool):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def blank(value: Any) -> bool:
    """Whether ``value`` is no answer at all: None, an empty list, blank text."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _size(size: int, locale: str) -> str:
    if size >= 1_000_000:
        unit, amount, pattern = "digital-megabyte", size / 1_000_000, "#,##0.#"
    elif size >= 1000:
        unit, amount, pattern = "digital-kilobyte", size / 1000, "#,##0"
    else:
        unit, amount, pattern = "digital-byte", size, "#,##0"
    return str(format_unit(amount, unit, length="short", format=pattern, locale=locale))


def _file_entry(
    attached_as: str | None,
    name: str,
    size: Any,
    missing: bool,
    words: Mapping[str, str],
    locale: str,
) -> str:
    """``ATTACHED-NAME (size), named by the customer “their name”``: the
    customer's name is labelled as theirs, never passed off as the file's."""
    named = words["customer_named"].format(name=one_line(name) or "file")
    sized = ""
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        sized = f" ({_size(size, locale)})"
    shown = f"{attached_as}{sized}, {named}" if attached_as else f"{named}{sized}"
    return f"{shown} – {words['file_missing']}" if missing else shown


def attachment_names(submission: StoredSubmission) -> list[str]:
    """The name each of ``submission.files`` is attached with, in order:
    files are counted from 1 within their question."""
    counted: dict[str, int] = {}
    names = []
    for file in submission.files:
        counted[file.field] = counted.get(file.field, 0) + 1
        index = counted[file.field]
        names.append(attachment_name(submission.reference, file.field, index, file.content_type))
    return names


def format_answer(form: Form, field: Any, value: Any, locale: str) -> str:
    """One (non-file) answer written for agents reading ``locale``."""
    kind = field.type
    words = mail_words(locale)
    if kind in ("integer", "number") and isinstance(value, int | float):
        if isinstance(value, bool):
            return plain(value)
        text = format_value(value, locale)
        if field.unit:
            # A no-break space, as babel puts between digit groups: "184 000 km"
            # never breaks between the number and its unit.
            text += "\u00a0" + form.text(field.unit, locale)
        return text
    if kind == "choice" and isinstance(value, str):
        label = field.choices.get(value)
        return form.text(label, locale) if label else value
    if kind == "multichoice" and isinstance(value, list):
        labels = []
        for key in value:
            label = field.choices.get(key) if isinstance(key, str) else None
            labels.append(form.text(label, locale) if label else plain(key))
        return ", ".join(labels)
    if kind in ("boolean", "consent") and isinstance(value, bool):
        if kind == "boolean":
            return words["yes" if value else "no"]
        return words["given" if value else "not_given"]
    if kind in ("date", "time") and isinstance(value, str):
        try:
            parsed = (
                dt.date.fromisoformat(value) if kind == "date" else dt.time.fromisoformat(value)
            )
        except ValueError:
            return value
        return format_value(parsed, locale)
    return plain(value)


def answer_rows(
    form: Form,
    submission: StoredSubmission,
    locale: str,
    *,
    unattached: Collection[StoredFile] = (),
) -> list[tuple[str, str]]:
    """Every answered question as ``(label, value)``, in the form's order.

    Labels and values are written for agents reading ``locale``: choice
    labels, localized yes/no, numbers and dates by babel, units after
    numbers. Values are cleaned of control characters; a ``textarea`` value
    keeps its line breaks. Files are listed by the name they are attached
    with (:func:`~intakeforms.mail.attachments.attachment_name`) and size,
    then the name the customer gave, labelled as theirs; the ones in
    ``unattached`` (or known only from the answers) are marked missing.
    Answers to questions the form no longer has come last, labelled by name,
    so an edited form never hides an answer.
    """
    words = mail_words(locale)
    data = submission.data
    named = list(zip(submission.files, attachment_names(submission), strict=True))
    rows: list[tuple[str, str]] = []
    for name, field in form.fields.items():
        label = one_line(form.text(field.label, locale))
        if field.type == "file":
            stored = [(f, attached) for f, attached in named if f.field == name]
            if stored:
                entries = [
                    _file_entry(attached, f.name, f.size, f in unattached, words, locale)
                    for f, attached in stored
                ]
            else:
                described = data.get(name)
                items = described if isinstance(described, list) else []
                entries = [
                    _file_entry(None, plain(i.get("name")), i.get("size"), True, words, locale)
                    if isinstance(i, dict)
                    else _file_entry(None, plain(i), None, True, words, locale)
                    for i in items
                ]
            if entries:
                rows.append((label, "\n".join(entries)))
            continue
        value = data.get(name)
        if blank(value):
            continue
        text = format_answer(form, field, value, locale)
        rows.append((label, clean_lines(text) if field.type == "textarea" else one_line(text)))
    for name, value in data.items():
        if name not in form.fields and not blank(value):
            rows.append((one_line(name), one_line(plain(value))))
    return rows


def agent_subject(form: Form, submission: StoredSubmission, locale: str) -> str:
    """``[REFERENCE] summary``: the form's ``summary`` with the answers
    formatted for ``locale`` (the form's title when it has no summary), one
    clean line of at most :data:`SUBJECT_MAX_LENGTH` characters."""
    reference = one_line(submission.reference)
    template = form.definition.summary
    if template is None:
        summary = form.title(locale)
    else:
        # The loader checked the template: plain {name} fields of this form, so
        # the pieces are joined here rather than handed to str.format.
        parts: list[str] = []
        for literal, name, _, _ in _FORMATTER.parse(template):
            parts.append(literal)
            if name is None:
                continue
            field = form.fields.get(name)
            value = submission.data.get(name)
            if field is None or blank(value) or field.type == "file":
                continue
            parts.append(format_answer(form, field, value, locale))
        summary = "".join(parts)
    prefix = f"[{reference}] "
    return prefix + cap(one_line(summary), SUBJECT_MAX_LENGTH - len(prefix))
