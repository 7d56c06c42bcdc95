"""Deliveries over HTTP, by target kind: the registry the worker dispatches to.

Each kind has one module with an ``async def deliver(job, target) -> str``
that returns a receipt (what the target answered, like ``zendesk ticket
123``) or raises a delivery error::

    webhook    intakeforms.delivery.webhook    signed JSON (Standard Webhooks)
    zendesk    intakeforms.delivery.zendesk    a Zendesk Support ticket
    freshdesk  intakeforms.delivery.freshdesk  a Freshdesk ticket
    zammad     intakeforms.delivery.zammad     a Zammad ticket

The ``email`` kind is not here: the worker sends mail through its transport.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from intakeforms.delivery import freshdesk, webhook, zammad, zendesk
from intakeforms.delivery.http import TIMEOUT_SECONDS, HttpJob, http_client
from intakeforms.errors import PermanentDeliveryError
from intakeforms.language.models import DeliverTarget
from intakeforms.language.targets import SECRET_KEYS

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = ["HTTP_TARGETS", "HttpSink", "deliver_http", "missing_secrets"]

#: A delivery over HTTP: the job and the target's settings → a receipt.
HttpSink = Callable[[HttpJob, Any], Awaitable[str]]

#: Every target kind delivered over HTTP, by the name the outbox gives it.
HTTP_TARGETS: dict[str, HttpSink] = {
    "webhook": webhook.deliver,
    "zendesk": zendesk.deliver,
    "freshdesk": freshdesk.deliver,
    "zammad": zammad.deliver,
}


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
) -> str:
    """Deliver ``submission`` to ``target``, item ``index`` of its form's
    ``deliver`` list, for an outbox job named ``{kind}:{index}``.

    Returns the receipt; raises ``TransientDeliveryError`` (retry later) or
    ``PermanentDeliveryError`` (dead-letter). ``client`` is reused when
    given (a worker may keep one for its life), else one is made for this
    call. Secrets come from ``environ`` (``os.environ`` by default).
    """
    if target.kind != kind:
        # The form was edited after the submission was stored: the job's
        # target is gone, and sending to whatever took its place would
        # deliver the submission somewhere nobody chose.
        raise PermanentDeliveryError(
            f"deliver[{index}] of form {form.id!r} is a {target.kind} target now, "
            f"not the {kind} target this job was made for"
        )
    sink = HTTP_TARGETS.get(kind)
    if sink is None:
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
        )
        return await sink(job, target.config)


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
            key = SECRET_KEYS.get(target.kind)
            name = getattr(target.config, key) if key is not None else None
            if name is not None and not environ.get(name, "").strip():
                warnings.append(
                    f"{where}: deliver[{index}].{target.kind}.{key}: the environment "
                    f"variable {name} is not set; deliveries to this target will fail "
                    "until it is"
                )
    return warnings
