"""Text, email and web-address answers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import re2
from email_validator import EmailNotValidError, validate_email

from intakeforms.fields import FieldProblem

__all__ = [
    "EMAIL_MAX_LENGTH",
    "EMAIL_PATTERN",
    "FORBIDDEN_IN_LINE",
    "FORBIDDEN_IN_TEXT",
    "URL_PATTERN",
    "check_email",
    "check_text",
    "check_url",
    "compile_pattern",
]

# Bidi overrides and isolates can make text read differently from what it is
# (the "Trojan source" trick); they are never needed to write a contact form.
_BIDI = "\\u202a-\\u202e\\u2066-\\u2069"
#: Characters a one-line answer may not hold: every control character
#: (CR and LF could forge lines in an agent's mail) and bidi overrides.
FORBIDDEN_IN_LINE = f"[\\x00-\\x1f\\x7f{_BIDI}]"
#: The same for several lines: tab and line feed are allowed.
FORBIDDEN_IN_TEXT = f"[\\x00-\\x08\\x0b-\\x1f\\x7f{_BIDI}]"

EMAIL_MAX_LENGTH = 254
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+"
URL_PATTERN = r"[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*"

# Fixed patterns of our own: Python's engine is safe for them and, unlike RE2,
# reads the \\u escapes that ECMAScript understands too.
_LINE = re.compile(FORBIDDEN_IN_LINE)
_TEXT = re.compile(FORBIDDEN_IN_TEXT)
_EMAIL = re.compile(EMAIL_PATTERN)  # linear: the only repeats are split by "@"
_URL = re2.compile(URL_PATTERN)


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    return options


def compile_pattern(pattern: str) -> Any:
    """Compile a site owner's pattern with RE2, which runs in linear time.

    Raises ``ValueError`` with the engine's reason when RE2 refuses it (for
    example backreferences or lookaround, which can take exponential time).
    """
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(str(reason)) from None


def as_string(value: Any) -> str:
    """The answer as a stripped string, or ``not_text``."""
    if not isinstance(value, str):
        raise FieldProblem("not_text")
    return value.strip()


def check_text(
    value: Any,
    *,
    multiline: bool,
    min_length: int | None,
    max_length: int,
    pattern: Any | None,
) -> str:
    """A trimmed line (or lines) of text within its limits."""
    text = as_string(value)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if (_TEXT if multiline else _LINE).search(text):
        raise FieldProblem("control_characters")
    if len(text) > max_length:
        raise FieldProblem("too_long", max=max_length)
    if min_length is not None and len(text) < min_length:
        raise FieldProblem("too_short", min=min_length)
    if pattern is not None and not pattern.fullmatch(text):
        raise FieldProblem("pattern")
    return text


def check_email(value: Any) -> str:
    """An email address in the form email-validator normalises it to."""
    text = as_string(value)
    if len(text) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(text):
        raise FieldProblem("invalid_email")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise FieldProblem("invalid_email") from None
    return str(checked.normalized)


def check_url(value: Any, *, max_length: int) -> str:
    """An http or https address with a host."""
    text = as_string(value)
    if len(text) > max_length:
        raise FieldProblem("too_long", max=max_length)
    if not _URL.fullmatch(text) or _LINE.search(text):
        raise FieldProblem("invalid_url")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # an unbalanced IPv6 bracket, a bad port
        raise FieldProblem("invalid_url") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise FieldProblem("invalid_url")
    return parts._replace(scheme=parts.scheme.lower()).geturl()
