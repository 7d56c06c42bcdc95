"""Text, email and web-address answers: the types text, textarea, email and url."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

import re2
from email_validator import EmailNotValidError, validate_email
from pydantic import Field

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import (
    FieldModel,
    FieldType,
    Issue,
    fixed_input,
    string_schema,
    whole,
)
from intakeforms.fields.patterns import PatternError, compile_pattern, compile_site_pattern

__all__ = [
    "EMAIL",
    "EMAIL_MAX_LENGTH",
    "EMAIL_PATTERN",
    "FORBIDDEN_IN_LINE",
    "FORBIDDEN_IN_TEXT",
    "PRIVATE_MAIL_DOMAINS",
    "TEXT",
    "TEXTAREA",
    "URL",
    "URL_PATTERN",
    "EmailField",
    "TextField",
    "TextareaField",
    "UrlField",
    "check_configured_email",
    "check_email",
    "check_text",
    "check_url",
    "compile_pattern",
    "has_surrogates",
    "is_storable",
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


def _surrogate_in(text: str) -> bool:
    # Lone UTF-16 surrogates are not Unicode scalar values: no UTF-8 encoder,
    # so no store, mail or JSON response, can write them. Encoding is ten
    # times faster than a regular expression, and ASCII cannot hold them.
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unstorable(text: str) -> bool:
    # PostgreSQL text cannot hold NUL either.
    return "\x00" in text or _surrogate_in(text)


def _finds(wrong: Callable[[str], bool], value: Any) -> bool:
    """Whether any string in ``value`` (nested lists and objects, their keys
    too) is ``wrong``; iterative, so no nesting depth can overflow."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if wrong(item):
                return True
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return False


def has_surrogates(value: Any) -> bool:
    """Whether a string anywhere in ``value`` holds a lone surrogate (like
    ``"\\ud800"``, which JSON can write), so is not valid Unicode text."""
    if isinstance(value, str):  # most answers: no list to walk
        return _surrogate_in(value)
    return _finds(_surrogate_in, value)


def is_storable(value: Any) -> bool:
    """Whether every string in ``value`` is valid Unicode text without NUL,
    which PostgreSQL cannot store."""
    if isinstance(value, str):
        return not _unstorable(value)
    return not _finds(_unstorable, value)


# -- the field types ---------------------------------------------------------------


class TextField(FieldModel):
    """One line of text."""

    type: Literal["text"]
    min_length: int | None = Field(default=None, ge=0)
    max_length: int = Field(default=200, ge=1, le=10_000)
    pattern: str | None = Field(
        default=None, description="A regular expression the whole answer must match."
    )
    role: Literal["customer_name"] | None = None


class TextareaField(FieldModel):
    """Several lines of text."""

    type: Literal["textarea"]
    min_length: int | None = Field(default=None, ge=0)
    max_length: int = Field(default=5000, ge=1, le=100_000)
    pattern: str | None = None


class EmailField(FieldModel):
    """An email address, checked and normalised."""

    type: Literal["email"]
    role: Literal["reply_to"] | None = Field(
        default=None, description="reply_to: agents' replies go to this address."
    )


class UrlField(FieldModel):
    """A web address (http or https)."""

    type: Literal["url"]
    max_length: int = Field(default=2000, ge=1, le=8000)


def _prepare_text(f: TextField | TextareaField) -> tuple[Any, list[Issue]]:
    """The compiled pattern (or None); lengths that contradict each other."""
    issues = []
    if f.min_length is not None and f.min_length > f.max_length:
        issues.append(
            Issue(
                ("min_length",),
                "min_over_max",
                f"min_length ({f.min_length}) is greater than max_length ({f.max_length})",
            )
        )
    if f.pattern is None:
        return None, issues
    try:
        return compile_site_pattern(f.pattern), issues
    except PatternError as exc:
        return None, [*issues, Issue(("pattern",), exc.code, str(exc))]


def _text_schema(f: TextField | TextareaField, prepared: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": max(1, f.min_length or 0),
        "maxLength": f.max_length,
        "not": {"pattern": FORBIDDEN_IN_TEXT if f.type == "textarea" else FORBIDDEN_IN_LINE},
    }
    if f.pattern is not None:
        schema["pattern"] = whole(f.pattern)
    return schema


def _check_text(f: TextField | TextareaField, value: Any, pattern: Any, today: Any) -> str:
    return check_text(
        value,
        multiline=f.type == "textarea",
        min_length=f.min_length,
        max_length=f.max_length,
        pattern=pattern,
    )


def _text_input(f: TextField) -> dict[str, str]:
    hints = {"control": "input", "type": "text"}
    if f.role == "customer_name":
        hints["autocomplete"] = "name"
    return hints


TEXT = FieldType(
    name="text",
    codes=("not_text", "control_characters", "too_long", "too_short", "pattern"),
    model=TextField,
    schema=_text_schema,
    check=_check_text,
    input=_text_input,
    prepare=_prepare_text,
)
TEXTAREA = FieldType(
    name="textarea",
    codes=("not_text", "control_characters", "too_long", "too_short", "pattern"),
    model=TextareaField,
    schema=_text_schema,
    check=_check_text,
    input=fixed_input(control="textarea"),
    prepare=_prepare_text,
)
EMAIL = FieldType(
    name="email",
    codes=("not_text", "invalid_email"),
    model=EmailField,
    schema=lambda f, p: string_schema(EMAIL_PATTERN, format="email", maxLength=EMAIL_MAX_LENGTH),
    check=lambda f, v, p, t: check_email(v),
    input=fixed_input(control="input", type="email", autocomplete="email", spellcheck="false"),
    contact="write",
)
URL = FieldType(
    name="url",
    codes=("not_text", "too_long", "invalid_url"),
    model=UrlField,
    schema=lambda f, p: string_schema(URL_PATTERN, format="uri", maxLength=f.max_length),
    check=lambda f, v, p, t: check_url(v, max_length=f.max_length),
    input=fixed_input(control="input", type="url", autocomplete="url", inputmode="url"),
)


# -- addresses in configuration ----------------------------------------------------

#: Domains of private networks that a company's own mail server may deliver
#: to and that email-validator refuses whatever the options, as special-use
#: names (RFC 6761, 6762, 8375). Configured recipients may use them (and
#: ``.test``, ``.internal``, ``.lan`` or a one-label host, which the options
#: allow); a customer's address never may.
PRIVATE_MAIL_DOMAINS = ("local", "localhost", "home.arpa")
# A stand-in of the same syntax that email-validator accepts with
# test_environment, so the labels before the suffix are still checked.
_STAND_IN = "test"


def _private_suffix(domain: str) -> str | None:
    lowered = domain.lower().rstrip(".")
    for suffix in PRIVATE_MAIL_DOMAINS:
        if lowered == suffix or lowered.endswith("." + suffix):
            return suffix
    return None


def check_configured_email(value: Any) -> str:
    """An address from a form file or a setting (an agent's, a sender's),
    normalised as :func:`check_email` does; ``invalid_email`` otherwise.

    Unlike a customer's address it may be on an internal domain that mail
    servers inside a company deliver to: ``service@garage.local``,
    ``.internal``, ``.lan``, ``.home.arpa``, ``.localhost``, ``.test`` or a
    one-label host like ``root@mailhost``. The global list of special-use
    names in email-validator is left alone: the customers' check stays strict.
    """
    text = as_string(value)
    if len(text) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(text) or _LINE.search(text):
        raise FieldProblem("invalid_email")
    local, _, domain = text.rpartition("@")
    suffix = _private_suffix(domain)
    checked_text = text
    if suffix is not None:
        kept = domain.rstrip(".")[: -len(suffix)]
        checked_text = f"{local}@{kept}{_STAND_IN}"
    try:
        checked = validate_email(
            checked_text,
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=True,
        )
    except EmailNotValidError:
        raise FieldProblem("invalid_email") from None
    normalized = str(checked.normalized)
    if suffix is None:
        return normalized
    return normalized[: -len(_STAND_IN)] + suffix
