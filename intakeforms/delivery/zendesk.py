"""The Zendesk target: one Zendesk Support ticket per submission.

Request (Zendesk Support API, "Create Ticket")::

    POST https://{subdomain}.zendesk.com/api/v2/tickets.json
    Authorization: Basic base64("{email}/token:{api_token}")
    Idempotency-Key: intakeforms:FORM:REFERENCE:INDEX

    {"ticket": {"subject": "[CAR-4F7K2Q] …",
                "comment": {"html_body": "<p>…</p><table>…</table>", "public": false},
                "requester": {"name": …, "email": …},
                "external_id": "CAR-4F7K2Q",
                "tags": [...],
                "custom_fields": [{"id": 360001234567, "value": "ABC-123"}]}}

The first comment is private: the answers are the agents' to read, and a
public comment would make Zendesk mail them (identity codes included) back
to the customer. Without a valid ``role: reply_to`` answer the requester is
left out and Zendesk makes the API's agent the requester; agents still see
every answer. Zendesk keeps an ``Idempotency-Key`` for about two hours, so a
retry within that time returns the ticket already made instead of a second
one; ``external_id`` finds a later copy by reference.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from intakeforms.delivery.http import (
    HttpJob,
    basic_auth,
    build_body,
    post_json,
    read_secret,
    receipt,
    response_json,
)
from intakeforms.delivery.tickets import build_ticket, idempotency_key
from intakeforms.language.models import ZendeskTarget

if TYPE_CHECKING:
    from intakeforms.store.base import StoredSubmission

__all__ = ["deliver", "tickets_url"]


def tickets_url(target: ZendeskTarget) -> str:
    """The account's Create Ticket endpoint."""
    base = target.url or f"https://{target.subdomain}.zendesk.com"
    return base.rstrip("/") + "/api/v2/tickets.json"


def _body(job: HttpJob, target: ZendeskTarget, submission: StoredSubmission) -> bytes:
    ticket = build_ticket(job.form, submission, locale=target.locale, fields=target.fields)
    fields: dict[str, object] = {
        "subject": ticket.subject,
        "comment": {"html_body": ticket.html, "public": False},
        "external_id": submission.reference,
    }
    if ticket.email is not None:
        fields["requester"] = {"name": ticket.name or ticket.email, "email": ticket.email}
    if target.tags:
        fields["tags"] = list(target.tags)
    if ticket.custom:
        # The loader checked that every id is a number.
        fields["custom_fields"] = [{"id": int(k), "value": v} for k, v in ticket.custom.items()]
    return json.dumps({"ticket": fields}, ensure_ascii=False, default=str, allow_nan=False).encode(
        "utf-8"
    )


async def deliver(job: HttpJob, target: ZendeskTarget) -> str:
    """Create the ticket; the receipt is ``zendesk ticket 123``."""
    what = f"Zendesk ({target.subdomain or target.url})"
    token = read_secret(target.token_env, job.environ, "Zendesk API token")

    body = build_body(job, "the Zendesk ticket", lambda s: _body(job, target, s))
    headers = {
        "authorization": basic_auth(f"{target.email}/token", token),
        "idempotency-key": idempotency_key(job.submission, job.index),
    }
    answer = await post_json(job, tickets_url(target), body, headers, what=what)
    found = response_json(answer)
    created = found.get("ticket") if isinstance(found, dict) else None
    ticket = created.get("id") if isinstance(created, dict) else None
    return receipt("zendesk", answer, ticket)
