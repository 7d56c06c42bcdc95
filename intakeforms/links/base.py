"""What every kind of link shares: signing, times, durations and claims."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import URLSafeSerializer
from itsdangerous.encoding import base64_encode

from intakeforms.errors import LinkDamaged, LinkExpired

__all__ = [
    "MAX_DURATION",
    "MAX_TOKEN_CHARS",
    "LinkClaims",
    "claims",
    "epoch",
    "moment",
    "now_or",
    "parse_duration",
    "serializer",
]

#: The longest ``--expires`` accepted: links are sent to people, not archived.
MAX_DURATION = dt.timedelta(days=3650)
#: A longer token is not one this service made (nor a sane portal JWT); it is
#: refused before any work.
MAX_TOKEN_CHARS = 16_384

_DURATION = re.compile(r"\s*([0-9]{1,9})\s*([smhd])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_JTI_CHARS = 128
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_duration(text: str) -> dt.timedelta:
    """``30s``, ``15m``, ``12h`` or ``7d`` → a timedelta.

    ``ValueError`` names the accepted forms for anything else, for zero, and
    for more than ten years.
    """
    found = _DURATION.fullmatch(text)
    if found is None or int(found.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number and s, m, h or d, "
            "like 30s, 15m, 12h or 7d"
        )
    duration = dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if duration > MAX_DURATION:
        raise ValueError(f"{text!r} is too long; a link may be valid for at most 3650d")
    return duration


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a verified link says: its form, the values it gives, which of
    them are locked, when it expires (UTC) and its single-use id.

    ``values`` are as signed: the web layer checks them again as answers
    before showing them. Its ``repr`` leaves them out.
    """

    form: str
    values: dict[str, Any] = field(repr=False)
    locked: tuple[str, ...] = ()
    expires: dt.datetime | None = None
    jti: str | None = None


class _Serializer(URLSafeSerializer):
    """itsdangerous's URL-safe serializer, writing payloads uncompressed.

    Trying zlib on every token costs more than the rest of signing, for a few
    dozen characters on a link's short payload. What it writes is what
    ``URLSafeSerializer`` reads (a payload without the leading dot of a
    compressed one), so tokens made either way verify alike.
    """

    def dump_payload(self, obj: Any) -> bytes:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        return base64_encode(text.encode("utf-8"))


def serializer(salt: str, secrets: Sequence[str]) -> URLSafeSerializer:
    """The signer of one kind of token; signs with ``secrets[0]``, verifies with all."""
    # itsdangerous signs with the LAST key and verifies with every one, while
    # INTAKE_SECRET lists the signing secret first: reverse it. SHA-256 rather
    # than its default SHA-1: the same speed here, and no argument about SHA-1.
    keys = [s.encode("utf-8") for s in reversed(secrets)]
    return _Serializer(keys, salt=salt, signer_kwargs={"digest_method": hashlib.sha256})


def epoch(when: dt.datetime) -> int:
    """Seconds since 1970 (UTC), as tokens carry times."""
    return int(when.timestamp())


def moment(seconds: float) -> dt.datetime:
    """A token's time back as an aware UTC datetime."""
    return _EPOCH + dt.timedelta(seconds=seconds)


def now_or(now: dt.datetime | None) -> dt.datetime:
    """``now``, or the current time (UTC) when it is None."""
    return now if now is not None else dt.datetime.now(dt.UTC)


def claims(
    form_id: str, values: Any, lock: Any, expires: Any, jti: Any, now: dt.datetime | None
) -> LinkClaims:
    """Claims from a verified token, after checking their shape and time."""
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise LinkDamaged("malformed")
    if lock is None:
        lock = []
    if not isinstance(lock, list) or not all(isinstance(n, str) and n in values for n in lock):
        raise LinkDamaged("malformed")
    if jti is not None and (not isinstance(jti, str) or not 0 < len(jti) <= _JTI_CHARS):
        raise LinkDamaged("malformed")
    expiry = None
    if expires is not None:
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise LinkDamaged("malformed")
        try:
            expiry = moment(expires)
        except (OverflowError, ValueError):
            raise LinkDamaged("malformed") from None
        if now_or(now) >= expiry:
            raise LinkExpired(expiry)
    return LinkClaims(form_id, values, tuple(dict.fromkeys(lock)), expiry, jti)
