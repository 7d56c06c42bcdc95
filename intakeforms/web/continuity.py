"""Contacts that continue: signed prefilled links, drafts, the status page.

A link (``?t=``) carries answers signed with ``INTAKE_SECRET`` (or a portal's
JWT); the form opens with them, the locked ones cannot be changed (the
server keeps the signed value whatever is posted), and a single-use link
used again answers with the first reference. A draft link (``?d=``) opens
the answers a customer saved with "Continue by email later". Tokens and
their values never reach a log line: :class:`RedactTokens` takes them out
of the access log, and nothing here logs more than a form id.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intakeforms.errors import LinkDamaged, LinkExpired
from intakeforms.fields.files import FILE
from intakeforms.form import Form
from intakeforms.links import (
    DRAFT_DAYS,
    LinkClaims,
    PortalKey,
    check_link_values,
    read_draft_token,
    read_token,
)
from intakeforms.settings import Settings
from intakeforms.store import Store

__all__ = [
    "TOKEN_PARAMETERS",
    "Opened",
    "RedactTokens",
    "apply_link",
    "draft_expiry",
    "draft_id",
    "link_context",
    "new_draft_id",
    "open_draft",
    "open_link",
    "read_link",
    "reopened",
]

logger = logging.getLogger("intakeforms.web")

#: The query parameters that carry tokens: a link's and a draft's.
TOKEN_PARAMETERS = ("t", "d")


@dataclass
class Opened:
    """What a form opens with: the answers given, the locked ones, the hidden
    inputs to post back, and what went wrong with the link (``problem``:
    ``damaged``, ``expired``, ``used``; ``reference`` the first one, for used)."""

    values: dict[str, Any] = field(default_factory=dict)
    locked: tuple[str, ...] = ()
    hidden: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    reference: str | None = None


def _clean(form: Form, values: Mapping[str, Any]) -> dict[str, Any]:
    """The given values that are answers to this form, each checked like an
    answer to its question, alone (its ``when`` is the page's to apply): a
    link or a draft cannot prefill an answer the form would refuse. Files
    and sensitive answers are never prefilled: whoever has the link sees them."""
    fields = form.fields
    given = {
        name: value
        for name, value in values.items()
        if name in fields and fields[name].type != FILE.name and not fields[name].sensitive
    }
    clean, errors = check_link_values(form, given)
    refused = {error.field for error in errors}
    return {name: value for name, value in clean.items() if name not in refused}


def read_link(
    token: str, form: Form, settings: Settings, *, now: dt.datetime | None = None
) -> LinkClaims:
    """The claims of a link for ``form``; raises LinkDamaged or LinkExpired."""
    return read_token(
        token,
        form.id,
        secrets=settings.secrets,
        portal=PortalKey.from_settings(settings),
        now=now,
    )


async def open_link(
    token: str, form: Form, locale: str, settings: Settings, store: Store
) -> Opened:
    """The form opened from a signed link."""
    try:
        claims = read_link(token, form, settings)
    except LinkExpired:
        return Opened(problem="expired")
    except (LinkDamaged, ValueError):
        return Opened(problem="damaged")
    if claims.jti is not None:
        first = await store.link_use(claims.jti)
        if first is not None:
            return Opened(problem="used", reference=first)
    values = _clean(form, claims.values)
    locked = tuple(name for name in claims.locked if name in values)
    return Opened(values=values, locked=locked, hidden={"_link": token})


async def open_draft(
    token: str, form: Form, locale: str, settings: Settings, store: Store
) -> Opened:
    """The form opened from a draft link: the answers saved, none locked."""
    try:
        draft_id = read_draft_token(token, form.id, secrets=settings.secrets)
    except LinkExpired:
        return Opened(problem="draft_expired")
    except (LinkDamaged, ValueError):
        return Opened(problem="damaged")
    draft = await store.get_draft(draft_id)
    if draft is None or draft.form != form.id:
        # Submitted already, or past its days: the form starts empty.
        return Opened(problem="draft_expired")
    return Opened(values=_clean(form, draft.data), hidden={"_draft": token})


def link_context(claims: LinkClaims, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``link`` part of a submission's context: which answers the link gave."""
    given = sorted(name for name in claims.values if name in values)
    return {"given": given, "locked": sorted(n for n in claims.locked if n in values)}


def apply_link(
    token: str | None, form: Form, answers: dict[str, Any], settings: Settings
) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """Answers with the link's locked values forced, the context part, the
    single-use id. A link that expired or broke while the customer was
    typing does not cost them the message: their answers go as typed."""
    if not token:
        return answers, None, None
    try:
        claims = read_link(token, form, settings)
    except (LinkDamaged, LinkExpired, ValueError):
        logger.info("%s: a submission's link no longer verifies; taken as typed", form.id)
        return answers, None, None
    answers = dict(answers)
    signed = {name: claims.values[name] for name in claims.locked if name in claims.values}
    # Written as validation would write them, so that a page sent back with
    # errors shows them so; one the form refuses stays as signed, to be refused.
    answers.update({**signed, **_clean(form, signed)})
    return answers, link_context(claims, answers), claims.jti


def reopened(link: str | None, draft: str | None, form: Form, settings: Settings) -> Opened:
    """What a form sent back with errors keeps of its link or draft: the
    locked answers stay locked, and the tokens go with the next post."""
    hidden = {k: v for k, v in (("_link", link), ("_draft", draft)) if v}
    locked: tuple[str, ...] = ()
    if link:
        try:
            locked = read_link(link, form, settings).locked
        except (LinkDamaged, LinkExpired, ValueError):
            hidden.pop("_link")
    return Opened(locked=locked, hidden=hidden)


def draft_id(token: str | None, form: Form, settings: Settings) -> str | None:
    """The draft a submission finishes, or None."""
    if not token:
        return None
    try:
        return read_draft_token(token, form.id, secrets=settings.secrets)
    except (LinkDamaged, LinkExpired, ValueError):
        return None


def new_draft_id() -> str:
    """A draft's id: 32 hex digits, as the store and draft links expect."""
    return secrets.token_hex(16)


def draft_expiry(now: dt.datetime) -> dt.datetime:
    """When a draft saved ``now`` is erased."""
    return now + dt.timedelta(days=DRAFT_DAYS)


_TOKEN_VALUE = re.compile(r"([?&](?:t|d)=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Takes link and draft tokens out of log lines (uvicorn's access log
    writes the path with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's arguments in place; always keep the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_VALUE.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and ("t=" in record.msg or "d=" in record.msg):
            record.msg = _TOKEN_VALUE.sub(r"\1…", record.msg)
        return True
