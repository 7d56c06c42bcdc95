"""How every mail of intakeforms is made safe: the header policy, file
names, addresses, message ids and fixed MIME boundaries.

Every header is set through :class:`email.message.EmailMessage` with a
strict policy (:data:`POLICY`), never by joining strings, and every piece of
customer text is first reduced to one clean line
(:func:`~intakeforms.present.lines.one_line`), so an answer can neither add
a header nor change one. Which extra headers a form
may add is a question of the form language
(:func:`intakeforms.language.headers.check_extra_headers`).
"""

from __future__ import annotations

import email.headerregistry
import email.policy
import functools
import hashlib
import re
from collections.abc import Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from email_validator import EmailNotValidError, validate_email

from intakeforms.language.headers import NOT_IN_LINE
from intakeforms.present.lines import BIDI_CONTROLS, cap, collapse_spaces, one_line

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = [
    "POLICY",
    "SUBJECT_MAX_LENGTH",
    "address",
    "customer_address",
    "message_id",
    "reply_to",
    "safe_filename",
    "settle",
    "target_message_id",
]

#: The longest subject, ellipsis included; helpdesks cut or refuse longer ones.
SUBJECT_MAX_LENGTH = 200

#: How many parsed headers are remembered (see ``_Headers.__call__``).
_PARSED_HEADERS = 512


class _FoldedOnce(email.headerregistry.BaseHeader):
    """A header that remembers how it was folded.

    Folding (writing a header as lines for the wire) walks the header's parse
    tree again on every flattening: a quarter of the CPU time of building
    and flattening an agent email. A header object never changes, and the
    result depends only on three settings of the policy, so each header is
    folded once per combination of them; the headers that repeat from mail
    to mail (see ``_Headers.__call__``) are then folded once for all.
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        # What _refold_parse_tree reads of the policy, and nothing else.
        key = (policy.max_line_length, policy.linesep, getattr(policy, "utf8", False))
        folded: dict[tuple[Any, ...], str] = self.__dict__.setdefault("_folded", {})
        found = folded.get(key)
        if found is None:
            found = folded[key] = super().fold(policy=policy)
        return found


# SMTP: CRLF line ends as the wire needs; raise_on_defect: a header value the
# parser would have to repair is refused rather than sent half-understood.
class _Headers(email.headerregistry.HeaderRegistry):
    """The standard header registry, remembering the classes it makes.

    The stock registry builds a new class with ``type()`` for every header
    set, the largest single cost of building a mail; the classes depend only
    on the header's name, so one per name is enough.
    """

    def __init__(self) -> None:
        super().__init__(base_class=_FoldedOnce)
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


#: The policy every mail is built with.
POLICY = email.policy.SMTP.clone(raise_on_defect=True, header_factory=_Headers())

_UNSAFE_IN_FILENAME = re.compile(f'[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}"\\\\/<>:|?*]')


# -- file names ----------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A file name a mail client can save: no folders, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = collapse_spaces(_UNSAFE_IN_FILENAME.sub("_", base)).strip(" .")
    return cap(cleaned, 150) or "file"


# -- addresses -----------------------------------------------------------------


# Remembered: the sender and the agents' addresses are the same in every
# mail of a form, and parsing one costs more than the rest of its header.
# An Address is immutable; a refused one is not remembered (it raises).
@functools.lru_cache(maxsize=256)
def address(addr_spec: str, what: str, display_name: str = "") -> Address:
    """``addr_spec`` as a header address shown as ``display_name``, or
    ``ValueError`` naming ``what`` it was meant to be."""
    if NOT_IN_LINE.search(addr_spec):
        raise ValueError(f"{what} {addr_spec!r} holds a control character")
    try:
        parsed = Address(display_name=one_line(display_name), addr_spec=addr_spec.strip())
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise ValueError(f"{what} {addr_spec!r} is not an email address: {exc}") from None
    if not parsed.username or not parsed.domain:
        raise ValueError(f"{what} {addr_spec!r} is not an email address like name@example.com")
    return parsed


def reply_to(form: Form, data: Mapping[str, Any]) -> Address | None:
    """The customer's address from the ``role: reply_to`` question, if valid."""
    field = form.field_with_role("reply_to")
    value = data.get(field.name) if field is not None else None
    if not isinstance(value, str) or NOT_IN_LINE.search(value):
        return None
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    # An address with a non-ASCII local part can only be sent with SMTPUTF8;
    # agents still see it in the body.
    if checked.ascii_email is None:
        return None
    named = form.field_with_role("customer_name")
    name = data.get(named.name) if named is not None else None
    try:
        return address(checked.ascii_email, "reply_to", name if isinstance(name, str) else "")
    except ValueError:
        return None


def customer_address(form: Form, submission: StoredSubmission) -> str | None:
    """The customer's address from the form's ``role: reply_to`` question,
    as the confirmation is sent to it; None when there is none to use (no
    answer, not an address, or one that needs SMTPUTF8)."""
    found = reply_to(form, submission.data)
    return None if found is None else found.addr_spec


# -- identity ------------------------------------------------------------------


def message_id(reference: str, target_index: int, mail_from: str) -> str:
    """``<REFERENCE.TARGET@domain-of-mail_from>``: the same for every attempt
    to deliver one submission to one target, so a retry that reaches the
    agents twice is recognisably one mail (and helpdesks drop the copy)."""
    return target_message_id(reference, str(int(target_index)), mail_from)


def target_message_id(reference: str, part: str, mail_from: str) -> str:
    """``<REFERENCE.PART@domain-of-mail_from>``, for a target named ``part``
    (the confirmation's is ``autoreply``)."""
    domain = address(mail_from, "mail_from").domain
    local = re.sub(r"[^A-Za-z0-9-]", "_", reference) or "submission"
    return f"<{local}.{part}@{domain}>"


def settle(msg: EmailMessage, seed: str) -> None:
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
