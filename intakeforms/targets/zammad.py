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
import re
from typing import TYPE_CHECKING

from pydantic import Field

from intakeforms.errors import PermanentDeliveryError
from intakeforms.language.target_kinds import TargetCheck, TargetKind
from intakeforms.targets.checks import (
    HttpTargetModel,
    check_env_name,
    check_field_map,
    check_inline_secrets,
    check_locale,
    check_one_line,
    check_tags,
    check_target_url,
    needs_reply_to,
)

if TYPE_CHECKING:
    from intakeforms.delivery.http import HttpJob
    from intakeforms.store.base import StoredSubmission

__all__ = ["KIND", "RESERVED", "ZammadTarget", "check", "deliver", "tickets_url"]

_ATTRIBUTE = re.compile(r"[a-z][a-z0-9_]{0,59}")
#: Ticket attributes that intakeforms sets itself, or that decide who owns
#: and sees the ticket; an answer must not overwrite them.
RESERVED = frozenset(
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


class ZammadTarget(HttpTargetModel):
    """Create a Zammad ticket for each submission."""

    url: str = Field(description="The Zammad address, like https://help.example.com.")
    token_env: str = Field(description="Name of the environment variable holding the access token.")
    group: str = Field(description="The group tickets are created in, like Users.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Form field name → Zammad ticket attribute name.",
    )
    tags: list[str] = Field(
        default_factory=list, description="Tags every ticket gets, like car-service."
    )
    locale: str | None = Field(
        default=None, description="The agents' language for the ticket's subject and body."
    )


def _custom_field_problem(target_id: int | str) -> str | None:
    text = str(target_id).strip()
    if not _ATTRIBUTE.fullmatch(text):
        return (
            f"{target_id!r} is not a Zammad attribute name; names are lowercase letters, "
            "digits and _, like plate_number"
        )
    if text in RESERVED:
        return f"{text!r} is a Zammad ticket attribute that intakeforms sets or must not change"
    return None


def check(ctx: TargetCheck, target: ZammadTarget) -> None:
    """What the model cannot say: the address, group, customer and attributes."""
    check_inline_secrets(ctx, target, "token_env")
    check_env_name(ctx, "token_env", target.token_env, "HELPDESK_TOKEN")
    check_target_url(ctx, "url", target.url, base=True)
    check_one_line(ctx, "group", target.group, "group is the name of a Zammad group, like Users")
    needs_reply_to(ctx, "zammad")
    check_field_map(ctx, target.fields, _custom_field_problem)
    check_tags(ctx, target.tags)
    check_locale(ctx, target.locale)


def tickets_url(target: ZammadTarget) -> str:
    """The instance's ticket endpoint."""
    return target.url.rstrip("/") + "/api/v1/tickets"


def _body(job: HttpJob, target: ZammadTarget, submission: StoredSubmission) -> bytes:
    from intakeforms.delivery.tickets import job_ticket

    ticket = job_ticket(job, target, submission)
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
    tags = ticket.with_tags(target.tags)
    if tags:
        fields["tags"] = ",".join(tags)
    return json.dumps(fields, ensure_ascii=False, default=str, allow_nan=False).encode("utf-8")


async def deliver(job: HttpJob, target: ZammadTarget) -> str:
    """Create the ticket; the receipt is ``zammad ticket 31001 (id 42)``."""
    # Imported here: loading forms (and `import intakeforms`) needs no HTTP client.
    from intakeforms.delivery.http import (
        build_body,
        post_json,
        read_secret,
        receipt,
        response_json,
        shown_url,
    )

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


#: The kind, as the registry knows it.
KIND: TargetKind = TargetKind(
    name="zammad",
    model=ZammadTarget,
    deliver=deliver,
    check=check,
    credential_setting="token_env",
    over_http=True,
)
