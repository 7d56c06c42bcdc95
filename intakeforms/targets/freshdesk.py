"""The Freshdesk target: one Freshdesk ticket per submission.

Request (Freshdesk API v2, "Create a Ticket")::

    POST https://{domain}.freshdesk.com/api/v2/tickets
    Authorization: Basic base64("{api_key}:X")

    {"subject": "[CAR-4F7K2Q] …", "description": "<p>…</p><table>…</table>",
     "email": …, "name": …, "priority": 1, "status": 2,
     "tags": [...], "custom_fields": {"cf_plate": "ABC-123"}}

Priority 1 is Low and status 2 is Open, as for a ticket from Freshdesk's own
portal; automations change them from there. Freshdesk needs a requester,
so a submission without a valid ``role: reply_to`` answer cannot become a
ticket (the loader already demands such a question; a blank answer is a
``PermanentDeliveryError``). Freshdesk has no idempotency key: an answer
lost after Freshdesk made the ticket makes the retry a second ticket with
the same reference in its subject.
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
    check_account,
    check_env_name,
    check_field_map,
    check_inline_secrets,
    check_locale,
    check_tags,
    needs_reply_to,
)

if TYPE_CHECKING:
    from intakeforms.delivery.http import HttpJob
    from intakeforms.store.base import StoredSubmission

__all__ = [
    "KIND",
    "PRIORITY_LOW",
    "STATUS_OPEN",
    "FreshdeskTarget",
    "check",
    "deliver",
    "tickets_url",
]

_CUSTOM_FIELD = re.compile(r"cf_[A-Za-z0-9_]{1,60}")


class FreshdeskTarget(HttpTargetModel):
    """Create a Freshdesk ticket for each submission."""

    domain: str | None = Field(
        default=None, description="The first part of acme.freshdesk.com (or give url)."
    )
    url: str | None = Field(default=None, description="The account's address instead of a domain.")
    api_key_env: str = Field(
        description="Name of the environment variable holding the agent's API key."
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Form field name → Freshdesk custom field name (cf_…).",
    )
    tags: list[str] = Field(
        default_factory=list, description="Tags every ticket gets, like car-service."
    )
    locale: str | None = Field(
        default=None, description="The agents' language for the ticket's subject and body."
    )


def _custom_field_problem(target_id: int | str) -> str | None:
    if _CUSTOM_FIELD.fullmatch(str(target_id).strip()):
        return None
    return (
        f"{target_id!r} is not a Freshdesk custom field; their API names start "
        "with cf_, like cf_plate"
    )


def check(ctx: TargetCheck, target: FreshdeskTarget) -> None:
    """What the model cannot say: names, the customer's address, custom fields."""
    check_inline_secrets(ctx, target, "api_key_env")
    check_env_name(ctx, "api_key_env", target.api_key_env, "HELPDESK_TOKEN")
    check_account(ctx, "freshdesk", "domain", target.domain, target.url)
    needs_reply_to(ctx, "freshdesk")
    check_field_map(ctx, target.fields, _custom_field_problem)
    check_tags(ctx, target.tags)
    check_locale(ctx, target.locale)


PRIORITY_LOW = 1
STATUS_OPEN = 2


def tickets_url(target: FreshdeskTarget) -> str:
    """The account's Create a Ticket endpoint."""
    base = target.url or f"https://{target.domain}.freshdesk.com"
    return base.rstrip("/") + "/api/v2/tickets"


def _body(job: HttpJob, target: FreshdeskTarget, submission: StoredSubmission) -> bytes:
    from intakeforms.delivery.tickets import job_ticket

    ticket = job_ticket(job, target, submission)
    if ticket.email is None:
        raise PermanentDeliveryError(
            f"submission {submission.reference} has no valid email address in its "
            "role: reply_to answer, and Freshdesk cannot make a ticket without one; "
            "make that question required"
        )
    fields: dict[str, object] = {
        "subject": ticket.subject,
        "description": ticket.html,
        "email": ticket.email,
        "priority": PRIORITY_LOW,
        "status": STATUS_OPEN,
    }
    if ticket.name is not None:
        fields["name"] = ticket.name
    tags = ticket.with_tags(target.tags)
    if tags:
        fields["tags"] = tags
    if ticket.custom:
        fields["custom_fields"] = ticket.custom
    return json.dumps(fields, ensure_ascii=False, default=str, allow_nan=False).encode("utf-8")


async def deliver(job: HttpJob, target: FreshdeskTarget) -> str:
    """Create the ticket; the receipt is ``freshdesk ticket 123``."""
    # Imported here: loading forms (and `import intakeforms`) needs no HTTP client.
    from intakeforms.delivery.http import (
        basic_auth,
        build_body,
        post_json,
        read_secret,
        receipt,
        response_json,
    )

    what = f"Freshdesk ({target.domain or target.url})"
    api_key = read_secret(target.api_key_env, job.environ, "Freshdesk API key")

    body = build_body(job, "the Freshdesk ticket", lambda s: _body(job, target, s))
    headers = {"authorization": basic_auth(api_key, "X")}
    answer = await post_json(job, tickets_url(target), body, headers, what=what)
    found = response_json(answer)
    return receipt("freshdesk", answer, found.get("id") if isinstance(found, dict) else None)


#: The kind, as the registry knows it.
KIND: TargetKind = TargetKind(
    name="freshdesk",
    model=FreshdeskTarget,
    deliver=deliver,
    check=check,
    credential_setting="api_key_env",
    over_http=True,
)
