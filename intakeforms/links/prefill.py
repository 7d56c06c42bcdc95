"""Prefilled links: made from checked values, read back as claims."""

from __future__ import annotations

import datetime as dt
import secrets as _secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature

from intakeforms.errors import FieldError, InvalidAnswers, LinkDamaged
from intakeforms.fields import FieldProblem
from intakeforms.fields.files import FILE
from intakeforms.fields.registry import TYPES
from intakeforms.fields.text import has_surrogates, is_storable
from intakeforms.i18n import gettext_for
from intakeforms.links.base import MAX_TOKEN_CHARS, LinkClaims, claims, epoch, now_or, serializer
from intakeforms.links.portal import PortalKey, read_jwt
from intakeforms.validate import MESSAGES, is_blank, message_for

if TYPE_CHECKING:
    from intakeforms.form import Form

__all__ = [
    "LinkMaker",
    "check_link_values",
    "make_link",
    "make_token",
    "read_token",
]


def _link_salt(form_id: str) -> str:
    return f"intakeforms.link:{form_id}"


def _payload(
    form_id: str,
    values: Mapping[str, Any],
    lock: Sequence[str],
    expires: dt.timedelta | None,
    once: bool,
    now: dt.datetime | None,
) -> dict[str, Any]:
    return {
        "f": form_id,
        "d": dict(values),
        "l": list(lock),
        "e": None if expires is None else epoch(now_or(now) + expires),
        "j": _secrets.token_hex(16) if once else None,
    }


def make_token(
    form_id: str,
    values: Mapping[str, Any],
    *,
    secret: str,
    lock: Sequence[str] = (),
    expires: dt.timedelta | None = None,
    once: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """The signed token of a prefilled link, for ``form_id`` only.

    ``values`` are taken as they are (JSON-able); :func:`make_link` checks
    them first. ``lock`` names the values the customer may not change,
    ``expires`` how long the link works, ``once`` gives it a single-use id.
    """
    payload = _payload(form_id, values, lock, expires, once, now)
    return str(serializer(_link_salt(form_id), (secret,)).dumps(payload))


def _refusal(name: str, reason: str) -> ValueError:
    return ValueError(f"a link cannot give {name!r}: {reason}")


def check_link_values(
    form: Form, values: Mapping[str, Any], *, today: dt.date | None = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """Each given value checked like an answer to its question, alone.

    Returns the normalised values (blank ones left out: the customer fills
    them in) and every problem as a :class:`FieldError` (``unknown_field``,
    ``invalid_plate``, ...), messages in the form's default language. A
    question's ``when`` is not applied: the link gives the value, the
    page decides whether to ask. ``ValueError`` for a file or sensitive
    question, which a link never carries.
    """
    locale = form.default_locale
    fields = form.fields
    prepared = form.analysis.prepared
    day = today or dt.date.today()
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in values.items():
        question = fields.get(name) if isinstance(name, str) else None
        if question is None:
            text = gettext_for(MESSAGES["unknown_field"], locale)
            errors.append(FieldError(str(name), "unknown_field", text))
            continue
        if question.type == FILE.name:
            raise _refusal(name, "files are uploaded by the customer")
        if question.sensitive:
            raise _refusal(name, "its answers are sensitive, and anyone who has a link can read it")
        if is_blank(value):
            continue
        try:
            if has_surrogates(value):
                raise FieldProblem("invalid_text")
            checked = TYPES[question.type].check(question, value, prepared.get(name), day)
            if not is_storable(checked):
                raise FieldProblem("invalid_text")
        except FieldProblem as problem:
            errors.append(FieldError(name, problem.code, message_for(question, problem, locale)))
            continue
        clean[name] = checked
    return clean, errors


class LinkMaker:
    """Makes many links to one form with one signer: what a campaign of
    100,000 links needs. :func:`make_link` is one call of it."""

    def __init__(self, form: Form, *, secret: str, base_url: str = "") -> None:
        if not secret:
            raise ValueError("no secret to sign links with; set INTAKE_SECRET")
        self.form = form
        self._serializer = serializer(_link_salt(form.id), (secret,))
        self._prefix = f"{base_url.rstrip('/')}/forms/{form.id}?t="

    def link(
        self,
        values: Mapping[str, Any],
        *,
        lock: Sequence[str] = (),
        expires: dt.timedelta | None = None,
        once: bool = False,
        now: dt.datetime | None = None,
    ) -> str:
        """A link giving ``values``; raises like :func:`make_link`."""
        clean, errors = check_link_values(self.form, values)
        if errors:
            raise InvalidAnswers(errors)
        for name in lock:
            if name not in clean:
                raise ValueError(
                    f"cannot lock {name!r}: the link gives it no value; give one, or do not lock it"
                )
        payload = _payload(self.form.id, clean, lock, expires, once, now)
        return self._prefix + str(self._serializer.dumps(payload))


def make_link(
    form: Form,
    values: Mapping[str, Any],
    *,
    secret: str,
    lock: Sequence[str] = (),
    expires: dt.timedelta | None = None,
    once: bool = False,
    base_url: str = "",
) -> str:
    """A link that opens ``form`` with ``values`` given: ``{base_url}/forms/{form}?t=TOKEN``.

    ``secret`` signs it (the first of ``INTAKE_SECRET``: ``settings.secret``).
    Each value is checked like an answer to its question: an unknown
    question or a value that does not fit raises
    :class:`~intakeforms.InvalidAnswers` naming the field; the token holds
    the normalised values (``abc123`` → ``ABC-123``), blank ones left out.
    ``lock`` names given values the customer sees but may not change (else
    ``ValueError``), ``expires`` (a timedelta, see :func:`parse_duration`)
    how long the link works, and ``once=True`` makes it single-use. A file
    or sensitive question cannot be given (``ValueError``): a link is
    readable by whoever has it.
    """
    return LinkMaker(form, secret=secret, base_url=base_url).link(
        values, lock=lock, expires=expires, once=once
    )


def _is_jwt(token: str) -> bool:
    # A JWT is header.payload.signature; our tokens are payload.signature, or
    # .payload.signature when compressed (a leading dot).
    return token.count(".") == 2 and not token.startswith(".")


def read_token(
    token: str,
    form_id: str,
    *,
    secrets: Sequence[str],
    portal: PortalKey | None = None,
    now: dt.datetime | None = None,
) -> LinkClaims:
    """Verify a prefilled link's token for ``form_id`` and return its claims.

    ``secrets`` are every secret that verifies (``settings.secrets``); a
    portal's JWT is accepted when ``portal`` is given. Raises
    :class:`~intakeforms.LinkDamaged` for a bad signature, a token of
    another form, a malformed one, or a JWT whose audience, issuer or
    algorithm does not hold, and :class:`~intakeforms.LinkExpired` once
    its time is over. The values are not checked again here: check them as
    answers before showing them.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkDamaged("malformed")
    if _is_jwt(token):
        if portal is None:
            raise LinkDamaged("portal", "a portal's token, but no INTAKE_PORTAL_JWT_KEY is set")
        return read_jwt(token, form_id, portal, now)
    if not secrets:
        raise LinkDamaged("signature")
    try:
        payload = serializer(_link_salt(form_id), secrets).loads(token)
    except BadSignature:
        raise LinkDamaged("signature") from None
    except (ValueError, UnicodeError):
        raise LinkDamaged("malformed") from None
    if not isinstance(payload, dict):
        raise LinkDamaged("malformed")
    if payload.get("f") != form_id:  # the salt already binds it; the payload says it too
        raise LinkDamaged("form")
    return claims(
        form_id, payload.get("d"), payload.get("l"), payload.get("e"), payload.get("j"), now
    )
