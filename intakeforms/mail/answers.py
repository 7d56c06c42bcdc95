"""The mail's own words, and the agent email's subject line.

The answers themselves are written by :mod:`intakeforms.present`: rows in
the form's order (:func:`~intakeforms.present.rows.answer_rows`), values in
the reader's language (:mod:`intakeforms.present.values`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError

from intakeforms.i18n import N_, gettext_for
from intakeforms.mail.context import subject_marker
from intakeforms.mail.policy import SUBJECT_MAX_LENGTH
from intakeforms.present import VALUE_TEXTS, cap, one_line, summary
from intakeforms.present.rows import INTRO

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = ["MAIL_TEXTS", "agent_subject", "customer_language", "mail_words"]

#: Every word of the mail's own, translated into the agents' language.
MAIL_TEXTS: dict[str, str] = {
    "intro": INTRO,
    **VALUE_TEXTS,
    # Translators: {address} is the customer's email address.
    "reply": N_("Replying to this email answers the customer at {address}."),
    # Translators: {files} is a list of file names.
    "attachments": N_("Attachments: {files}"),
    # Translators: describes the attached REFERENCE.json file.
    "json": N_("all answers as JSON"),
    # Translators: under the first line of the agent email; {language} is
    # like "Finnish (fi)", the language the customer filled in the form in.
    "language": N_("Customer's language: {language}"),
}


def mail_words(locale: str) -> dict[str, str]:
    """:data:`MAIL_TEXTS` translated into ``locale``."""
    return {key: gettext_for(message, locale) for key, message in MAIL_TEXTS.items()}


def customer_language(code: str, locale: str) -> str:
    """The language ``code`` (the submission's locale) named in ``locale``,
    its code after it: ``Finnish (fi)``, in Finnish ``suomi (fi)``; a code
    babel does not know is shown as it is."""
    code = one_line(code)
    try:
        name = Locale.parse(code, sep="-" if "-" in code else "_").get_display_name(locale)
    except (ValueError, TypeError, UnknownLocaleError):
        name = None
    return f"{name} ({code})" if name else code


def agent_subject(form: Form, submission: StoredSubmission, locale: str) -> str:
    """``[REFERENCE] summary``: the form's ``summary`` with the answers
    formatted for ``locale`` (the form's title when it has no summary), one
    clean line of at most :data:`SUBJECT_MAX_LENGTH` characters. An
    incomplete contact is marked after the reference: ``[REFERENCE]
    [Incomplete] summary``, in ``locale``."""
    prefix = f"[{one_line(submission.reference)}] " + subject_marker(submission.context, locale)
    text = one_line(summary(form, submission.data, locale))
    return prefix + cap(text, SUBJECT_MAX_LENGTH - len(prefix))
