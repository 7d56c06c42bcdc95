"""Commands for running and operating the service: worker, submit, outbox, show.

``intakeforms worker PATH`` delivers outbox jobs on its own (for scale-out:
many workers on many hosts sharing one PostgreSQL store), applies the
retention settings hourly and, with ``INTAKE_METRICS=HOST:PORT``, serves its
metrics there; ``intakeforms outbox list|show|retry`` lets an operator see
failed deliveries and replay them once the cause is fixed; ``intakeforms
submit FILE --data ANSWERS`` stores a submission taken another way (a phone
call, an import) exactly as the service would. The spam review
and privacy commands are in :mod:`intakeforms.cli_privacy`.
"""

from __future__ import annotations

import argparse
import json
import signal
from functools import partial
from typing import Any, TextIO

import anyio

from intakeforms.cli_faq import add_commands as add_faq_commands
from intakeforms.cli_link import add_commands as add_link_commands
from intakeforms.cli_privacy import add_commands as add_privacy_commands
from intakeforms.cli_privacy import job_dict
from intakeforms.errors import FormError, IntakeError, InvalidAnswers
from intakeforms.form import Form
from intakeforms.intake import Receipt
from intakeforms.load import load_form, load_forms
from intakeforms.settings import load_settings
from intakeforms.store import JOB_STATUSES, OutboxJob, Store, open_store

__all__ = ["add_commands", "run_outbox", "run_show", "run_worker"]


def add_commands(commands: Any) -> None:
    """Register worker, submit, outbox and show on the ``intakeforms`` parser."""
    worker = commands.add_parser("worker", help="deliver outbox jobs (agent emails, tickets)")
    worker.add_argument("paths", nargs="+", metavar="PATH", help="the same form files as serve")
    worker.add_argument("--settings", help="a TOML settings file (else INTAKE_SETTINGS)")
    worker.add_argument("--batch", type=int, default=20, help="jobs claimed at a time")
    worker.add_argument("--once", action="store_true", help="deliver what is due, then stop")
    worker.add_argument(
        "--lease",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long a claimed job is this worker's; a crashed worker's jobs are "
        "taken over after it (keep it well above the slowest delivery)",
    )
    submit = commands.add_parser(
        "submit", help="store a submission from a JSON file of answers (a phone call, an import)"
    )
    submit.add_argument("file", metavar="FILE", help="the form file")
    submit.add_argument("--data", required=True, metavar="ANSWERS", help="a JSON file of answers")
    submit.add_argument("--locale", help="the customer's language (else the form's default)")
    submit.add_argument(
        "--key",
        metavar="KEY",
        help="an idempotency key: the same key again gives the same reference",
    )
    submit.add_argument("--store", help="the store URL (else INTAKE_STORE or sqlite:///intake.db)")
    outbox = commands.add_parser("outbox", help="see and replay deliveries")
    outbox.add_argument("--store", help="the store URL (else INTAKE_STORE or sqlite:///intake.db)")
    actions = outbox.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="jobs, newest first, with counts per state")
    listing.add_argument("--status", choices=JOB_STATUSES, help="only jobs in this state")
    listing.add_argument("--limit", type=int, default=50)
    show = actions.add_parser("show", help="one job in full")
    show.add_argument("job", type=int, metavar="ID")
    retry = actions.add_parser("retry", help="deliver dead (or pending) jobs again now")
    retry.add_argument("jobs", type=int, nargs="*", metavar="ID")
    retry.add_argument("--all-dead", action="store_true", help="every dead job")
    submission = commands.add_parser("show", help="print a stored submission as JSON")
    submission.add_argument("reference", help="the reference the customer got, like CAR-4F7K2Q")
    submission.add_argument(
        "--store", help="the store URL (else INTAKE_STORE or sqlite:///intake.db)"
    )
    add_privacy_commands(commands)
    add_faq_commands(commands)
    add_link_commands(commands)


async def _with_store(url: str | None, work: Any) -> Any:
    store = open_store(url or load_settings().store)
    await store.open()
    try:
        return await work(store)
    finally:
        await store.close()


def run_worker(args: argparse.Namespace, err: TextIO) -> int:
    """``intakeforms worker PATH``: deliver until SIGTERM or SIGINT."""
    from intakeforms.delivery import Worker, mail_transport
    from intakeforms.metrics import Metrics, metrics_plan
    from intakeforms.privacy import maintain

    try:
        forms = load_forms(args.paths)
        settings = load_settings(file=args.settings)
        plan = metrics_plan(settings.metrics)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return 1
    if plan is not None and plan.address is None:
        err.write(
            "warning: INTAKE_METRICS=true serves /metrics on the web service's port, and a "
            "worker has none; set INTAKE_METRICS=HOST:PORT (like 127.0.0.1:9464) for its "
            "metrics\n"
        )
    metrics = None if plan is None or plan.address is None else Metrics()

    from intakeforms.delivery.targets import missing_secrets

    for warning in missing_secrets(forms):
        err.write(f"warning: {warning}\n")

    async def work(store: Store) -> None:
        worker = Worker(
            store=store,
            forms={form.id: form for form in forms},
            settings=settings,
            transport=mail_transport(settings),
            batch=args.batch,
            lease_seconds=args.lease,
            builders=settings.mail_builders,
            metrics=metrics,
        )
        err.write(f"Worker {worker.name} delivering for {len(forms)} form(s)\n")
        err.flush()
        if args.once:
            try:
                while await worker.run_once():
                    pass
            finally:
                await worker.close()
            return
        stop = anyio.Event()
        async with anyio.create_task_group() as group:

            async def on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        err.write("Stopping after the job in hand\n")
                        err.flush()
                        stop.set()
                        return

            group.start_soon(on_signal)
            if metrics is not None and plan is not None and plan.address is not None:
                metrics.watch(store)
                await group.start(metrics.serve, plan.address, stop)
                err.write(f"Metrics on http://{_host(plan.address)}/metrics\n")
                err.flush()
            # The retention rolls up the forms' visitor events before deleting them.
            by_id = {form.id: form for form in forms}
            group.start_soon(partial(maintain, forms=by_id), store, settings, stop)
            await worker.run(stop)
            stop.set()  # the metrics server and the retention loop end with the worker
            group.cancel_scope.cancel()

    try:
        anyio.run(_with_store, settings.store, work)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return 1
    return 0


def _host(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _line(job: OutboxJob) -> str:
    error = (job.last_error or "").replace("\n", " ")
    if len(error) > 70:
        error = error[:69] + "…"
    due = job.next_attempt_at.isoformat(timespec="seconds")
    return (
        f"{job.id:>6}  {job.reference:<12} {job.target:<12} {job.status:<9} "
        f"{job.attempts:>3}  {due:<25} {error}"
    )


def run_outbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms outbox list|show|retry``."""

    async def work(store: Store) -> int:
        if args.action == "list":
            counts = await store.counts()
            out.write("  ".join(f"{status}: {n}" for status, n in counts.items()) + "\n")
            jobs = await store.jobs(status=args.status, limit=args.limit)
            if jobs:
                out.write(
                    f"{'id':>6}  {'reference':<12} {'target':<12} {'status':<9} "
                    f"{'try':>3}  {'next attempt':<25} last error\n"
                )
            for job in jobs:
                out.write(_line(job) + "\n")
            return 0
        if args.action == "show":
            found = await store.job(args.job)
            if found is None:
                err.write(f"no outbox job {args.job}\n")
                return 1
            json.dump(job_dict(found), out, indent=2, ensure_ascii=False)
            out.write("\n")
            return 0
        ids = list(args.jobs)
        if args.all_dead:
            ids += [job.id for job in await store.jobs(status="dead", limit=100_000)]
        if not ids:
            err.write("name job ids to retry, or --all-dead\n")
            return 2
        failed = 0
        for job_id in ids:
            if await store.requeue(job_id):
                out.write(f"job {job_id}: queued for delivery now\n")
            else:
                failed += 1
                err.write(f"job {job_id}: not dead or pending (delivered, in hand, or missing)\n")
        return 1 if failed else 0

    try:
        result: int = anyio.run(_with_store, args.store, work)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return 1
    return result


def form_and_answers(
    args: argparse.Namespace, command: str, err: TextIO
) -> tuple[Form, Any] | None:
    """The form file (``args.file``) and the JSON answers (``args.data``) a
    command was given; None after saying on ``err`` what is wrong."""
    try:
        form = load_form(args.file)
    except FormError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
        return None
    try:
        with open(args.data, encoding="utf-8") as handle:
            return form, json.load(handle)
    except (OSError, ValueError) as exc:
        err.write(f"intakeforms {command}: cannot read the answers in {args.data}: {exc}\n")
        return None


def write_invalid(exc: InvalidAnswers, err: TextIO) -> None:
    """Each answer that does not fit, a line each: field, message, code."""
    for error in exc.errors:
        err.write(f"{error.field or '(answers)'}: {error.message} ({error.code})\n")


def run_submit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms submit FILE --data ANSWERS``: validate and store, as the
    service does; prints the reference. Delivery is the worker's, as always."""
    from intakeforms.intake import submit

    given = form_and_answers(args, "submit", err)
    if given is None:
        return 1
    form, answers = given
    if args.locale is not None and args.locale not in form.locales:
        # The service falls back to the form's language for a browser's
        # wish; a person who typed --locale meant it, so say so.
        err.write(
            f"intakeforms submit: --locale {args.locale}: the form {form.id} is in "
            f"{', '.join(form.locales)}\n"
        )
        return 2
    if not isinstance(answers, dict):
        err.write(f"intakeforms submit: {args.data} must hold one JSON object of answers\n")
        return 1

    async def work(store: Store) -> Receipt:
        return await submit(
            store,
            form,
            answers,
            channel="cli",
            locale=args.locale,
            idempotency_key=args.key,
            # The service's secret, so that agents see this customer's earlier contacts.
            secret=load_settings().secrets[0],
        )

    try:
        receipt = anyio.run(_with_store, args.store, work)
    except InvalidAnswers as exc:
        write_invalid(exc, err)
        return 1
    except (IntakeError, ValueError) as exc:
        err.write(f"intakeforms submit: {exc}\n")
        return 1
    note = "" if receipt.created else "  (already stored with this key)"
    out.write(f"{receipt.reference}{note}\n")
    return 0


def run_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms show REFERENCE``: a stored submission as JSON."""

    async def work(store: Store) -> dict[str, Any] | None:
        found = await store.get(args.reference)
        if found is None:
            return None
        return {
            "reference": found.reference,
            "form": found.form,
            "form_version": found.form_version,
            "submitted_at": found.submitted_at.isoformat(),
            "locale": found.locale,
            "spam": found.spam,
            "data": found.data,
            "files": [
                {"field": f.field, "name": f.name, "type": f.content_type, "size": f.size}
                for f in found.files
            ],
            "deliveries": [job_dict(job) for job in await store.outbox(found.reference)],
        }

    try:
        shown = anyio.run(_with_store, args.store, work)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return 1
    if shown is None:
        err.write(f"no submission {args.reference} in the store\n")
        return 1
    json.dump(shown, out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 0
