"""What a helpdesk ticket holds, the same for Zendesk, Freshdesk and Zammad.

The subject is the agent email's (:func:`~intakeforms.mail.answers.agent_subject`);
the body is the email's intro line and answers
(:func:`~intakeforms.present.rows.intro`, :func:`~intakeforms.present.rows.answer_rows`)
as an HTML table (:func:`~intakeforms.present.tables.html_table`, unstyled),
every value escaped, since all three helpdesks take HTML and would read a
customer's ``<b>`` or Markdown ``[link](…)`` in plain text as formatting.
What the submission's context tells (an incomplete contact, the FAQ answers
the customer read) comes between the intro and the answers, as in the email
(:mod:`intakeforms.mail.context`), and an incomplete contact's ticket is
tagged ``incomplete``; then the customer's earlier contacts
(:mod:`intakeforms.mail.history`). Answers a prefilled link or the page
gave are marked beside their questions, as in the email.
The customer is the ``role: reply_to`` answer, named by the
``role: customer_name`` answer. Custom fields get the normalised answers
(choice keys, numbers, ISO dates, lists for multichoice), which is what
helpdesk field values are written as.

Nothing here logs: tickets hold answers that logs must never see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from email_validator import EmailNotValidError, validate_email

from intakeforms.language.headers import NOT_IN_LINE
from intakeforms.mail.answers import agent_subject
from intakeforms.mail.context import answer_marks, context_notices, context_tags, notice_html
from intakeforms.mail.history import History, history_notice
from intakeforms.present import answer_rows, blank, escape, html_table, intro

if TYPE_CHECKING:
    from intakeforms.delivery.http import HttpJob
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = ["Ticket", "TicketTarget", "build_ticket", "idempotency_key", "job_ticket", "ticket_html"]

#: Helpdesks cap user names at 255 characters.
_NAME_MAX = 255


@dataclass(frozen=True)
class Ticket:
    """A ticket's content, before a helpdesk's API shapes it.

    ``email`` and ``name`` are the customer's, None when the answers hold
    no valid address or no name; ``custom`` maps each helpdesk field id or
    name to the answer it gets (blank answers left out). ``tags`` are the
    submission's own (``incomplete``), for the target's tags to be joined by
    :meth:`with_tags`.
    """

    subject: str
    html: str
    email: str | None
    name: str | None
    custom: dict[str, Any]
    tags: tuple[str, ...] = ()

    def with_tags(self, configured: list[str]) -> list[str]:
        """The target's ``configured`` tags, then this ticket's own, each once."""
        return list(dict.fromkeys([*configured, *self.tags]))


def _one_line(text: str) -> str:
    # Every run of whitespace, no-break spaces too, becomes one space: a
    # helpdesk shows a user's name and the intro on one line.
    return " ".join(NOT_IN_LINE.sub(" ", text).split())


def _customer(form: Form, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The customer's (email, name) from the ``reply_to`` and ``customer_name`` answers."""
    email: str | None = None
    name: str | None = None
    address_field = form.field_with_role("reply_to")
    value = data.get(address_field.name) if address_field is not None else None
    if isinstance(value, str) and not NOT_IN_LINE.search(value):
        with contextlib.suppress(EmailNotValidError):
            email = validate_email(value.strip(), check_deliverability=False).normalized
    name_field = form.field_with_role("customer_name")
    value = data.get(name_field.name) if name_field is not None else None
    if isinstance(value, str):
        name = _one_line(value)[:_NAME_MAX] or None
    return email, name


def ticket_html(
    form: Form,
    submission: StoredSubmission,
    locale: str,
    history: History | None = None,
    timezone: str | None = None,
) -> str:
    """The answers as an HTML fragment: an intro line, what the context
    tells (an incomplete contact, the FAQ answers read), the customer's
    earlier contacts (``history``), then one table row per answered
    question (label, value; marked when a link or the page gave it), every
    text escaped."""
    first = intro(
        _one_line(submission.reference),
        _one_line(form.title(locale)),
        submission.submitted_at,
        locale,
        timezone,
    )
    marks = answer_marks(submission.context, locale)
    rows = answer_rows(form, submission, locale, marks=marks)
    shown = context_notices(form, submission.context, locale)
    earlier = history_notice(history, locale, timezone)
    if earlier is not None:
        shown.append(earlier)
    notices = notice_html(shown, styled=False)
    parts = [f"<p>{escape(first)}</p>", *notices, *html_table(rows, styled=False)]
    return "\n".join(parts) + "\n"


class TicketTarget(Protocol):
    """What a helpdesk target says about its tickets."""

    @property
    def locale(self) -> str | None: ...

    @property
    def fields(self) -> Mapping[str, int | str]: ...


def job_ticket(job: HttpJob, target: TicketTarget, submission: StoredSubmission) -> Ticket:
    """The ticket a helpdesk ``target`` makes of ``submission`` for ``job``:
    in the target's language and custom fields, with the customer's earlier
    contacts and the agents' time zone the worker gave the job."""
    return build_ticket(
        job.form,
        submission,
        locale=target.locale,
        fields=target.fields,
        history=job.history,
        timezone=job.timezone,
    )


def build_ticket(
    form: Form,
    submission: StoredSubmission,
    *,
    locale: str | None,
    fields: Mapping[str, int | str],
    history: History | None = None,
    timezone: str | None = None,
) -> Ticket:
    """The ticket for ``submission``, written for agents reading ``locale``
    (the form's default when None); ``fields`` maps form field names to
    the helpdesk's custom field ids or names; ``history`` (the customer's
    earlier contacts, as the worker found them) is listed in the body;
    its times are in the IANA time zone ``timezone`` (UTC when None)."""
    agent_locale = locale or form.default_locale
    email, name = _customer(form, submission.data)
    custom = {
        str(target).strip(): submission.data[name_]
        for name_, target in fields.items()
        if not blank(submission.data.get(name_))
    }
    return Ticket(
        subject=agent_subject(form, submission, agent_locale),
        html=ticket_html(form, submission, agent_locale, history, timezone),
        email=email,
        name=name,
        custom=custom,
        tags=tuple(context_tags(submission.context)),
    )


def idempotency_key(submission: StoredSubmission, index: int) -> str:
    """``intakeforms:FORM:REFERENCE:INDEX``: the same for every attempt to
    deliver one submission to one target, so a helpdesk that honours it
    creates one ticket however often a lost answer makes the worker retry."""
    return f"intakeforms:{submission.form}:{submission.reference}:{int(index)}"
