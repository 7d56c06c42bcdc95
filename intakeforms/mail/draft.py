"""The "Continue your message later" email: a draft → a short mail with the
signed link back to the form.

A customer who chose "Continue by email later" gave an address; the
service keeps their answers so far as a draft
(:class:`~intakeforms.store.DraftRecord`) and the delivery worker sends
this mail to that address. Like the confirmation, it goes to whatever
address was typed, so it holds the service's words only: the form's title,
the link and until when it works, never an answer. It is written in the
draft's language and attaches nothing.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from email_validator import EmailNotValidError, validate_email

from intakeforms.i18n import N_, gettext_for
from intakeforms.links import make_draft_token
from intakeforms.mail.bodies import Body
from intakeforms.mail.policy import POLICY, SUBJECT_MAX_LENGTH, address, settle, target_message_id
from intakeforms.present import cap, one_line, submitted

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.records import DraftRecord

__all__ = ["DRAFT_TEXTS", "build_draft_email", "draft_url"]

#: Every word of the draft mail, in the customer's language.
DRAFT_TEXTS: dict[str, str] = {
    # Translators: the subject of the email with the link to continue a
    # form later; {title} is the form's title.
    "subject": N_("Continue your message later – {title}"),
    # Translators: {title} is the form's title.
    "intro": N_(
        "You asked us to keep your answers to the form {title}, so that you can continue later."
    ),
    "open": N_("Open this link to continue where you left off:"),
    # Translators: {expires} is a date and time, like "9 Mar 2026 9:15 UTC".
    "until": N_("The link works until {expires}. After that your answers are deleted."),
    "private": N_("Anyone with the link can see your answers, so do not forward this email."),
    "ignore": N_("If you did not ask for this, you can ignore this email."),
}


def draft_url(
    public_url: str,
    form_id: str,
    draft_id: str,
    *,
    secret: str,
    created_at: dt.datetime | None = None,
) -> str:
    """``{public_url}/forms/{form}?d=TOKEN``: the address that opens the
    form with the draft's answers, its token signed by ``secret`` for that
    draft and form (:func:`intakeforms.links.make_draft_token`), valid
    :data:`~intakeforms.links.DRAFT_DAYS` days from ``created_at`` (the
    draft's; now when None), as long as the draft is kept: a mail sent late
    or again carries a link that ends with its draft, not later."""
    token = make_draft_token(draft_id, form_id, secret=secret, now=created_at)
    return f"{public_url.rstrip('/')}/forms/{quote(form_id, safe='')}?d={quote(token, safe='')}"


def _recipient(draft: DraftRecord) -> str:
    """The draft's address as it can be sent to, or ``ValueError``."""
    try:
        checked = validate_email(draft.email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(f"draft {draft.id}: its email is not an address") from None
    if checked.ascii_email is None:
        # Non-ASCII before the @ needs SMTPUTF8, which few servers offer.
        raise ValueError(f"draft {draft.id}: its email cannot be sent to without SMTPUTF8")
    return str(checked.ascii_email)


def build_draft_email(
    form: Form,
    draft: DraftRecord,
    *,
    url: str,
    mail_from: str,
    from_name: str | None = None,
) -> EmailMessage:
    """The mail that brings the customer back to ``draft``: ``url`` (see
    :func:`draft_url`) and until when it works (the draft's
    ``expires_at``), in the draft's locale (else the form's default).
    ``mail_from`` is the sender address, shown with ``from_name`` or the
    form's title. multipart/alternative, text and HTML; nothing of the
    draft's answers.

    Headers mark it as an automatic answer to the customer's request
    (``Auto-Submitted: auto-replied``); its ``Message-ID`` is
    ``<DRAFTID.draft@domain>``, the same on every attempt.

    Raises ``ValueError`` for another form's draft, a bad ``mail_from``, or
    an address that cannot be sent to (naming the draft by its id only).
    """
    if draft.form != form.id:
        raise ValueError(f"draft {draft.id} is of form {draft.form!r}, not {form.id!r}")
    recipient = _recipient(draft)
    locale = draft.locale if draft.locale in form.locales else form.default_locale
    words = {key: gettext_for(message, locale) for key, message in DRAFT_TEXTS.items()}
    title = one_line(form.title(locale))
    sender = address(mail_from, "mail_from", from_name if from_name is not None else title)
    subject = cap(one_line(words["subject"].format(title=title)), SUBJECT_MAX_LENGTH)
    created = draft.created_at
    if created.tzinfo is None:  # the store gives aware times; a hand-made record may not
        created = created.replace(tzinfo=dt.UTC)
    notes = [
        words["until"].format(expires=submitted(draft.expires_at, locale)),
        words["private"],
        words["ignore"],
    ]

    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = address(recipient, "the draft's email")
    msg["Date"] = format_datetime(created.astimezone(dt.UTC))
    msg["Message-ID"] = target_message_id(draft.id, "draft", mail_from)
    # RFC 3834: an automatic answer to the customer's own request; their
    # out-of-office reply must not answer it back.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Intake-Form"] = form.id

    body = Body(
        words["intro"].format(title=title),
        [],
        notes,
        heading="",
        quiet=True,
        link=(words["open"], url),
    )
    msg.set_content(body.plain(), cte="quoted-printable")
    msg.add_alternative(body.html(subject, locale), subtype="html", cte="quoted-printable")
    msg["Content-Language"] = one_line(locale)
    settle(msg, f"{draft.id}.draft")
    return msg
