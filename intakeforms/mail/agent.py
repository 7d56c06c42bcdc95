"""The email agents receive: a stored submission → a complete, safe MIME message.

Anatomy (see docs/agent-email.md)::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain   the reference, form and time (in the agents' time
    │   │                zone, named), the customer's language,
    │   │                the context's notices (an incomplete contact, the
    │   │                FAQ answers read), the customer's earlier contacts,
    │   │                one "Label: value" line per answered question (an
    │   │                answer from a link or the page marked so)
    │   └── text/html    the same, the answers as a table; every text escaped
    ├── application/json REFERENCE.json: form, form_version, reference,
    │                    submitted_at, locale, data, context
    └── each uploaded file, with its stored media type, named
                         REFERENCE-FIELD-INDEX.EXT (see present.files)

Nothing here logs: the message holds sensitive answers (identity codes) that
agents need and logs must never see.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from intakeforms.language.headers import check_extra_headers
from intakeforms.mail.answers import agent_subject, customer_language, mail_words
from intakeforms.mail.bodies import Body
from intakeforms.mail.context import answer_marks, context_notices
from intakeforms.mail.history import History, history_notice
from intakeforms.mail.policy import POLICY, address, message_id, reply_to, safe_filename, settle
from intakeforms.present import answer_rows, attachment_names, intro, one_line
from intakeforms.present.files import attachment_type
from intakeforms.present.values import time_zone

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredFile, StoredSubmission

__all__ = ["Recipients", "build_agent_email"]


class Recipients(Protocol):
    """Whom an agent email goes to, in which language: an email target's
    settings (``deliver: [{email: {...}}]``) or a stand-in for a preview.

    A ``timezone`` attribute (an IANA name), when there is one, is the
    agents' time zone; one without it is written in the service's."""

    @property
    def to(self) -> list[str]: ...

    @property
    def cc(self) -> list[str]: ...

    @property
    def locale(self) -> str | None: ...


def _json_attachment(submission: StoredSubmission) -> bytes:
    record = {
        "form": submission.form,
        "form_version": submission.form_version,
        "reference": submission.reference,
        "submitted_at": submission.submitted_at.isoformat(),
        "locale": submission.locale,
        "data": submission.data,
        # A plain dict: json would write any other mapping as a string.
        "context": None if submission.context is None else dict(submission.context),
    }
    return json.dumps(record, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n"


def _read_upload(file: StoredFile, upload_dir: Path | None) -> bytes | None:
    """The file's bytes, or None when they cannot be had."""
    if upload_dir is None:
        return None
    relative = PurePosixPath(file.path)
    # The store names files itself, but a path that leaves the upload folder
    # is never followed, whoever wrote it.
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    try:
        return (upload_dir / relative).read_bytes()
    except OSError:
        return None


def _email_target(form: Form, target_index: int) -> Recipients:
    targets = form.definition.deliver
    if not 0 <= target_index < len(targets) or targets[target_index].kind != "email":
        raise ValueError(
            f"form {form.id!r} has no email target at deliver[{target_index}]; "
            "target_index is the position of an email target in the form's deliver list"
        )
    target: Recipients = targets[target_index].config
    return target


def build_agent_email(
    form: Form,
    submission: StoredSubmission,
    *,
    locale: str | None = None,
    mail_from: str,
    from_name: str | None = None,
    upload_dir: Path | None = None,
    target_index: int = 0,
    target: Recipients | None = None,
    extra_headers: Mapping[str, str] | None = None,
    history: History | None = None,
    timezone: str | None = None,
) -> EmailMessage:
    """The email agents receive for ``submission``, addressed to one target.

    ``target_index`` is the position of an email target in the form's
    ``deliver`` list (the outbox names it ``email:INDEX``); ``target``
    replaces it (a preview of a form that sends mail nowhere yet). The
    agents' language is ``locale``, else the target's, else the form's
    default. ``mail_from`` is the sender address (``INTAKE_MAIL_FROM``),
    shown with ``from_name`` or the form's title. Uploaded files are read
    from ``upload_dir``; a file that cannot be read is listed in the body as
    missing. ``extra_headers`` must pass :func:`check_extra_headers`. The
    submission's ``context`` is shown above the answers
    (:func:`~intakeforms.mail.context.context_notices`), and an incomplete
    contact is marked in the subject; answers that a prefilled link or the
    page gave are marked beside their questions
    (:func:`~intakeforms.mail.context.answer_marks`). ``history`` (the
    customer's earlier contacts, found by the worker) is listed above the
    answers: reference, form, date and summary line of each.

    Times are written in the agents' time zone, named: the target's
    ``timezone``, else ``timezone`` (the service's, ``INTAKE_TIMEZONE``),
    else UTC; the ``Date`` header and the JSON stay in UTC. The line under
    the first names the customer's language (``Customer's language:
    Finnish (fi)``, in the agents' language).

    Raises ``ValueError`` for a caller's mistake: another form's submission,
    no email target at ``target_index``, a bad ``mail_from``, extra header
    or time zone.
    The same arguments give the same bytes, ``Message-ID`` and MIME
    boundaries included, so every retry sends the very same mail.
    """
    if submission.form != form.id:
        raise ValueError(
            f"submission {submission.reference} is of form {submission.form!r}, not {form.id!r}"
        )
    if target is None:
        target = _email_target(form, target_index)
    extras = check_extra_headers(extra_headers or {})
    zone = getattr(target, "timezone", None) or timezone
    if zone is not None:
        time_zone(zone)  # a ValueError saying what to write, before any work
    agent_locale = locale or target.locale or form.default_locale
    words = mail_words(agent_locale)
    title = one_line(form.title(agent_locale))
    sender = address(mail_from, "mail_from", from_name if from_name is not None else title)

    uploads: list[tuple[StoredFile, str, bytes]] = []
    unattached: list[StoredFile] = []
    for file, attached_as in zip(submission.files, attachment_names(submission), strict=True):
        content = _read_upload(file, upload_dir)
        if content is None:
            unattached.append(file)
        else:
            uploads.append((file, attached_as, content))

    subject = agent_subject(form, submission, agent_locale)
    marks = answer_marks(submission.context, agent_locale)
    rows = answer_rows(form, submission, agent_locale, unattached=unattached, marks=marks)
    submitted_at = submission.submitted_at
    if submitted_at.tzinfo is None:  # the store promises UTC; an old row may lack it
        submitted_at = submitted_at.replace(tzinfo=dt.UTC)
    reference = one_line(submission.reference)
    customer = reply_to(form, submission.data)
    json_name = safe_filename(f"{reference}.json")
    footer = []
    if customer is not None:
        footer.append(words["reply"].format(address=customer.addr_spec))
    listed = [f"{json_name} ({words['json']})", *(attached_as for _, attached_as, _ in uploads)]
    footer.append(words["attachments"].format(files=", ".join(listed)))

    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = [address(a, "to") for a in target.to]
    if target.cc:
        msg["Cc"] = [address(a, "cc") for a in target.cc]
    if customer is not None:
        msg["Reply-To"] = customer
    msg["Date"] = format_datetime(submitted_at.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(submission.reference, target_index, mail_from)
    # RFC 3834: no vacation or out-of-office replies to this mail; Exchange
    # reads the X- header instead. Either would otherwise reach the customer
    # through Reply-To.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Intake-Form"] = form.id
    msg["X-Intake-Reference"] = reference
    msg["X-Intake-Form-Version"] = one_line(submission.form_version)
    for name, value in extras:
        msg[name] = value

    notices = context_notices(form, submission.context, agent_locale)
    earlier = history_notice(history, agent_locale, zone)
    if earlier is not None:
        notices.append(earlier)
    language = words["language"].format(language=customer_language(submission.locale, agent_locale))
    first = intro(reference, title, submitted_at, agent_locale, zone)
    body = Body(f"{first}\n{language}", rows, footer, notices=notices)
    msg.set_content(body.plain(), cte="quoted-printable")
    msg.add_alternative(body.html(subject, agent_locale), subtype="html", cte="quoted-printable")
    msg.add_attachment(
        _json_attachment(submission),
        maintype="application",
        subtype="json",
        filename=json_name,
    )
    for file, attached_as, content in uploads:
        # Named by the type the bytes proved, never by the customer: a file
        # called invoice.pdf.exe must not reach agents as one.
        maintype, subtype = attachment_type(file.content_type).split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=attached_as)
    settle(msg, f"{submission.reference}.{target_index}")
    return msg
