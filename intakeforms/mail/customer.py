"""The customer's confirmation (a form's ``autorespond``): a stored
submission → a short multipart/alternative mail to the customer's address.

It goes to whatever address was typed into the form, so anyone could have
it sent to someone else. It therefore holds the service's own words and
almost nothing of the customer's: the reference, the form's title, the time,
and the answers :func:`confirmation_rows` allows (the form's choice labels,
yes/no, dates and times), never text the customer typed, not even a name.
It attaches nothing.

Built with the agent email's parts (:mod:`intakeforms.mail.policy`,
:mod:`intakeforms.mail.bodies`): the same strict header policy, cleaning,
escaping and fixed MIME boundaries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from intakeforms.i18n import N_, gettext_for
from intakeforms.language.models import AUTOREPLY_TARGET, Autorespond
from intakeforms.mail.answers import blank, format_answer
from intakeforms.mail.bodies import escape, html_page, html_table, plain_body, submitted
from intakeforms.mail.policy import (
    POLICY,
    SUBJECT_MAX_LENGTH,
    address,
    cap,
    clean_lines,
    one_line,
    reply_to,
    settle,
    target_message_id,
)

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = ["CUSTOMER_TEXTS", "MASK", "build_customer_email", "confirmation_rows"]

#: Every word of the confirmation to the customer, in the customer's language.
CUSTOMER_TEXTS: dict[str, str] = {
    # Translators: the subject of the confirmation email to the customer.
    # {reference} is like CAR-4F7K2Q, {title} the form's title.
    "subject": N_("Received: {reference} – {title}"),
    # The default intro, and the next two, are the thank-you page's words.
    "intro": N_("We have received your message. Our team will answer you by email."),
    "reference": N_("Your reference"),
    "keep": N_("Keep the reference if you contact us about this again."),
    # Translators: the heading above the copy of the customer's answers.
    "answers": N_("Your answers"),
    # Translators: sensitive answers (identity codes…) are shown as *** in the
    # confirmation email. Keep *** as it is.
    "masked": N_("Answers shown as *** are not repeated in email, to keep them private."),
    # Translators: the confirmation email repeats only picked answers
    # (choices, yes/no, dates), never text the customer typed.
    "typed": N_("What you typed is not repeated in this email."),
    # Translators: the last line of the confirmation; {submitted} is a date and time.
    "automatic": N_("This confirmation was sent automatically. You sent the form on {submitted}."),
}

#: What a sensitive answer looks like in the customer's confirmation.
MASK = "***"


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
    for name, field in form.fields.items():
        value = submission.data.get(name)
        if blank(value):
            continue
        if not _repeatable(field, value):
            typed = True
            continue
        text = MASK if field.sensitive else format_answer(form, field, value, locale)
        rows.append((one_line(form.text(field.label, locale)), one_line(text)))
    return rows, typed


def _customer_html(
    subject: str,
    intro: str,
    reference: tuple[str, str],
    heading: str,
    rows: Sequence[tuple[str, str]],
    footer: Sequence[str],
    locale: str,
) -> str:
    # Like the agents' HTML, and the reference stands out: it is what the
    # customer will quote.
    label, value = reference
    body = [
        f"<p>{escape(intro)}</p>",
        f'<p style="font-size:1.25em;">{escape(label)}: '
        f'<strong style="font-family:monospace;font-size:1.3em;letter-spacing:0.05em;">'
        f"{escape(value)}</strong></p>",
        f"<p>{escape(footer[0])}</p>",
    ]
    if rows:
        body.append(f'<h2 style="font-size:1.1em;margin-top:1.5em;">{escape(heading)}</h2>')
        body.extend(html_table(rows))
    body.extend(f'<p style="color:#555;">{escape(line)}</p>' for line in footer[1:])
    return html_page(subject, locale, body)


def build_customer_email(
    form: Form,
    submission: StoredSubmission,
    *,
    mail_from: str,
    from_name: str | None = None,
) -> EmailMessage:
    """The confirmation the customer receives for ``submission`` (``autorespond``).

    It goes to the answer of the form's ``role: reply_to`` question and is
    written in the submission's locale, the language the customer used: the
    ``autorespond`` intro (or a translated thank-you), the reference, and
    only the answers :func:`confirmation_rows` repeats: nothing the customer
    typed, not even their name, which is also left out of ``To``. It
    attaches nothing. ``mail_from`` is the sender address, shown with
    ``from_name``, else the form's ``autorespond.from_name``, else its title.
    A form without ``autorespond`` gets the default texts (a preview).

    Headers mark it as an automatic reply (``Auto-Submitted: auto-replied``,
    RFC 3834, and ``X-Auto-Response-Suppress: All``), so that vacation
    replies do not answer it, and its ``Message-ID`` is
    ``<REFERENCE.autoreply@domain>``, the same on every attempt.

    Raises ``ValueError`` for another form's submission, a bad ``mail_from``,
    or a submission without a usable customer address.
    """
    if submission.form != form.id:
        raise ValueError(
            f"submission {submission.reference} is of form {submission.form!r}, not {form.id!r}"
        )
    recipient = reply_to(form, submission.data)
    if recipient is None:
        raise ValueError(
            f"submission {submission.reference} has no customer address to confirm to; "
            "the form needs an email question with role: reply_to, answered"
        )
    settings = form.definition.autorespond or Autorespond()
    locale = submission.locale
    words = {key: gettext_for(message, locale) for key, message in CUSTOMER_TEXTS.items()}
    title = one_line(form.title(locale))
    if from_name is None:
        from_name = form.text(settings.from_name, locale) if settings.from_name else title
    sender = address(mail_from, "mail_from", from_name)
    reference = one_line(submission.reference)
    subject = cap(
        one_line(words["subject"].format(reference=reference, title=title)), SUBJECT_MAX_LENGTH
    )
    intro = clean_lines(form.text(settings.intro, locale)) if settings.intro else words["intro"]
    rows, typed = confirmation_rows(form, submission, locale)
    submitted_at = submission.submitted_at
    if submitted_at.tzinfo is None:  # as in the agent email
        submitted_at = submitted_at.replace(tzinfo=dt.UTC)
    footer = [words["keep"]]
    if typed:
        footer.append(words["typed"])
    if any(value == MASK for _, value in rows):
        footer.append(words["masked"])
    footer.append(words["automatic"].format(submitted=submitted(submitted_at, locale)))

    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = sender
    # The address alone: the customer_name answer is the customer's text too.
    msg["To"] = Address(addr_spec=recipient.addr_spec)
    msg["Date"] = format_datetime(submitted_at.astimezone(dt.UTC))
    msg["Message-ID"] = target_message_id(submission.reference, AUTOREPLY_TARGET, mail_from)
    # RFC 3834: an automatic answer to the customer's message. Their vacation
    # or out-of-office reply must not answer it back (and Exchange reads
    # the X- header instead).
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Intake-Form"] = form.id
    msg["X-Intake-Reference"] = reference

    heading = words["answers"]
    top = [intro, "", f"{words['reference']}: {reference}", footer[0]]
    if rows:
        text = plain_body("\n".join([*top, "", heading]), rows, footer[1:])
    else:
        text = "\n".join([*top, "", *footer[1:]]) + "\n"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(
        _customer_html(
            subject, intro, (words["reference"], reference), heading, rows, footer, locale
        ),
        subtype="html",
        cte="quoted-printable",
    )
    # After the parts: set_content and add_alternative move or drop the
    # message's own Content-* headers.
    msg["Content-Language"] = one_line(locale)
    settle(msg, f"{submission.reference}.{AUTOREPLY_TARGET}")
    return msg
