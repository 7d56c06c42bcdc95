"""The email a submission would make, without a store or a mail server.

:func:`preview` is what ``intakeforms preview`` prints: site owners see what
their agents (or customers) will read before any submission is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from intakeforms.form import Form
from intakeforms.intake import checked
from intakeforms.mail import build_customer_email
from intakeforms.store.base import StoredSubmission
from intakeforms.targets import email

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["PREVIEW_REFERENCE", "preview", "preview_submission"]

#: Crockford's base32 after the dash, which has no I, so ``CAR-PREVIEW`` can
#: never be mistaken for (or collide with) a stored submission.
PREVIEW_REFERENCE = "{prefix}-PREVIEW"

#: The sender of a preview when none is given: a preview is never sent.
PREVIEW_FROM = "intake@example.invalid"


def preview_submission(
    form: Form,
    answers: Mapping[str, Any],
    locale: str | None = None,
    *,
    context: Mapping[str, Any] | None = None,
) -> StoredSubmission:
    """``answers`` validated (:class:`~intakeforms.InvalidAnswers` if they do
    not fit) and shaped as if stored now, with the reference ``PREFIX-PREVIEW``
    and ``context`` as :func:`intakeforms.submit` would store it (an
    incomplete contact's answers checked as such, its missing questions
    filled in)."""
    locale = locale if locale in form.locales else form.default_locale
    data, stored_context = checked(form, answers, locale=locale, context=context)
    return StoredSubmission(
        reference=PREVIEW_REFERENCE.format(prefix=form.reference_prefix),
        form=form.id,
        form_version=form.version,
        locale=locale,
        data=dict(data),
        files=(),
        submitted_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        spam=False,
        client=None,
        context=stored_context,
    )


def preview(
    form: Form,
    answers: Mapping[str, Any],
    locale: str | None = None,
    *,
    target: int | None = None,
    confirmation: bool = False,
    mail_from: str = PREVIEW_FROM,
    context: Mapping[str, Any] | None = None,
    timezone: str | None = None,
) -> EmailMessage:
    """The agent email ``answers`` would make, as an ``EmailMessage``
    (``bytes(message)`` is the ``.eml``).

    ``locale`` is the customer's language (validation messages, the
    confirmation, the language the agent email names) and the language the
    agent email is written in; without it, the email target's, else the
    form's default. ``target`` picks an email target by its position in
    ``deliver`` (the first by default; a form without one gets a stand-in
    addressed to agents@example.invalid). ``confirmation`` gives the
    customer's confirmation instead. ``context`` is the submission's, as
    :func:`intakeforms.submit` takes it: ``{"incomplete": {}}`` previews a
    contact sent before every question was answered, ``{"faq": {"shown":
    [...]}}`` one that read FAQ answers first; the agent email shows both.
    ``timezone`` (an IANA name, as ``INTAKE_TIMEZONE``) is the agents' time
    zone when the target names none; UTC when neither does. No store, mail
    server or settings are needed: ``preview(form, answers, locale="fi")``
    is the agent email of a Finnish customer's answers.
    Raises :class:`~intakeforms.InvalidAnswers` for answers that do not fit,
    and ``ValueError`` for a ``target`` that is not an email target or a
    ``context`` that is not JSON-able.
    """
    submission = preview_submission(form, answers, locale, context=context)
    if confirmation:
        return build_customer_email(form, submission, mail_from=mail_from)
    return email.agent_email(
        form, submission, index=target, locale=locale, mail_from=mail_from, timezone=timezone
    )
