"""Delivery inside the service's process, for ``intakeforms serve``.

The web app knows nothing of delivery: it runs whatever background work its
caller hands it (:data:`intakeforms.web.app.Background`). This is the work
``serve`` hands it: the outbox worker, and beside it the hourly retention
that ``intakeforms worker`` applies too.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import anyio

from intakeforms.delivery.worker import Worker, mail_transport
from intakeforms.form import Form
from intakeforms.metrics import Metrics
from intakeforms.privacy import maintain
from intakeforms.settings import Settings
from intakeforms.store import Store

__all__ = ["deliver_in_process"]


async def deliver_in_process(
    store: Store,
    forms: Mapping[str, Form],
    settings: Settings,
    metrics: Metrics | None,
    stop: anyio.Event,
) -> None:
    """Deliver the outbox and apply the retention until ``stop`` is set."""
    worker = Worker(
        store=store,
        forms=forms,
        settings=settings,
        transport=mail_transport(settings),
        builders=settings.mail_builders,
        metrics=metrics,
    )
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run, stop)
        # The retention rolls up the forms' visitor events before deleting them.
        group.start_soon(partial(maintain, forms=forms), store, settings, stop)
