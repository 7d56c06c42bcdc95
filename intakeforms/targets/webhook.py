"""The webhook target: each submission POSTed as JSON, signed as Standard Webhooks do.

Request (https://www.standardwebhooks.com, version 1.0.0)::

    POST {url}
    content-type: application/json
    webhook-id: msg_CAR-4F7K2Q_1       the same for every retry of this
                                       submission to this target
    webhook-timestamp: 1795420800      unix seconds when this attempt was sent
    webhook-signature: v1,BASE64       HMAC-SHA256 over "{id}.{timestamp}.{body}"

    {"type": "submission.created", "form": …, "form_version": …,
     "reference": …, "submitted_at": …, "locale": …, "data": {…},
     "files": [{"field", "name", "content_type", "size"}],
     "context": null | {"faq": {"search", "shown": [{"faq", "entry", "question"}]},
                        "incomplete": {"missing": [question names]},
                        "link": {"given": [names], "locked": [names]},
                        "page": [names]},
     "history": [{"reference", "form", "submitted_at", "summary"}]}

``context`` is what the agent should know beside the answers, as stored: the
FAQ answers the customer read before contacting us, for an incomplete
contact ("Talk to a person") the required questions not answered yet, and
which answers a prefilled link or the page gave. ``history`` is the
customer's earlier contacts (same email or phone, ``INTAKE_HISTORY_DAYS``),
newest first, each with the form's summary line of its answers in the
form's default language (null when they were erased), never the answers.

The signing key is the secret in the environment variable ``secret_env``
names: a secret written ``whsec_<base64>`` (the spec's format) is the bytes
its base64 stands for; any other value is its own UTF-8 bytes. Without
``secret_env`` the request is sent unsigned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field

from intakeforms.errors import PermanentDeliveryError
from intakeforms.language.target_kinds import TargetCheck, TargetKind
from intakeforms.mail.history import history_items
from intakeforms.targets.checks import (
    HttpTargetModel,
    check_env_name,
    check_inline_secrets,
    check_target_url,
)

if TYPE_CHECKING:
    from intakeforms.delivery.http import HttpJob
    from intakeforms.mail.history import History
    from intakeforms.store.base import StoredSubmission


__all__ = [
    "EVENT_TYPE",
    "KIND",
    "WebhookTarget",
    "check",
    "deliver",
    "payload",
    "secret_key",
    "sign",
    "sign_webhook",
    "webhook_id",
]

#: The ``type`` of every payload: one kind of event so far.
EVENT_TYPE = "submission.created"

_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret


class WebhookTarget(HttpTargetModel):
    """POST each submission as signed JSON to a URL (Standard Webhooks)."""

    url: str = Field(description="An https:// address; http:// only for localhost.")
    secret_env: str | None = Field(
        default=None, description="Name of the environment variable holding the signing secret."
    )


def check(ctx: TargetCheck, target: WebhookTarget) -> None:
    """An https address and, if signed, the secret's variable name."""
    check_inline_secrets(ctx, target, "secret_env")
    check_target_url(ctx, "url", target.url, base=False)
    if target.secret_env is not None:
        check_env_name(ctx, "secret_env", target.secret_env, "WEBHOOK_SECRET")


def webhook_id(reference: str, index: int) -> str:
    """``msg_REFERENCE_INDEX``: stable per submission and target, so a
    receiver that keeps the ids it has seen can drop a repeated delivery.
    The spec forbids ``.`` in it (the signed content is dot-separated)."""
    local = re.sub(r"[^A-Za-z0-9-]", "_", reference) or "submission"
    return f"msg_{local}_{int(index)}"


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: base64-decoded after a ``whsec_`` prefix,
    else its UTF-8 bytes. ``ValueError`` for a ``whsec_`` secret that is not
    base64."""
    if not secret.startswith(_SECRET_PREFIX):
        return secret.encode("utf-8")
    text = secret[len(_SECRET_PREFIX) :]
    try:
        # Padding is optional in how secrets are shown; decode either way.
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a secret that starts with whsec_ must be base64 after it") from None
    if not key:
        raise ValueError("the secret is empty after whsec_")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256
    of ``{msg_id}.{timestamp}.{body}`` under ``key``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` intakeforms sends for ``body`` with ``secret``
    (as written in the environment variable, ``whsec_…`` or not): for a
    receiver's tests. ``ValueError`` for a ``whsec_`` secret that is not base64."""
    return sign(secret_key(secret), msg_id, timestamp, body)


def payload(
    submission: StoredSubmission, history: History | None = None, locale: str | None = None
) -> dict[str, Any]:
    """The JSON object POSTed for ``submission``, with ``history`` (the
    customer's earlier contacts, summaries in ``locale``) under ``history``."""
    return {
        "type": EVENT_TYPE,
        "form": submission.form,
        "form_version": submission.form_version,
        "reference": submission.reference,
        "submitted_at": submission.submitted_at.isoformat(),
        "locale": submission.locale,
        "data": submission.data,
        "files": [
            {"field": f.field, "name": f.name, "content_type": f.content_type, "size": f.size}
            for f in submission.files
        ],
        # A plain dict: json would write any other mapping as a string.
        "context": None if submission.context is None else dict(submission.context),
        "history": history_items(history, locale),
    }


def _body(
    submission: StoredSubmission, history: History | None = None, locale: str | None = None
) -> bytes:
    # Compact and deterministic: the receiver verifies these very bytes.
    # Strict JSON: an infinite number would be written as Infinity, which
    # JSON parsers refuse.
    return json.dumps(
        payload(submission, history, locale),
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
        allow_nan=False,
    ).encode("utf-8")


async def deliver(job: HttpJob, target: WebhookTarget) -> str:
    """POST the submission to ``target.url``; the receipt is ``HTTP 200`` or
    whichever 2xx status the receiver answered."""
    # Imported here: loading forms (and `import intakeforms`) needs no HTTP client.
    from intakeforms.delivery.http import build_body, post_json, read_secret, shown_url

    what = f"the webhook at {shown_url(target.url)}"
    locale = job.form.default_locale
    body = build_body(
        job, "the webhook payload", lambda submission: _body(submission, job.history, locale)
    )
    msg_id = webhook_id(job.submission.reference, job.index)
    timestamp = int(time.time())
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if target.secret_env is not None:
        secret = read_secret(target.secret_env, job.environ, "webhook signing secret")
        try:
            key = secret_key(secret)
        except ValueError as exc:
            raise PermanentDeliveryError(
                f"the environment variable {target.secret_env}: {exc}"
            ) from None
        headers["webhook-signature"] = sign(key, msg_id, timestamp, body)
    answer = await post_json(job, target.url, body, headers, what=what)
    return f"HTTP {answer.status_code}"


#: The kind, as the registry knows it.
KIND: TargetKind = TargetKind(
    name="webhook",
    model=WebhookTarget,
    deliver=deliver,
    check=check,
    credential_setting="secret_env",
    over_http=True,
)
