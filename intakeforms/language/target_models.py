"""The ``deliver`` list's models: one per kind of delivery target.

They check the shape of each target's settings in a form file; the rules that
need more (environment variable names, URLs, custom-field maps) are checked by
:mod:`intakeforms.language.targets`. :mod:`intakeforms.language.models`
re-exports every name here, as part of the form language.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "AUTOREPLY_TARGET",
    "INLINE_SECRET_KEYS",
    "TARGET_KINDS",
    "DeliverTarget",
    "EmailTarget",
    "FreshdeskTarget",
    "WebhookTarget",
    "ZammadTarget",
    "ZendeskTarget",
]


class _Model(BaseModel):
    # The same strictness as every model of the language (models._Model):
    # this module cannot import it, because models imports this one.
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailTarget(_Model):
    """Send each submission as an email to the agents."""

    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    locale: str | None = Field(default=None, description="The agents' language.")
    from_name: str | None = Field(
        default=None,
        description="The sender's display name, like 'Car service form'; else the form title.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra X-… headers for a helpdesk's mail channel, like "
            "X-Zammad-Ticket-Group: Service. Fixed values from this file only."
        ),
    )


#: Keys people write when they paste a secret into a form. They are accepted
#: by the shape check only so that the rules can refuse them with their own
#: code (``inline_secret``) without ever echoing the value; editors do not
#: offer them, because they are left out of the JSON Schema.
INLINE_SECRET_KEYS = ("secret", "token", "api_key", "api_token", "password")


class _HttpTarget(_Model):
    """What every target delivered over HTTP has: room to refuse inline secrets."""

    secret: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    token: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    api_key: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    api_token: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)
    password: SkipJsonSchema[Any] = Field(default=None, repr=False, exclude=True)


_TAGS = "Tags every ticket gets, like car-service."
_LOCALE = "The agents' language for the ticket's subject and body."


class WebhookTarget(_HttpTarget):
    """POST each submission as signed JSON to a URL (Standard Webhooks)."""

    url: str = Field(description="An https:// address; http:// only for localhost.")
    secret_env: str | None = Field(
        default=None, description="Name of the environment variable holding the signing secret."
    )


class ZendeskTarget(_HttpTarget):
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
    tags: list[str] = Field(default_factory=list, description=_TAGS)
    locale: str | None = Field(default=None, description=_LOCALE)


class FreshdeskTarget(_HttpTarget):
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
    tags: list[str] = Field(default_factory=list, description=_TAGS)
    locale: str | None = Field(default=None, description=_LOCALE)


class ZammadTarget(_HttpTarget):
    """Create a Zammad ticket for each submission."""

    url: str = Field(description="The Zammad address, like https://help.example.com.")
    token_env: str = Field(description="Name of the environment variable holding the access token.")
    group: str = Field(description="The group tickets are created in, like Users.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Form field name → Zammad ticket attribute name.",
    )
    tags: list[str] = Field(default_factory=list, description=_TAGS)
    locale: str | None = Field(default=None, description=_LOCALE)


#: Every kind of delivery target, in the order the language documents them;
#: an outbox job is named ``KIND:INDEX`` after one of them.
TARGET_KINDS = ("email", "webhook", "zendesk", "freshdesk", "zammad")

#: The outbox job of a form's ``autorespond``: the confirmation to the
#: customer. It has no index, because a form has one autoresponder at most.
AUTOREPLY_TARGET = "autoreply"


class DeliverTarget(_Model):
    """One place each submission goes; exactly one key."""

    email: EmailTarget | None = None
    webhook: WebhookTarget | None = None
    zendesk: ZendeskTarget | None = None
    freshdesk: FreshdeskTarget | None = None
    zammad: ZammadTarget | None = None

    @property
    def kind(self) -> str:
        """The kind of target this item names, like ``zendesk``.

        A loaded form's items name exactly one (the loader checks it); an
        item that names none raises ``ValueError``.
        """
        for kind in TARGET_KINDS:
            if getattr(self, kind) is not None:
                return kind
        raise ValueError("this deliver item names no target")

    @property
    def config(self) -> BaseModel:
        """The settings of the target this item names (``EmailTarget``…)."""
        config: BaseModel = getattr(self, self.kind)
        return config
