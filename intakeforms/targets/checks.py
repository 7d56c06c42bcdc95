"""Load-time checks several target kinds share: addresses, secrets, helpdesk settings.

A kind's module calls these from its ``check``; each reports through the
:class:`~intakeforms.language.target_kinds.TargetCheck` it is given, at a
path under the item's settings (``deliver[0].zendesk.url``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from intakeforms.fields import FieldProblem
from intakeforms.fields.text import check_configured_email, check_url
from intakeforms.language.shape import did_you_mean
from intakeforms.language.target_kinds import TargetCheck

__all__ = [
    "INLINE_SECRET_KEYS",
    "TAGS",
    "HttpTargetModel",
    "TargetModel",
    "check_account",
    "check_agent_address",
    "check_env_name",
    "check_field_map",
    "check_inline_secrets",
    "check_locale",
    "check_one_line",
    "check_tags",
    "check_target_url",
    "is_loopback",
    "needs_reply_to",
]

#: An environment variable's name, as POSIX shells write them.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
#: One DNS label: the ``acme`` of acme.zendesk.com.
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
#: A tag the helpdesks keep as written: one splits tags at spaces and
#: another at commas, so neither may appear.
_TAG = re.compile(r"[\w.:/-]{1,80}")
#: The help editors show for a helpdesk's ``tags``.
TAGS = "Tags every ticket gets, like car-service."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Keys people write when they paste a secret into a form. They are accepted
#: by the shape check only so that :func:`check_inline_secrets` can refuse
#: them with their own code (``inline_secret``) without ever echoing the
#: value; editors do not offer them (they are left out of the JSON Schema).
INLINE_SECRET_KEYS = ("secret", "token", "api_key", "api_token", "password")


class TargetModel(BaseModel):
    """The base of a kind's settings: the form language's strictness (an
    unknown key is an error; settings never change once loaded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpTargetModel(TargetModel):
    """What every target delivered over HTTP has: room to refuse inline secrets."""

    secret: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    token: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    api_key: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    api_token: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    password: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)


def check_inline_secrets(ctx: TargetCheck, config: HttpTargetModel, setting: str) -> None:
    """A secret pasted into the form is refused, pointing at its key, never its value."""
    for key in INLINE_SECRET_KEYS:
        if getattr(config, key) is not None:
            ctx.problem(
                (key,),
                "inline_secret",
                "never write a secret in a form file; put it in an environment "
                f"variable and write {setting}: ITS_NAME",
                key=True,
            )


def check_locale(ctx: TargetCheck, locale: str | None) -> None:
    """The agents' language is one of the form's."""
    if locale is not None and locale not in ctx.form.locales:
        ctx.problem(
            ("locale",),
            "unknown_locale",
            f"{locale!r} is not one of the form's locales ({', '.join(ctx.form.locales)})",
        )


def check_one_line(ctx: TargetCheck, key: str, value: str | None, message: str) -> None:
    """``value`` (when given) is one line of text, not blank."""
    if value is not None and (not value.strip() or _CONTROL.search(value)):
        ctx.problem((key,), "invalid_value", message)


def check_agent_address(
    ctx: TargetCheck, path: tuple[str | int, ...], address: str, hint: str
) -> None:
    """An agents' address: internal domains (service@garage.local) are fine."""
    try:
        check_configured_email(address)
    except FieldProblem:
        ctx.problem(path, "invalid_value", f"{address!r} is not an email address; {hint}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target_url(ctx: TargetCheck, key: str, url: str, *, base: bool) -> None:
    """An https address (http only on loopback); ``base``: no query or fragment."""
    try:
        check_url(url, max_length=2000)
        parts = urlsplit(url)
        host = parts.hostname or ""
    except (FieldProblem, ValueError):
        ctx.problem((key,), "invalid_value", "write an https:// address, like https://example.com/")
        return
    if parts.username is not None or parts.password is not None:
        ctx.problem(
            (key,),
            "inline_secret",
            "the address holds a user name or password; never write a secret in a "
            "form file, name its environment variable instead",
        )
    elif parts.scheme.lower() == "http" and not is_loopback(host):
        ctx.problem(
            (key,),
            "invalid_value",
            "write an https:// address; http:// is allowed only for localhost and "
            "127.0.0.1 (tests), since answers must not cross a network unencrypted",
        )
    elif base and (parts.query or parts.fragment):
        ctx.problem(
            (key,),
            "invalid_value",
            "write the address without ?… or #…, like https://help.example.com",
        )


def check_env_name(ctx: TargetCheck, key: str, name: str, example: str) -> None:
    """``name`` is an environment variable's name, like ``example``."""
    if not _ENV_NAME.fullmatch(name):
        ctx.problem(
            (key,),
            "invalid_value",
            f"{key} names an environment variable, like {example}; never write the "
            "secret itself in the form",
        )


def check_account(
    ctx: TargetCheck, kind: str, key: str, label: str | None, url: str | None
) -> None:
    """A SaaS helpdesk is named by its first label (``acme``) or a whole url."""
    example = f"acme for acme.{kind}.com"
    if label is None and url is None:
        ctx.problem((), "missing_key", f"a {kind} target needs {key} ({example}) or url")
    elif label is not None and url is not None:
        ctx.problem(("url",), "invalid_value", f"write {key} or url, not both")
    elif label is not None:
        if not _HOST_LABEL.fullmatch(label):
            first = label.split(".", 1)[0]
            if "." in label and _HOST_LABEL.fullmatch(first):
                message = f"write only the first part of the address: {first}, not {label}"
            else:
                message = (
                    f"{label!r} is not a {kind} {key}; write the first part of the "
                    f"address in lowercase, like {example}"
                )
            ctx.problem((key,), "invalid_value", message)
    else:
        assert url is not None  # neither given was reported above
        check_target_url(ctx, "url", url, base=True)


def needs_reply_to(ctx: TargetCheck, kind: str) -> None:
    """A ticket that cannot be made without a customer needs their address."""
    if not ctx.form.with_role("reply_to"):
        ctx.problem(
            (),
            "missing_reply_to",
            f"a {kind} ticket needs the customer's email address; add an email "
            "question with role: reply_to and required: true",
        )


def check_tags(ctx: TargetCheck, tags: list[str]) -> None:
    """Each tag is one word the helpdesks keep as written."""
    for j, tag in enumerate(tags):
        if not _TAG.fullmatch(tag):
            ctx.problem(
                ("tags", j),
                "invalid_value",
                f"{tag!r} is not a tag; a tag is one word of letters, digits and "
                "_ - . : /, like car-service",
            )


def check_field_map(
    ctx: TargetCheck,
    mapping: Mapping[str, int | str],
    custom_field_problem: Callable[[int | str], str | None],
) -> None:
    """Answers mapped to a helpdesk's custom fields: each a field of the form
    (not a file), each custom field named as the helpdesk names them
    (``custom_field_problem`` says why not), and used once."""
    seen: dict[str, str] = {}
    fields = ctx.fields
    for name, target_id in mapping.items():
        where = ("fields", name)
        if name not in fields:
            ctx.problem(
                where,
                "unknown_field_reference",
                f"{name!r} is not a field of this form{did_you_mean(name, list(fields))}",
                key=True,
            )
        elif fields[name].type == "file":
            ctx.problem(
                where,
                "invalid_value",
                f"{name!r} is a file question; files cannot go in a custom field "
                "(the ticket lists them)",
                key=True,
            )
        wrong = custom_field_problem(target_id)
        if wrong is not None:
            ctx.problem(where, "invalid_value", wrong)
            continue
        key = str(target_id).strip()
        if key in seen:
            ctx.problem(
                where,
                "invalid_value",
                f"{seen[key]!r} already goes to custom field {key}; a custom field "
                "holds one answer",
            )
        seen.setdefault(key, name)
