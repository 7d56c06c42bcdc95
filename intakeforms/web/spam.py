"""Spam defences: a honeypot field and a signed time-trap token.

The token is issued with the HTML page or ``spec.json`` and says which form
and when. A post that comes back with it too soon (faster than a person can
fill a form), with a forged token, or with the honeypot filled is spam: it
gets the same answer as a real one and is kept in quarantine, so a bot learns
nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

__all__ = ["HONEYPOT", "TOKEN", "SpamJudge", "Verdict"]

#: Names of the hidden inputs; form field names cannot start with "_".
HONEYPOT = "_homepage"
TOKEN = "_token"  # noqa: S105 - a field name, not a secret


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a post is spam, and why (kept for review, never shown)."""

    spam: bool
    reason: str = ""


class SpamJudge:
    """Issues time-trap tokens and judges posts."""

    def __init__(
        self, secret: str, *, min_seconds: float, max_age_seconds: float, require_token: bool
    ) -> None:
        self._signer = URLSafeSerializer(secret, salt="intakeforms.time-trap")
        self.min_seconds = min_seconds
        self.max_age_seconds = max_age_seconds
        self.require_token = require_token

    def issue(self, form: str, now: float | None = None) -> str:
        """A token for ``form`` issued now."""
        issued = round((time.time() if now is None else now) * 1000)
        return self._signer.dumps([form, issued])

    def original(self, form: str, token: str | None) -> str | None:
        """``token`` if it is a genuine one of ``form``, else None: what an
        error page hands back, so the time-trap keeps counting from the page
        the customer first got. A forged token gets no second life."""
        if not token:
            return None
        try:
            issued_form, _ = self._signer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        return token if issued_form == form else None

    def judge(
        self,
        form: str,
        *,
        token: str | None,
        honeypot: str | None,
        browser: bool,
        now: float | None = None,
    ) -> Verdict:
        """Judge one post. ``browser`` posts (HTML forms) must carry a token;
        JSON clients without one are API clients unless tokens are required."""
        if honeypot:
            return Verdict(True, "honeypot filled")
        if not token:
            if browser or self.require_token:
                return Verdict(True, "no token")
            return Verdict(False)
        try:
            issued_form, issued = self._signer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return Verdict(True, "forged token")
        if issued_form != form:
            return Verdict(True, "token of another form")
        age = (time.time() if now is None else now) - issued / 1000
        if age < self.min_seconds:
            return Verdict(True, f"sent {age:.1f} s after the page was issued")
        # An old token proves little either way; a person may leave a tab open
        # for days. Accept it as a real post.
        return Verdict(False)
