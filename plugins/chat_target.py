"""A delivery target of your own: a notice in a team chat for each submission.

Slack, Mattermost and Rocket.Chat take a POST of ``{"text": "..."}`` to an
"incoming webhook" address. The notice names the form and the reference
only: a chat channel is no place for a customer's answers, and agents open
the ticket or email to read them.

Register it before loading the forms that name it::

    from intakeforms import register_target
    from chat_target import KIND

    register_target(KIND)

and a form can write::

    deliver:
      - chat: {url_env: SERVICE_CHAT_URL}
"""

from __future__ import annotations

import re

import httpx
from pydantic import BaseModel, ConfigDict, Field

from intakeforms import (
    HttpJob,
    PermanentDeliveryError,
    TargetCheck,
    TargetKind,
    TransientDeliveryError,
)

#: An environment variable's name, as shells write them.
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class ChatTarget(BaseModel):
    """Post a notice of each submission to a team chat's incoming webhook."""

    # Like every model of the form language: a misspelt key is an error.
    model_config = ConfigDict(extra="forbid", frozen=True)

    url_env: str = Field(
        description="Name of the environment variable holding the webhook's address "
        "(the address is a secret: whoever has it can post)."
    )
    prefix: str = Field(default="New contact", description="The notice's first words.")


def check(ctx: TargetCheck, target: ChatTarget) -> None:
    """What the model cannot say, reported at the key's file:line:col."""
    if not ENV_NAME.fullmatch(target.url_env):
        ctx.problem(
            ("url_env",),
            "invalid_value",
            "url_env names an environment variable, like SERVICE_CHAT_URL",
        )


def notice(job: HttpJob, target: ChatTarget) -> str:
    """The text posted: the form's title and the reference, never the answers."""
    title = job.form.title(job.form.default_locale)
    return f"{target.prefix}: {title}, {job.submission.reference}"


async def deliver(job: HttpJob, target: ChatTarget) -> str:
    """Post the notice; the receipt names the chat's answer."""
    url = job.environ.get(target.url_env, "").strip()
    if not url:
        # Retrying cannot set the variable: dead-letter, and say which.
        raise PermanentDeliveryError(f"the environment variable {target.url_env} is not set")
    try:
        answer = await job.client.post(url, json={"text": notice(job, target)})
    except httpx.TransportError as exc:
        # The exception may quote the address, which is the secret.
        raise TransientDeliveryError(
            f"the chat webhook did not answer: {type(exc).__name__}"
        ) from None
    if answer.status_code == 429 or answer.status_code >= 500:
        raise TransientDeliveryError(f"the chat webhook answered HTTP {answer.status_code}")
    if answer.status_code >= 300:
        raise PermanentDeliveryError(f"the chat webhook refused it: HTTP {answer.status_code}")
    return f"chat HTTP {answer.status_code}"


#: The kind: the key forms write, its settings, check and delivery.
KIND = TargetKind(
    name="chat",
    model=ChatTarget,
    deliver=deliver,
    check=check,
    credential_setting="url_env",
    over_http=True,
)
