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

from pydantic import Field

from intakeforms.language.target_kinds import TargetCheck, TargetKind
from intakeforms.targets.checks import (
    HttpTargetModel,
    check_account,
    check_agent_address,
    check_env_name,
    check_field_map,
    check_inline_secrets,
    check_locale,
    check_tags,
)

if TYPE_CHECKING:
    from intakeforms.delivery.http import HttpJob
    from intakeforms.store.base import StoredSubmission

__all__ = ["KIND", "ZendeskTarget", "check", "deliver", "tickets_url"]


class ZendeskTarget(HttpTargetModel):
    """Create a Zendesk Support ticket for each submission."""

    subdomain: str | None = Field(
        default=None, description="The first part of acme.zendesk.com (or give url)."
    )
    url: str | None = Field(
        default=None, description="The account's address instead of a subdomain."
    )
    email: str = Field(description="The agent's address the API token belongs to.")
    token_env: str = Field(description="Name of the environment variable holding the API token.")
    fields: dict[str, int | str] = Field(
        default_factory=dict,
        description="Form field name → Zendesk custom ticket field id (a number).",
    )
    tags: list[str] = Field(
        default_factory=list, description="Tags every ticket gets, like car-service."
    )
    locale: str | None = Field(
        default=None, description="The agents' language for the ticket's subject and body."
    )


def _custom_field_problem(target_id: int | str) -> str | None:
    text = str(target_id).strip()
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
        return None
    return (
        f"{target_id!r} is not a Zendesk field id; ids are numbers, like 360001234567 "
        "(Admin Center → Objects and rules → Tickets → Fields)"
    )


def check(ctx: TargetCheck, target: ZendeskTarget) -> None:
    """What the model cannot say: names, addresses, ids of the right kind.

    Without a customer's address Zendesk makes the API's agent the
    requester, so a form without ``role: reply_to`` is still accepted.
    """
    check_inline_secrets(ctx, target, "token_env")
    check_env_name(ctx, "token_env", target.token_env, "HELPDESK_TOKEN")
    check_account(ctx, "zendesk", "subdomain", target.subdomain, target.url)
    check_agent_address(
        ctx, ("email",), target.email, "write the address of the agent the API token belongs to"
    )
    check_field_map(ctx, target.fields, _custom_field_problem)
    check_tags(ctx, target.tags)
    check_locale(ctx, target.locale)


def tickets_url(target: ZendeskTarget) -> str:
    """The account's Create Ticket endpoint."""
    base = target.url or f"https://{target.subdomain}.zendesk.com"
    return base.rstrip("/") + "/api/v2/tickets.json"


def _body(job: HttpJob, target: ZendeskTarget, submission: StoredSubmission) -> bytes:
    from intakeforms.delivery.tickets import job_ticket

    ticket = job_ticket(job, target, submission)
    fields: dict[str, object] = {
        "subject": ticket.subject,
        "comment": {"html_body": ticket.html, "public": False},
        "external_id": submission.reference,
    }
    if ticket.email is not None:
        fields["requester"] = {"name": ticket.name or ticket.email, "email": ticket.email}
    tags = ticket.with_tags(target.tags)
    if tags:
        fields["tags"] = tags
    if ticket.custom:
        # The loader checked that every id is a number.
        fields["custom_fields"] = [{"id": int(k), "value": v} for k, v in ticket.custom.items()]
    return json.dumps({"ticket": fields}, ensure_ascii=False, default=str, allow_nan=False).encode(
        "utf-8"
    )


async def deliver(job: HttpJob, target: ZendeskTarget) -> str:
    """Create the ticket; the receipt is ``zendesk ticket 123``."""
    # Imported here: loading forms (and `import intakeforms`) needs no HTTP client.
    from intakeforms.delivery.http import (
        basic_auth,
        build_body,
        post_json,
        read_secret,
        receipt,
        response_json,
    )
    from intakeforms.delivery.tickets import idempotency_key

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


#: The kind, as the registry knows it.
KIND: TargetKind = TargetKind(
    name="zendesk",
    model=ZendeskTarget,
    deliver=deliver,
    check=check,
    credential_setting="token_env",
    over_http=True,
)
