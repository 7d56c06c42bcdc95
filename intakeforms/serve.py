"""What ``intakeforms serve`` serves, checked once, for one process or several.

With ``--workers N`` above 1, uvicorn's own process manager runs N processes
that share the listening socket; each builds the app
(``intakeforms.cli.app_from_environment``) from the :class:`Plan` the parent
leaves in the environment (``INTAKE_SERVE_PLAN``). The parent checks the
forms and settings first (:func:`check`), so a broken form stops the start
with its ``file:line`` before any process is forked.

What must hold across the processes, and how it does:

- One store for all: SQLite's file locking (WAL, ``BEGIN IMMEDIATE``, the
  busy timeout) serialises their writes, and idempotency keys are rows of
  the store, so a replay is answered alike by any process.
- One secret for all: the time-trap tokens and signed links one process
  makes must pass in another. Without ``INTAKE_SECRET`` the parent makes one
  up and hands it to every process (it still counts as made up: it dies
  with the service).
- Rate limits counted together: in the store, as on PostgreSQL, never in
  each process's memory (which would let N times the limit through).
- Deliveries claimed, not shared out: each process runs the outbox worker,
  and a claim is a write under SQLite's lock (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL) with a lease, so no two processes send the same job.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TextIO

from intakeforms.errors import IntakeError
from intakeforms.faq.load import Faq, load_faqs
from intakeforms.form import Form
from intakeforms.load import load_forms
from intakeforms.settings import Settings, load_settings, metrics_plan

__all__ = ["PLAN_VARIABLE", "Checked", "Plan", "check", "freeze_start_up", "plan_settings"]

#: The environment variable that carries the :class:`Plan` to the processes.
PLAN_VARIABLE = "INTAKE_SERVE_PLAN"


@dataclass(frozen=True)
class Plan:
    """What each process of ``intakeforms serve`` builds its app from."""

    paths: tuple[str, ...]
    settings_file: str | None = None
    deliver: bool = True
    workers: int = 1
    #: The parent's made-up secret, when ``INTAKE_SECRET`` is not set.
    secret: str | None = None

    def to_json(self) -> str:
        """The plan as the environment carries it."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """The plan :meth:`to_json` wrote."""
        values = json.loads(text)
        values["paths"] = tuple(values["paths"])
        return cls(**values)


def plan_settings(plan: Plan) -> Settings:
    """The settings of one process: as the parent read them, the made-up
    secret included."""
    settings = load_settings(file=plan.settings_file)
    if plan.secret is not None and settings.secret_is_random:
        # The same class as the secret just made up: still "made up" for
        # whatever asks (drafts by email stay off), but one for all processes.
        settings = replace(settings, secret=type(settings.secret)(plan.secret))
    return settings


def freeze_start_up() -> None:
    """Leave the objects a serving process made before its first request
    out of every later garbage collection (``gc.freeze``), after one last
    collection of the garbage among them.

    The forms, catalogs, templates and modules (some 70,000 objects with the
    examples) live as long as the process, yet every full collection walked
    them all: 30 to 50 ms, in the middle of whatever requests were under
    way, each time the objects of requests in progress had been carried into
    the oldest generation. Frozen, a full collection walks only what came
    after (under a millisecond). Called by each process of ``intakeforms
    serve`` once its app is built; an app embedded elsewhere leaves the
    collector to its host.
    """
    gc.collect()
    gc.freeze()


def _refuse_for_workers(settings: Settings, workers: int) -> str | None:
    """Why these settings cannot run in ``workers`` processes, or None."""
    if workers == 1:
        return None
    if ":memory:" in settings.store or "mode=memory" in settings.store:
        return (
            f"INTAKE_STORE is an in-memory SQLite database, which each of the {workers} "
            "processes would have on its own: name a file (sqlite:///intake.db) or use --workers 1"
        )
    plan = metrics_plan(settings.metrics)
    if plan is not None:
        where = "on the service's port" if plan.on_service_port else f"on {settings.metrics}"
        return (
            f"INTAKE_METRICS serves /metrics {where}, but each of the {workers} processes "
            "counts on its own, so a scrape would see one process's share: unset "
            "INTAKE_METRICS or use --workers 1"
        )
    return None


@dataclass(frozen=True)
class Checked:
    """Forms, FAQs and settings that passed the checks, and the plan to serve them."""

    plan: Plan
    forms: list[Form]
    faqs: list[Faq]
    settings: Settings


def check(
    paths: Sequence[str],
    *,
    workers: int,
    deliver: bool,
    settings_file: str | None,
    err: TextIO,
) -> Checked | None:
    """Load and check what ``serve`` is to serve, before any process starts;
    None (the problems written to ``err``) when it cannot be served."""
    from intakeforms.delivery.targets import missing_secrets

    try:
        forms = load_forms(list(paths))
        faqs = load_faqs(list(paths), forms=forms)
        settings = load_settings(file=settings_file)
        refused = _refuse_for_workers(settings, workers)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return None
    if refused is not None:
        err.write(f"intakeforms serve: {refused}\n")
        return None
    if not forms:
        err.write("intakeforms serve: no forms found in the given paths\n")
        return None
    for warning in missing_secrets(forms):
        err.write(f"warning: {warning}\n")
    plan = Plan(
        # Absolute: every process finds the same files whatever its working folder.
        paths=tuple(os.path.abspath(p) for p in paths),
        settings_file=None if settings_file is None else os.path.abspath(settings_file),
        deliver=deliver,
        workers=workers,
        secret=str(settings.secret) if settings.secret_is_random and workers > 1 else None,
    )
    return Checked(plan, forms, faqs, settings)
