"""The ``deliver`` list and ``autorespond``: their settings checked when the form loads.

Secrets never live in the YAML: a target names the environment variable that
holds each one, and loading needs none of them to be set. Custom-field
mappings name fields of the form and ids of the right kind for each helpdesk.
The autoresponder writes to the customer, so it needs a ``reply_to`` question.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from intakeforms.errors import Problem
from intakeforms.fields import FieldProblem
from intakeforms.language.models import (
    INLINE_SECRET_KEYS,
    TARGET_KINDS,
    EmailTarget,
    FormDefinition,
    FreshdeskTarget,
    ZammadTarget,
    ZendeskTarget,
)
from intakeforms.language.shape import did_you_mean
from intakeforms.language.source import Document, Path

__all__ = ["SECRET_KEYS", "ZAMMAD_RESERVED", "check_autorespond", "check_deliver", "is_loopback"]


# -- delivery targets ----------------------------------------------------------

#: An environment variable's name, as POSIX shells write them.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
#: One DNS label: the ``acme`` of acme.zendesk.com.
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
#: A tag all three helpdesks keep as written: Zendesk splits tags at spaces
#: and Zammad at commas, so neither may appear.
_TAG = re.compile(r"[\w.:/-]{1,80}")
_FRESHDESK_FIELD = re.compile(r"cf_[A-Za-z0-9_]{1,60}")
_ZAMMAD_ATTRIBUTE = re.compile(r"[a-z][a-z0-9_]{0,59}")
#: Zammad ticket attributes that intakeforms sets itself, or that decide who
#: owns and sees the ticket; an answer must not overwrite them.
ZAMMAD_RESERVED = frozenset(
    {
        "article",
        "created_at",
        "created_by_id",
        "customer",
        "customer_id",
        "group",
        "group_id",
        "id",
        "links",
        "mentions",
        "number",
        "organization",
        "organization_id",
        "owner",
        "owner_id",
        "preferences",
        "state",
        "state_id",
        "tags",
        "title",
        "updated_at",
        "updated_by_id",
    }
)
#: Where each kind of HTTP target takes the name of its secret's variable.
SECRET_KEYS = {
    "webhook": "secret_env",
    "zendesk": "token_env",
    "freshdesk": "api_key_env",
    "zammad": "token_env",
}


def check_deliver(
    doc: Document,
    form: FormDefinition,
    fields: dict[str, Any],
    problems: list[Problem],
) -> None:
    for i, target in enumerate(form.deliver):
        here: Path = ("deliver", i)
        chosen = [key for key in TARGET_KINDS if getattr(target, key) is not None]
        if len(chosen) != 1:
            problems.append(
                doc.problem(
                    here,
                    "invalid_target",
                    "each deliver item names exactly one target: "
                    f"{', '.join(TARGET_KINDS[:-1])} or {TARGET_KINDS[-1]}",
                )
            )
            continue
        kind = chosen[0]
        at: Path = (*here, kind)
        if target.email is not None:
            _check_email_target(doc, form, target.email, at, problems)
            continue
        config = getattr(target, kind)
        for key in INLINE_SECRET_KEYS:
            if getattr(config, key) is not None:
                problems.append(
                    doc.problem(
                        (*at, key),
                        "inline_secret",
                        "never write a secret in a form file; put it in an environment "
                        f"variable and write {SECRET_KEYS[kind]}: ITS_NAME",
                        key=True,
                    )
                )
        if target.webhook is not None:
            _check_url(doc, target.webhook.url, (*at, "url"), problems, base=False)
            if target.webhook.secret_env is not None:
                _check_env_name(doc, target.webhook.secret_env, (*at, "secret_env"), problems)
            continue
        helpdesk: ZendeskTarget | FreshdeskTarget | ZammadTarget = config
        _check_helpdesk(doc, form, fields, kind, helpdesk, at, problems)


def check_autorespond(doc: Document, form: FormDefinition, problems: list[Problem]) -> None:
    """The confirmation needs somewhere to go: a ``role: reply_to`` question.

    Its texts are checked with the form's other texts (every locale, none
    empty), and ``max_per_day`` by the model (1 or more).
    """
    if form.autorespond is None:
        if isinstance(doc.values, dict) and "autorespond" in doc.values:
            # "autorespond:" with nothing after it is YAML's null, which would
            # quietly turn the confirmations off that the author meant to turn on.
            problems.append(
                doc.problem(
                    ("autorespond",),
                    "invalid_value",
                    "autorespond is empty; write autorespond: {} to send confirmations "
                    "with the default texts, or leave the key out",
                )
            )
        return
    if not form.with_role("reply_to"):
        problems.append(
            doc.problem(
                ("autorespond",),
                "missing_reply_to",
                "a confirmation email needs the customer's email address; add an email "
                "question with role: reply_to",
            )
        )


def _check_email_target(
    doc: Document, form: FormDefinition, target: EmailTarget, at: Path, problems: list[Problem]
) -> None:
    from intakeforms.fields.text import check_configured_email

    # Agents' addresses may be on an internal domain (service@garage.local)
    # that no customer's address may use.
    for key in ("to", "cc"):
        for j, address in enumerate(getattr(target, key)):
            try:
                check_configured_email(address)
            except FieldProblem:
                problems.append(
                    doc.problem(
                        (*at, key, j),
                        "invalid_value",
                        f"{address!r} is not an email address; write it like "
                        "service@example.com (internal domains like .local are fine)",
                    )
                )
    _check_target_locale(doc, form, target.locale, at, problems)
    from intakeforms.language.headers import check_extra_headers

    for name, value in target.headers.items():
        try:
            check_extra_headers({name: value})
        except ValueError as exc:
            problems.append(
                doc.problem((*at, "headers", name), "invalid_header", str(exc), key=True)
            )
    if target.from_name is not None and (
        not target.from_name.strip() or re.search(r"[\x00-\x1f\x7f]", target.from_name)
    ):
        problems.append(
            doc.problem(
                (*at, "from_name"),
                "invalid_value",
                "from_name is one line of text, like 'Car service form'",
            )
        )


def _check_target_locale(
    doc: Document, form: FormDefinition, locale: str | None, at: Path, problems: list[Problem]
) -> None:
    if locale is not None and locale not in form.locales:
        problems.append(
            doc.problem(
                (*at, "locale"),
                "unknown_locale",
                f"{locale!r} is not one of the form's locales ({', '.join(form.locales)})",
            )
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(
    doc: Document, url: str, where: Path, problems: list[Problem], *, base: bool
) -> None:
    """An https address (http only on loopback); ``base``: no query or fragment."""
    from intakeforms.fields.text import check_url

    try:
        check_url(url, max_length=2000)
        parts = urlsplit(url)
        host = parts.hostname or ""
    except (FieldProblem, ValueError):
        problems.append(
            doc.problem(
                where, "invalid_value", "write an https:// address, like https://example.com/"
            )
        )
        return
    if parts.username is not None or parts.password is not None:
        problems.append(
            doc.problem(
                where,
                "inline_secret",
                "the address holds a user name or password; never write a secret in a "
                "form file, name its environment variable instead",
            )
        )
    elif parts.scheme.lower() == "http" and not is_loopback(host):
        problems.append(
            doc.problem(
                where,
                "invalid_value",
                "write an https:// address; http:// is allowed only for localhost and "
                "127.0.0.1 (tests), since answers must not cross a network unencrypted",
            )
        )
    elif base and (parts.query or parts.fragment):
        problems.append(
            doc.problem(
                where,
                "invalid_value",
                "write the address without ?… or #…, like https://help.example.com",
            )
        )


def _check_env_name(doc: Document, name: str, where: Path, problems: list[Problem]) -> None:
    if not _ENV_NAME.fullmatch(name):
        problems.append(
            doc.problem(
                where,
                "invalid_value",
                f"{where[-1]} names an environment variable, like "
                f"{'WEBHOOK_SECRET' if where[-1] == 'secret_env' else 'HELPDESK_TOKEN'}; "
                "never write the secret itself in the form",
            )
        )


def _check_helpdesk(
    doc: Document,
    form: FormDefinition,
    fields: dict[str, Any],
    kind: str,
    target: ZendeskTarget | FreshdeskTarget | ZammadTarget,
    at: Path,
    problems: list[Problem],
) -> None:
    secret_key = SECRET_KEYS[kind]
    _check_env_name(doc, getattr(target, secret_key), (*at, secret_key), problems)
    if isinstance(target, ZammadTarget):
        _check_url(doc, target.url, (*at, "url"), problems, base=True)
        if not target.group.strip() or re.search(r"[\x00-\x1f\x7f]", target.group):
            problems.append(
                doc.problem(
                    (*at, "group"),
                    "invalid_value",
                    "group is the name of a Zammad group, like Users",
                )
            )
    else:
        _check_account(doc, kind, target, at, problems)
    if isinstance(target, ZendeskTarget):
        from intakeforms.fields.text import check_configured_email

        try:
            check_configured_email(target.email)
        except FieldProblem:
            problems.append(
                doc.problem(
                    (*at, "email"),
                    "invalid_value",
                    f"{target.email!r} is not an email address; write the address of the "
                    "agent the API token belongs to",
                )
            )
    elif not form.with_role("reply_to"):
        # Zendesk makes the API's agent the requester when none is given; a
        # Freshdesk or Zammad ticket cannot be made without a customer.
        problems.append(
            doc.problem(
                at,
                "missing_reply_to",
                f"a {kind} ticket needs the customer's email address; add an email "
                "question with role: reply_to and required: true",
            )
        )
    _check_field_map(doc, kind, target.fields, fields, at, problems)
    for j, tag in enumerate(target.tags):
        if not _TAG.fullmatch(tag):
            problems.append(
                doc.problem(
                    (*at, "tags", j),
                    "invalid_value",
                    f"{tag!r} is not a tag; a tag is one word of letters, digits and "
                    "_ - . : /, like car-service",
                )
            )
    _check_target_locale(doc, form, target.locale, at, problems)


def _check_account(
    doc: Document,
    kind: str,
    target: ZendeskTarget | FreshdeskTarget,
    at: Path,
    problems: list[Problem],
) -> None:
    """A SaaS helpdesk is named by its first label (``acme``) or a whole url."""
    key = "subdomain" if isinstance(target, ZendeskTarget) else "domain"
    label: str | None = getattr(target, key)
    example = f"acme for acme.{kind}.com"
    if label is None and target.url is None:
        problems.append(
            doc.problem(at, "missing_key", f"a {kind} target needs {key} ({example}) or url")
        )
    elif label is not None and target.url is not None:
        problems.append(doc.problem((*at, "url"), "invalid_value", f"write {key} or url, not both"))
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
            problems.append(doc.problem((*at, key), "invalid_value", message))
    else:
        assert target.url is not None  # neither given was reported above
        _check_url(doc, target.url, (*at, "url"), problems, base=True)


def _custom_field_problem(kind: str, target_id: int | str) -> str | None:
    """Why ``target_id`` cannot name a custom field of ``kind``, or None."""
    text = str(target_id).strip()
    if kind == "zendesk":
        if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
            return None
        return (
            f"{target_id!r} is not a Zendesk field id; ids are numbers, like 360001234567 "
            "(Admin Center → Objects and rules → Tickets → Fields)"
        )
    if kind == "freshdesk":
        if _FRESHDESK_FIELD.fullmatch(text):
            return None
        return (
            f"{target_id!r} is not a Freshdesk custom field; their API names start "
            "with cf_, like cf_plate"
        )
    if not _ZAMMAD_ATTRIBUTE.fullmatch(text):
        return (
            f"{target_id!r} is not a Zammad attribute name; names are lowercase letters, "
            "digits and _, like plate_number"
        )
    if text in ZAMMAD_RESERVED:
        return f"{text!r} is a Zammad ticket attribute that intakeforms sets or must not change"
    return None


def _check_field_map(
    doc: Document,
    kind: str,
    mapping: Mapping[str, int | str],
    fields: dict[str, Any],
    at: Path,
    problems: list[Problem],
) -> None:
    seen: dict[str, str] = {}
    for name, target_id in mapping.items():
        where: Path = (*at, "fields", name)
        if name not in fields:
            problems.append(
                doc.problem(
                    where,
                    "unknown_field_reference",
                    f"{name!r} is not a field of this form{did_you_mean(name, list(fields))}",
                    key=True,
                )
            )
        elif fields[name].type == "file":
            problems.append(
                doc.problem(
                    where,
                    "invalid_value",
                    f"{name!r} is a file question; files cannot go in a custom field "
                    "(the ticket lists them)",
                    key=True,
                )
            )
        wrong = _custom_field_problem(kind, target_id)
        if wrong is not None:
            problems.append(doc.problem(where, "invalid_value", wrong))
            continue
        key = str(target_id).strip()
        if key in seen:
            problems.append(
                doc.problem(
                    where,
                    "invalid_value",
                    f"{seen[key]!r} already goes to custom field {key}; a custom field "
                    "holds one answer",
                )
            )
        seen.setdefault(key, name)
