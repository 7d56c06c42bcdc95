"""Signed links: a form opened with answers given, a status page, a draft.

A prefilled link is ``{base}/forms/{form}?t=TOKEN``. The token is signed
with the service's secret (``INTAKE_SECRET``) and bound to its form: a token
made for one form is damaged for every other. It carries the given values,
the names of those the customer may not change, an expiry time and, for a
single-use link, an id (``jti``) the store remembers once it is used.

Secrets rotate: ``INTAKE_SECRET`` may list several, the first signs and every
one verifies, so links sent before a change keep working until the old
secret is taken off the list. A portal that signs its own JWTs (pyjwt) uses
``INTAKE_PORTAL_JWT_KEY``, a shared HS256 secret or a PEM public key, with
the claims ``form``, ``data``, ``lock``, ``exp`` and ``jti``.

The values a link gives are checked like answers when it is made (each one
by its question's type; a link cannot carry an invalid plate), and again by
the web layer when it is used, since a portal's JWT was never checked here.
A token is signed, not encrypted: whoever has the link can read its values,
so a link never carries a sensitive answer or a file. No token and no value
is ever put in an error message or a log line.
"""

from intakeforms.links.base import MAX_DURATION, LinkClaims, parse_duration
from intakeforms.links.portal import PortalKey
from intakeforms.links.prefill import (
    LinkMaker,
    check_link_values,
    make_link,
    make_token,
    read_token,
)
from intakeforms.links.status import (
    DRAFT_DAYS,
    make_draft_token,
    make_status_token,
    read_draft_token,
    read_status_token,
)

__all__ = [
    "DRAFT_DAYS",
    "MAX_DURATION",
    "LinkClaims",
    "LinkMaker",
    "PortalKey",
    "check_link_values",
    "make_draft_token",
    "make_link",
    "make_status_token",
    "make_token",
    "parse_duration",
    "read_draft_token",
    "read_status_token",
    "read_token",
]
