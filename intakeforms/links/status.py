"""Status-page tokens (bound to a reference) and draft tokens ("continue later")."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer

from intakeforms.errors import LinkDamaged, LinkExpired
from intakeforms.links.base import epoch, moment, now_or, serializer

__all__ = [
    "DRAFT_DAYS",
    "make_draft_token",
    "make_status_token",
    "read_draft_token",
    "read_status_token",
]

#: How long a draft's link ("continue later") stays valid.
DRAFT_DAYS = 7

_DRAFT_ID = re.compile(r"[0-9a-f]{32}")

# -- status pages -----------------------------------------------------------------

_STATUS_SALT = "intakeforms.status"


def _status_signers(secrets: Sequence[str]) -> list[Signer]:
    return [
        Signer(s.encode("utf-8"), salt=_STATUS_SALT, digest_method=hashlib.sha256) for s in secrets
    ]


def make_status_token(reference: str, *, secret: str) -> str:
    """The token of ``{base}/status/{reference}?t=TOKEN``: the signature of
    the reference alone (43 characters), with no expiry."""
    return (
        Signer(secret.encode("utf-8"), salt=_STATUS_SALT, digest_method=hashlib.sha256)
        .get_signature(reference.encode("utf-8"))
        .decode("ascii")
    )


def read_status_token(token: str, reference: str, *, secrets: Sequence[str]) -> None:
    """Return when ``token`` is the status token of ``reference`` under one of
    ``secrets``; raise :class:`~intakeforms.LinkDamaged` otherwise."""
    if not isinstance(token, str) or not 0 < len(token) <= 128:
        raise LinkDamaged("malformed")
    signed = reference.encode("utf-8")
    given = token.encode("ascii", "replace")
    if not any(s.verify_signature(signed, given) for s in _status_signers(secrets)):
        raise LinkDamaged("signature", "the status link is damaged or not for this reference")


# -- drafts ("continue later") ----------------------------------------------------


def _draft_salt(form_id: str) -> str:
    return f"intakeforms.draft:{form_id}"


def make_draft_token(
    draft_id: str, form: str, *, secret: str, now: dt.datetime | None = None
) -> str:
    """The token of ``{base}/forms/{form}?d=TOKEN``: a draft's id, for that
    form, valid :data:`DRAFT_DAYS` days."""
    if not _DRAFT_ID.fullmatch(draft_id):
        raise ValueError("a draft id is 32 lower-case hex characters")
    expires = epoch(now_or(now) + dt.timedelta(days=DRAFT_DAYS))
    return str(serializer(_draft_salt(form), (secret,)).dumps([draft_id, expires]))


def read_draft_token(
    token: str, form: str, *, secrets: Sequence[str], now: dt.datetime | None = None
) -> str:
    """The draft id in ``token`` for ``form``; :class:`~intakeforms.LinkDamaged`
    when it is not one, :class:`~intakeforms.LinkExpired` after DRAFT_DAYS."""
    if not isinstance(token, str) or not token or len(token) > 512 or not secrets:
        raise LinkDamaged("malformed")
    try:
        payload = serializer(_draft_salt(form), secrets).loads(token)
    except BadSignature:
        raise LinkDamaged("signature") from None
    except (ValueError, UnicodeError):
        raise LinkDamaged("malformed") from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], str)
        or not _DRAFT_ID.fullmatch(payload[0])
        or not isinstance(payload[1], int)
    ):
        raise LinkDamaged("malformed")
    expiry = moment(payload[1])
    if now_or(now) >= expiry:
        raise LinkExpired(expiry)
    return payload[0]
