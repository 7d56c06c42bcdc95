"""Deliveries to target kinds over HTTP, and the secrets they need.

The worker finds a job's kind in the registry
(:mod:`intakeforms.language.target_kinds`); a kind registered with
``over_http`` is delivered by :func:`deliver_http`, which gives its
``deliver(job, settings)`` an :class:`~intakeforms.delivery.http.HttpJob`
with a ready client. The kinds themselves live in :mod:`intakeforms.targets`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import httpx

from intakeforms.delivery.http import TIMEOUT_SECONDS, HttpJob, http_client
from intakeforms.errors import PermanentDeliveryError
from intakeforms.language.target_kinds import DeliverTarget, target_kind

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.mail.history import History
    from intakeforms.store.base import StoredSubmission

__all__ = ["deliver_http", "missing_secrets"]


async def deliver_http(
    kind: str,
    target: DeliverTarget,
    form: Form,
    submission: StoredSubmission,
    index: int,
    *,
    client: httpx.AsyncClient | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
    history: History | None = None,
    timezone: str | None = None,
) -> str:
    """Deliver ``submission`` to ``target``, item ``index`` of its form's
    ``deliver`` list, for an outbox job named ``{kind}:{index}``.

    Returns the receipt; raises ``TransientDeliveryError`` (retry later) or
    ``PermanentDeliveryError`` (dead-letter). ``client`` is reused when
    given (a worker may keep one for its life), else one is made for this
    call. Secrets come from ``environ`` (``os.environ`` by default).
    ``history`` (the customer's earlier contacts) goes into the ticket or
    webhook; ``timezone`` (an IANA name, ``INTAKE_TIMEZONE``) is the one
    a ticket's times are written in (UTC when None).
    """
    if target.kind != kind:
        # The form was edited after the submission was stored: the job's
        # target is gone, and sending to whatever took its place would
        # deliver the submission somewhere nobody chose.
        raise PermanentDeliveryError(
            f"deliver[{index}] of form {form.id!r} is a {target.kind} target now, "
            f"not the {kind} target this job was made for"
        )
    found = target_kind(kind)
    if found is None or not found.over_http:
        raise PermanentDeliveryError(
            f"delivery to {kind!r} targets is not available in this version"
        )
    async with http_client(client, timeout=timeout) as using:
        job = HttpJob(
            form=form,
            submission=submission,
            index=index,
            client=using,
            environ=os.environ if environ is None else environ,
            timeout=timeout,
            history=history,
            timezone=timezone,
        )
        return await found.deliver(job, target.config)


def missing_secrets(forms: Iterable[Form], environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each secret the forms name that ``environ`` lacks.

    Loading a form never needs its secrets (``check`` runs anywhere), but a
    worker without them dead-letters every job for that target; call this
    when a worker or ``serve`` starts and print what it returns.
    """
    environ = os.environ if environ is None else environ
    warnings = []
    for form in forms:
        where = str(form.path) if form.path is not None else form.id
        for index, target in enumerate(form.definition.deliver):
            kind = target_kind(target.kind)
            key = kind.credential_setting if kind is not None else None
            name = getattr(target.config, key) if key is not None else None
            if name is not None and not environ.get(name, "").strip():
                warnings.append(
                    f"{where}: deliver[{index}].{target.kind}.{key}: the environment "
                    f"variable {name} is not set; deliveries to this target will fail "
                    "until it is"
                )
    return warnings
