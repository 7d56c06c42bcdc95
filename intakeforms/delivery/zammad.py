"""The Zammad target: one Zammad ticket per submission.

Request (Zammad REST API, "Create ticket")::

    POST {url}/api/v1/tickets
    Authorization: Token token={access_token}

    {"title": "[CAR-4F7K2Q] …", "group": "Service",
     "customer_id": "guess:matti@example.com",
     "article": {"subject": "[CAR-4F7K2Q] …", "body": "<p>…</p><table>…</table>",
                 "content_type": "text/html", "type": "web",
                 "sender": "Customer", "internal": false},
     "tags": "car-service,web",
     "plate_number": "ABC-123"}

``guess:`` makes Zammad find the customer by address, or create them. The
article is the customer's, of type ``web``, as from Zammad's own web form.
Custom ticket attributes go at the top level under their names. The token
needs the ``ticket.agent`` permission in the group. Zammad has no
idempotency key: an answer lost after Zammad made the ticket makes the
retry a second ticket with the same reference in its title.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from intakeforms.delivery.http import (
    HttpJob,
    build_body,
    post_json,
    read_secret,
    receipt,
    response_json,
    shown_url,
)
from intakeforms.delivery.tickets import build_ticket
from intakeforms.errors import PermanentDeliveryError
from intakeforms.language.models import ZammadTarget

if TYPE_CHECKING:
    from intakeforms.store.base import StoredSubmission

__all__ = ["deliver", "tickets_url"]


def tickets_url(target: ZammadTarget) -> str:
    """The instance's ticket endpoint."""
    return target.url.rstrip("/") + "/api/v1/tickets"


def _body(job: HttpJob, target: ZammadTarget, submission: StoredSubmission) -> bytes:
    ticket = build_ticket(job.form, submission, locale=target.locale, fields=target.fields)
    if ticket.email is None:
        raise PermanentDeliveryError(
            f"submission {submission.reference} has no valid email address in its "
            "role: reply_to answer, and a Zammad ticket needs a customer; make that "
            "question required"
        )
    # Attributes first: the loader refused the names intakeforms sets, and
    # the keys below are written last so that they win regardless.
    fields: dict[str, object] = dict(ticket.custom)
    fields.update(
        {
            "title": ticket.subject,
            "group": target.group,
            "customer_id": f"guess:{ticket.email}",
            "article": {
                "subject": ticket.subject,
                "body": ticket.html,
                "content_type": "text/html",
                "type": "web",
                "sender": "Customer",
                "internal": False,
            },
        }
    )
    if target.tags:
        fields["tags"] = ",".join(target.tags)
    return json.dumps(fields, ensure_ascii=False, default=str, allow_nan=False).encode("utf-8")


async def deliver(job: HttpJob, target: ZammadTarget) -> str:
    """Create the ticket; the receipt is ``zammad ticket 31001 (id 42)``."""
    what = f"Zammad ({shown_url(target.url)})"
    token = read_secret(target.token_env, job.environ, "Zammad access token", header=True)

    body = build_body(job, "the Zammad ticket", lambda s: _body(job, target, s))
    headers = {"authorization": f"Token token={token}"}
    answer = await post_json(job, tickets_url(target), body, headers, what=what)
    found = response_json(answer)
    if isinstance(found, dict) and found.get("id") is not None:
        number = found.get("number")
        shown = f"{number} (id {found['id']})" if number is not None else found["id"]
        return receipt("zammad", answer, shown)
    return receipt("zammad", answer)
