"""The email target: each submission as an email to the agents.

The email is built by :func:`intakeforms.mail.build_agent_email` in
:func:`prepare` (CPU work: the worker may run it in a build process, see
``INTAKE_MAIL_BUILDERS``) and sent by :func:`deliver` through the worker's
mail transport: SMTP, or ``.eml`` files in a folder (``INTAKE_MAIL_DIR``).
Every retry sends the very same bytes, ``Message-ID`` included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from intakeforms.language.headers import check_extra_headers
from intakeforms.language.target_kinds import TargetCheck, TargetKind
from intakeforms.mail import build_agent_email
from intakeforms.present.values import time_zone
from intakeforms.targets.checks import (
    TargetModel,
    check_agent_address,
    check_locale,
    check_one_line,
)

if TYPE_CHECKING:
    from email.message import EmailMessage

    from intakeforms.delivery.jobs import DeliveryJob
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = [
    "KIND",
    "STAND_IN",
    "EmailTarget",
    "NotAnEmailTarget",
    "agent_email",
    "check",
    "deliver",
    "indexes",
    "prepare",
]


class EmailTarget(TargetModel):
    """Send each submission as an email to the agents."""

    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    locale: str | None = Field(default=None, description="The agents' language.")
    timezone: str | None = Field(
        default=None,
        description=(
            "The agents' time zone, an IANA name like Europe/Helsinki: times in the "
            "email are written in it, named; else INTAKE_TIMEZONE, else UTC."
        ),
    )
    from_name: str | None = Field(
        default=None,
        description="The sender's display name, like 'Car service form'; else the form title.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra X-… headers a helpdesk's mail channel reads, like a header "
            "that sets the ticket's group. Fixed values from this file only."
        ),
    )


class NotAnEmailTarget(ValueError):
    """A target index that is not one of the form's email targets."""


#: Where a preview's agent email goes when its form has no email target:
#: example.invalid can never receive mail.
STAND_IN = EmailTarget(to=["agents@example.invalid"])


def check(ctx: TargetCheck, target: EmailTarget) -> None:
    """Addresses, the agents' language and time zone, extra headers and the
    sender's name."""
    # Agents' addresses may be on an internal domain (service@garage.local)
    # that no customer's address may use.
    for key in ("to", "cc"):
        for j, address in enumerate(getattr(target, key)):
            check_agent_address(
                ctx,
                (key, j),
                address,
                "write it like service@example.com (internal domains like .local are fine)",
            )
    check_locale(ctx, target.locale)
    if target.timezone is not None:
        try:
            time_zone(target.timezone)
        except ValueError as exc:
            ctx.problem(("timezone",), "invalid_value", str(exc))
    for name, value in target.headers.items():
        try:
            check_extra_headers({name: value})
        except ValueError as exc:
            ctx.problem(("headers", name), "invalid_header", str(exc), key=True)
    check_one_line(
        ctx, "from_name", target.from_name, "from_name is one line of text, like 'Car service form'"
    )


def prepare(job: DeliveryJob, target: EmailTarget) -> Any:
    """The agent email of ``job``, as an :class:`email.message.EmailMessage`."""
    return build_agent_email(
        job.form,
        job.submission,
        mail_from=job.settings.mail_from,
        from_name=target.from_name,
        upload_dir=job.settings.upload_dir,
        target_index=job.index,
        extra_headers=target.headers,
        history=job.history,
        timezone=job.settings.timezone,
    )


async def deliver(job: DeliveryJob, target: EmailTarget) -> str:
    """Send what :func:`prepare` built; the receipt is the transport's
    (``250 OK`` from SMTP, or the file written)."""
    if job.transport is None:
        raise RuntimeError("an email job needs the worker's mail transport")
    return str(await job.transport.send(job.prepared))


def indexes(form: Form) -> list[int]:
    """The positions of the form's email targets in its ``deliver`` list."""
    return [i for i, item in enumerate(form.definition.deliver) if item.kind == KIND.name]


def agent_email(
    form: Form,
    submission: StoredSubmission,
    *,
    index: int | None = None,
    locale: str | None = None,
    mail_from: str,
    timezone: str | None = None,
) -> EmailMessage:
    """The agent email of email target ``index`` (the first when None); a
    form that sends mail nowhere yet gets what its agents would read, sent
    to :data:`STAND_IN`. ``timezone`` is the service's (``INTAKE_TIMEZONE``),
    used when the target names none. :class:`NotAnEmailTarget` (a
    ``ValueError``) names the email targets when ``index`` is not one."""
    found = indexes(form)
    if not found:
        return build_agent_email(
            form,
            submission,
            locale=locale,
            mail_from=mail_from,
            target=STAND_IN,
            timezone=timezone,
        )
    chosen = found[0] if index is None else index
    if chosen not in found:
        raise NotAnEmailTarget(
            f"deliver[{chosen}] is not an email target of {form.id}; the email targets "
            f"are {', '.join(map(str, found))}"
        )
    return build_agent_email(
        form,
        submission,
        locale=locale,
        mail_from=mail_from,
        target_index=chosen,
        timezone=timezone,
    )


#: The kind, as the registry knows it.
KIND: TargetKind = TargetKind(
    name="email", model=EmailTarget, deliver=deliver, check=check, prepare=prepare
)
