"""The agent email and the customer's confirmation: a stored submission →
a complete, safe MIME message.

Anatomy (see docs/agent-email.md)::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain   one "Label: value" line per answered question
    │   └── text/html    the same as a table; every value escaped
    ├── application/json REFERENCE.json: form, form_version, reference,
    │                    submitted_at, locale, data
    └── each uploaded file, with its stored media type, named
                         REFERENCE-FIELD-INDEX.EXT (see mail_attachments)

The customer's confirmation (:func:`build_customer_email`, a form's
``autorespond``) is multipart/alternative alone: no attachments, and none of
the customer's own text, because it travels to whatever address was typed
into the form (see :func:`confirmation_rows`).

Every header is set through :class:`email.message.EmailMessage` with a
strict policy, never by joining strings, and every piece of customer text is
first reduced to one clean line, so an answer can neither add a header nor
change one. The HTML part holds no script, no remote content and no link.

Nothing here logs: the message holds sensitive answers (identity codes) that
agents need and logs must never see.
"""

from __future__ import annotations

import datetime as dt
import email.headerregistry
import email.policy
import hashlib
import html
import json
import re
import string
from collections.abc import Collection, Mapping, Sequence
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_time
from babel.units import format_unit
from email_validator import EmailNotValidError, validate_email

from intakeforms.i18n import N_, format_value, gettext_for
from intakeforms.language.models import EmailTarget
from intakeforms.mail_attachments import attachment_name, attachment_type

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredFile, StoredSubmission

__all__ = [
    "EXTRA_HEADER_NAME",
    "MAIL_TEXTS",
    "MASK",
    "SUBJECT_MAX_LENGTH",
    "agent_subject",
    "answer_rows",
    "build_agent_email",
    "build_customer_email",
    "check_extra_headers",
    "customer_address",
    "message_id",
]

#: The longest subject, ellipsis included; helpdesks cut or refuse longer ones.
SUBJECT_MAX_LENGTH = 200

#: Names an ``extra_headers`` entry may have: ``X-`` headers (``X-Zammad-…``,
#: ``X-OTRS-…``, ``X-Priority``), which only filters and helpdesks read.
#: ``X-Intake-…`` is ours and refused, as is every standard header (``To``,
#: ``Bcc``, ``Reply-To``…): those decide where the mail goes.
EXTRA_HEADER_NAME = re.compile(r"X-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")

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

#: What a sensitive answer looks like in the customer's confirmation.
MASK = "***"


#: How many parsed headers are remembered (see ``_Headers.__call__``).
_PARSED_HEADERS = 512


# SMTP: CRLF line ends as the wire needs; raise_on_defect: a header value the
# parser would have to repair is refused rather than sent half-understood.
class _Headers(email.headerregistry.HeaderRegistry):
    """The standard header registry, remembering the classes it makes.

    The stock registry builds a new class with ``type()`` for every header
    set, the largest single cost of building a mail; the classes depend only
    on the header's name, so one per name is enough.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}
        self._parsed: dict[tuple[str, str], Any] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str) -> Any:
        # Most headers of a mail repeat from mail to mail (From, To, the
        # Content-Type and Content-Transfer-Encoding of every part), and
        # parsing a header is the next largest cost. Header objects are
        # immutable strings, so one parse can serve every mail. Bounded: the
        # per-mail values (Subject, Message-ID, Date) would only fill it.
        # An Address or a list of them: keyed by its repr, which names every part.
        key = (name, value if isinstance(value, str) else repr(value))
        header = self._parsed.get(key)
        if header is None:
            header = super().__call__(name, value)
            if len(self._parsed) >= _PARSED_HEADERS:
                self._parsed.clear()
            self._parsed[key] = header
        return header


_POLICY = email.policy.SMTP.clone(raise_on_defect=True, header_factory=_Headers())

# Control characters (CR and LF forge headers and lines), the Unicode line
# and paragraph separators, and bidi overrides and isolates (they make text
# read differently from what it is, the "Trojan source" trick).
_BIDI = "\u202a-\u202e\u2066-\u2069"
_NOT_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_NOT_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_SPACES = re.compile(" {2,}")
_FORMATTER = string.Formatter()
_UNSAFE_IN_FILENAME = re.compile(f'[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}"\\\\/<>:|?*]')


# -- cleaning ------------------------------------------------------------------


def _one_line(text: str) -> str:
    """``text`` as one clean line: control characters become spaces."""
    return _SPACES.sub(" ", _NOT_IN_LINE.sub(" ", text)).strip()


def _lines(text: str) -> str:
    """``text`` with its line breaks kept and every other control character dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_IN_TEXT.sub(" ", text).strip("\n")


def _cap(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _safe_filename(name: str) -> str:
    """A file name a mail client can save: no folders, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SPACES.sub(" ", _UNSAFE_IN_FILENAME.sub("_", base)).strip(" .")
    return _cap(cleaned, 150) or "file"


# -- values --------------------------------------------------------------------


def _words(locale: str) -> dict[str, str]:
    return {key: gettext_for(message, locale) for key, message in MAIL_TEXTS.items()}


def _plain(value: Any) -> str:
    """Any stored value as text, for answers whose type is not what the form says."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict | bool):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


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
    named = words["customer_named"].format(name=_one_line(name) or "file")
    sized = ""
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        sized = f" ({_size(size, locale)})"
    shown = f"{attached_as}{sized}, {named}" if attached_as else f"{named}{sized}"
    return f"{shown} – {words['file_missing']}" if missing else shown


def _attachment_names(submission: StoredSubmission) -> list[str]:
    """The name each of ``submission.files`` is attached with, in order:
    files are counted from 1 within their question."""
    counted: dict[str, int] = {}
    names = []
    for file in submission.files:
        counted[file.field] = counted.get(file.field, 0) + 1
        index = counted[file.field]
        names.append(attachment_name(submission.reference, file.field, index, file.content_type))
    return names


def _format_answer(form: Form, field: Any, value: Any, locale: str) -> str:
    """One (non-file) answer written for agents reading ``locale``."""
    kind = field.type
    words = _words(locale)
    if kind in ("integer", "number") and isinstance(value, int | float):
        if isinstance(value, bool):
            return _plain(value)
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
            labels.append(form.text(label, locale) if label else _plain(key))
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
    return _plain(value)


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


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
    with (:func:`~intakeforms.mail_attachments.attachment_name`) and size,
    then the name the customer gave, labelled as theirs; the ones in
    ``unattached`` (or known only from the answers) are marked missing.
    Answers to questions the form no longer has come last, labelled by name,
    so an edited form never hides an answer.
    """
    words = _words(locale)
    data = submission.data
    named = list(zip(submission.files, _attachment_names(submission), strict=True))
    rows: list[tuple[str, str]] = []
    for name, field in form.fields.items():
        label = _one_line(form.text(field.label, locale))
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
                    _file_entry(None, _plain(i.get("name")), i.get("size"), True, words, locale)
                    if isinstance(i, dict)
                    else _file_entry(None, _plain(i), None, True, words, locale)
                    for i in items
                ]
            if entries:
                rows.append((label, "\n".join(entries)))
            continue
        value = data.get(name)
        if _blank(value):
            continue
        text = _format_answer(form, field, value, locale)
        rows.append((label, _lines(text) if field.type == "textarea" else _one_line(text)))
    for name, value in data.items():
        if name not in form.fields and not _blank(value):
            rows.append((_one_line(name), _one_line(_plain(value))))
    return rows


def agent_subject(form: Form, submission: StoredSubmission, locale: str) -> str:
    """``[REFERENCE] summary``: the form's ``summary`` with the answers
    formatted for ``locale`` (the form's title when it has no summary), one
    clean line of at most :data:`SUBJECT_MAX_LENGTH` characters."""
    reference = _one_line(submission.reference)
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
            if field is None or _blank(value) or field.type == "file":
                continue
            parts.append(_format_answer(form, field, value, locale))
        summary = "".join(parts)
    prefix = f"[{reference}] "
    return prefix + _cap(_one_line(summary), SUBJECT_MAX_LENGTH - len(prefix))


# -- headers -------------------------------------------------------------------


def _address(addr_spec: str, what: str, display_name: str = "") -> Address:
    if _NOT_IN_LINE.search(addr_spec):
        raise ValueError(f"{what} {addr_spec!r} holds a control character")
    try:
        address = Address(display_name=_one_line(display_name), addr_spec=addr_spec.strip())
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise ValueError(f"{what} {addr_spec!r} is not an email address: {exc}") from None
    if not address.username or not address.domain:
        raise ValueError(f"{what} {addr_spec!r} is not an email address like name@example.com")
    return address


def _reply_to(form: Form, data: Mapping[str, Any]) -> Address | None:
    """The customer's address from the ``role: reply_to`` question, if valid."""
    field = next((f for f in form.fields.values() if getattr(f, "role", None) == "reply_to"), None)
    value = data.get(field.name) if field is not None else None
    if not isinstance(value, str) or _NOT_IN_LINE.search(value):
        return None
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    # An address with a non-ASCII local part can only be sent with SMTPUTF8;
    # agents still see it in the body.
    if checked.ascii_email is None:
        return None
    named = next(
        (f for f in form.fields.values() if getattr(f, "role", None) == "customer_name"), None
    )
    name = data.get(named.name) if named is not None else None
    try:
        return _address(checked.ascii_email, "reply_to", name if isinstance(name, str) else "")
    except ValueError:
        return None


def message_id(reference: str, target_index: int, mail_from: str) -> str:
    """``<REFERENCE.TARGET@domain-of-mail_from>``: the same for every attempt
    to deliver one submission to one target, so a retry that reaches the
    agents twice is recognisably one mail (and helpdesks drop the copy)."""
    return _message_id(reference, str(int(target_index)), mail_from)


def _message_id(reference: str, part: str, mail_from: str) -> str:
    domain = _address(mail_from, "mail_from").domain
    local = re.sub(r"[^A-Za-z0-9-]", "_", reference) or "submission"
    return f"<{local}.{part}@{domain}>"


def customer_address(form: Form, submission: StoredSubmission) -> str | None:
    """The customer's address from the form's ``role: reply_to`` question,
    as the confirmation is sent to it; None when there is none to use (no
    answer, not an address, or one that needs SMTPUTF8)."""
    address = _reply_to(form, submission.data)
    return None if address is None else address.addr_spec


def check_extra_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """``headers`` as ``(name, value)`` pairs, or ``ValueError`` naming the
    first one that is not allowed.

    A name must match :data:`EXTRA_HEADER_NAME` and not start with
    ``X-Intake-``; a value must be text of one line with no control
    characters. Extra headers come from configuration, never from answers.
    """
    checked: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not EXTRA_HEADER_NAME.fullmatch(name) or len(name) > 76:
            raise ValueError(
                f"extra header {name!r} is not allowed; only X-… names (letters, digits "
                "and dashes) may be added, never To, Cc, Bcc, Reply-To or the like"
            )
        if name.lower().startswith("x-intake-") or name.lower() == "x-auto-response-suppress":
            raise ValueError(f"extra header {name!r} is set by intakeforms itself")
        if not isinstance(value, str) or _NOT_IN_LINE.search(value) or len(value) > 900:
            raise ValueError(
                f"extra header {name!r} must have a value of one line of text (at most "
                "900 characters, no line breaks or other control characters)"
            )
        checked.append((name, value.strip()))
    return checked


# -- bodies --------------------------------------------------------------------


def _submitted(moment: dt.datetime, locale: str) -> str:
    utc = moment.astimezone(dt.UTC)
    day = format_date(utc.date(), format="medium", locale=locale)
    time = format_time(utc.time(), format="short", locale=locale)
    return f"{day} {time} UTC"


def _plain_body(intro: str, rows: Sequence[tuple[str, str]], footer: Sequence[str]) -> str:
    lines = [intro, ""]
    for label, value in rows:
        first, *rest = value.split("\n")
        lines.append(f"{label}: {first}")
        # Later lines of a long answer are indented, so no line of the
        # customer's text can pass for a "Label: value" line of its own.
        lines.extend(f"    {line}" if line else "" for line in rest)
    if footer:
        lines.extend(["", *footer])
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("\n", "<br>\n")


def _html_body(
    subject: str,
    intro: str,
    rows: Sequence[tuple[str, str]],
    footer: Sequence[str],
    locale: str,
) -> str:
    # Inline styles only: mail clients drop <style> blocks and never fetch
    # stylesheets, and nothing here may load from the network.
    cell = "padding:4px 12px 4px 0;vertical-align:top;text-align:left;"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(locale)}">',
        '<head><meta charset="utf-8">',
        f"<title>{_escape(subject)}</title></head>",
        '<body style="font-family:sans-serif;line-height:1.4;">',
        f"<p>{_escape(intro)}</p>",
        '<table style="border-collapse:collapse;">',
    ]
    for label, value in rows:
        parts.append(
            f'<tr><th scope="row" style="{cell}">{_escape(label)}</th>'
            f'<td style="{cell}">{_escape(value)}</td></tr>'
        )
    parts.append("</table>")
    parts.extend(f"<p>{_escape(line)}</p>" for line in footer)
    parts.extend(["</body>", "</html>"])
    return "\n".join(parts) + "\n"


def _json_attachment(submission: StoredSubmission) -> bytes:
    record = {
        "form": submission.form,
        "form_version": submission.form_version,
        "reference": submission.reference,
        "submitted_at": submission.submitted_at.isoformat(),
        "locale": submission.locale,
        "data": submission.data,
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


def _email_target(form: Form, target_index: int) -> EmailTarget:
    targets = form.definition.deliver
    if not 0 <= target_index < len(targets) or targets[target_index].email is None:
        raise ValueError(
            f"form {form.id!r} has no email target at deliver[{target_index}]; "
            "target_index is the position of an email target in the form's deliver list"
        )
    target = targets[target_index].email
    assert target is not None  # checked just above
    return target


# -- the message ---------------------------------------------------------------


def build_agent_email(
    form: Form,
    submission: StoredSubmission,
    *,
    locale: str | None = None,
    mail_from: str,
    from_name: str | None = None,
    upload_dir: Path | None = None,
    target_index: int = 0,
    target: EmailTarget | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The email agents receive for ``submission``, addressed to one target.

    ``target_index`` is the position of an email target in the form's
    ``deliver`` list (the outbox names it ``email:INDEX``); ``target``
    replaces it (a preview of a form that sends mail nowhere yet). The
    agents' language is ``locale``, else the target's, else the form's
    default. ``mail_from`` is the sender address (``INTAKE_MAIL_FROM``),
    shown with ``from_name`` or the form's title. Uploaded files are read
    from ``upload_dir``; a file that cannot be read is listed in the body as
    missing. ``extra_headers`` must pass :func:`check_extra_headers`.

    Raises ``ValueError`` for a caller's mistake: another form's submission,
    no email target at ``target_index``, a bad ``mail_from`` or extra header.
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
    agent_locale = locale or target.locale or form.default_locale
    words = _words(agent_locale)
    title = _one_line(form.title(agent_locale))
    sender = _address(mail_from, "mail_from", from_name if from_name is not None else title)

    uploads: list[tuple[StoredFile, str, bytes]] = []
    unattached: list[StoredFile] = []
    for file, attached_as in zip(submission.files, _attachment_names(submission), strict=True):
        content = _read_upload(file, upload_dir)
        if content is None:
            unattached.append(file)
        else:
            uploads.append((file, attached_as, content))

    subject = agent_subject(form, submission, agent_locale)
    rows = answer_rows(form, submission, agent_locale, unattached=unattached)
    submitted_at = submission.submitted_at
    if submitted_at.tzinfo is None:  # the store promises UTC; an old row may lack it
        submitted_at = submitted_at.replace(tzinfo=dt.UTC)
    reference = _one_line(submission.reference)
    intro = words["intro"].format(
        reference=reference, title=title, submitted=_submitted(submitted_at, agent_locale)
    )
    reply_to = _reply_to(form, submission.data)
    json_name = _safe_filename(f"{reference}.json")
    footer = []
    if reply_to is not None:
        footer.append(words["reply"].format(address=reply_to.addr_spec))
    listed = [f"{json_name} ({words['json']})", *(attached_as for _, attached_as, _ in uploads)]
    footer.append(words["attachments"].format(files=", ".join(listed)))

    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = [_address(a, "to") for a in target.to]
    if target.cc:
        msg["Cc"] = [_address(a, "cc") for a in target.cc]
    if reply_to is not None:
        msg["Reply-To"] = reply_to
    msg["Date"] = format_datetime(submitted_at.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(submission.reference, target_index, mail_from)
    # RFC 3834: no vacation or out-of-office replies to this mail; Exchange
    # reads the X- header instead. Either would otherwise reach the customer
    # through Reply-To.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Intake-Form"] = form.id
    msg["X-Intake-Reference"] = reference
    msg["X-Intake-Form-Version"] = _one_line(submission.form_version)
    for name, value in extras:
        msg[name] = value

    msg.set_content(_plain_body(intro, rows, footer), cte="quoted-printable")
    msg.add_alternative(
        _html_body(subject, intro, rows, footer, agent_locale),
        subtype="html",
        cte="quoted-printable",
    )
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
    _settle(msg, f"{submission.reference}.{target_index}")
    return msg


def build_customer_email(
    form: Form,
    submission: StoredSubmission,
    *,
    mail_from: str,
    from_name: str | None = None,
) -> EmailMessage:
    """The confirmation the customer receives for ``submission`` (``autorespond``).

    The same as :func:`intakeforms.mail_confirmation.build_customer_email`,
    where it is described: the reference, the form's title and time, and no
    text the customer typed, sent to the ``role: reply_to`` answer.
    """
    # Imported here: that module builds on this one.
    from intakeforms import mail_confirmation

    return mail_confirmation.build_customer_email(
        form, submission, mail_from=mail_from, from_name=from_name
    )


def _settle(msg: EmailMessage, seed: str) -> None:
    """Make the message's bytes depend only on its content.

    Python picks random MIME boundaries; fixed ones make every retry of a
    delivery byte-for-byte the same mail. A boundary with ``==`` can never
    occur in the parts: quoted-printable writes ``=`` as ``=3D`` and base64
    has no ``-`` for the ``--`` that starts a boundary line.
    """
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
    for depth, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_intake_{digest}_{depth}==")
    for part in msg.walk():
        # add_alternative and add_attachment copy MIME-Version into every
        # part; RFC 2045 wants it once, in the message's own header.
        if part is not msg:
            del part["MIME-Version"]
