"""The customer's confirmation (a form's ``autorespond``): a stored
submission → a short multipart/alternative mail to the customer's address.

It goes to whatever address was typed into the form, so anyone could have
it sent to someone else. It therefore holds the service's own words and
almost nothing of the customer's: the reference, the form's title, the time,
and the answers :func:`~intakeforms.present.rows.confirmation_rows` allows
(the form's choice labels, yes/no, dates and times), never text the
customer typed, not even a name.
It attaches nothing.

Built with the agent email's parts (:mod:`intakeforms.mail.policy`,
:mod:`intakeforms.mail.bodies`, :mod:`intakeforms.present`): the same strict
header policy, cleaning, escaping and fixed MIME boundaries.
"""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from intakeforms.i18n import N_, gettext_for
from intakeforms.language.models import AUTOREPLY_TARGET, Autorespond
from intakeforms.links import make_status_token
from intakeforms.mail.bodies import Body
from intakeforms.mail.policy import (
    POLICY,
    SUBJECT_MAX_LENGTH,
    address,
    reply_to,
    settle,
    target_message_id,
)
from intakeforms.present import MASK, cap, clean_lines, confirmation_rows, one_line, submitted

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = ["CUSTOMER_TEXTS", "build_customer_email", "status_url"]

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
    # Translators: above the link to the page that shows the state of the
    # customer's message and their earlier contacts.
    "status": N_("Follow your message and see your earlier contacts here:"),
}


def status_url(public_url: str, reference: str, *, secret: str) -> str:
    """``{public_url}/status/{reference}?t=TOKEN``: the address of the page
    that shows the customer the state of ``reference`` and their earlier
    contacts, with a token signed by ``secret`` for that reference alone
    (:func:`intakeforms.links.make_status_token`)."""
    token = make_status_token(reference, secret=secret)
    return f"{public_url.rstrip('/')}/status/{quote(reference, safe='')}?t={quote(token, safe='')}"


def build_customer_email(
    form: Form,
    submission: StoredSubmission,
    *,
    mail_from: str,
    from_name: str | None = None,
    status_url: str | None = None,
) -> EmailMessage:
    """The confirmation the customer receives for ``submission`` (``autorespond``).

    It goes to the answer of the form's ``role: reply_to`` question and is
    written in the submission's locale, the language the customer used: the
    ``autorespond`` intro (or a translated thank-you), the reference, and
    only the answers :func:`~intakeforms.present.rows.confirmation_rows`
    repeats: nothing the customer typed, not even their name, which is also
    left out of ``To``. It attaches nothing. ``mail_from`` is the sender
    address, shown with ``from_name``, else the form's
    ``autorespond.from_name``, else its title.
    A form without ``autorespond`` gets the default texts (a preview).
    ``status_url`` (:func:`status_url`: the signed address of the
    submission's status page) is shown after the reference.

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
    notes = []
    if typed:
        notes.append(words["typed"])
    if any(value == MASK for _, value in rows):
        notes.append(words["masked"])
    notes.append(words["automatic"].format(submitted=submitted(submitted_at, locale)))

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

    body = Body(
        intro,
        rows,
        notes,
        reference=(words["reference"], reference, words["keep"]),
        heading=words["answers"],
        quiet=True,
        link=(words["status"], status_url) if status_url else None,
    )
    msg.set_content(body.plain(), cte="quoted-printable")
    msg.add_alternative(body.html(subject, locale), subtype="html", cte="quoted-printable")
    # After the parts: set_content and add_alternative move or drop the
    # message's own Content-* headers.
    msg["Content-Language"] = one_line(locale)
    settle(msg, f"{submission.reference}.{AUTOREPLY_TARGET}")
    return msg
