"""Commands for spam review and privacy requests: spam, export, erase, purge.

``intakeforms spam list|release|delete`` reviews quarantined submissions;
``intakeforms export REF`` answers an access request, ``intakeforms erase
REF…`` an erasure request (``--email ADDRESS`` for the drafts kept for an
address, with either), and ``intakeforms purge`` applies the retention
settings now (docs/privacy.md). Each uses the store and upload folder of
the settings (``INTAKE_STORE``, ``INTAKE_UPLOAD_DIR``), like the service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO

import anyio

from intakeforms.errors import FormError, IntakeError
from intakeforms.form import Form
from intakeforms.load import load_forms
from intakeforms.privacy import Removed, delete_spam, erase, purge
from intakeforms.settings import Settings, load_settings
from intakeforms.store import OutboxJob, Store, StoredSubmission, open_store

__all__ = ["add_commands", "run_erase", "run_export", "run_purge", "run_spam"]

_STORE_HELP = "the store URL (else INTAKE_STORE or sqlite:///intake.db)"
_SETTINGS_HELP = "a TOML settings file (else INTAKE_SETTINGS)"


def job_dict(job: OutboxJob) -> dict[str, Any]:
    """One outbox job as JSON-able values, times in ISO 8601 (``outbox show``, ``export``)."""
    out: dict[str, Any] = {}
    for name in (
        "id",
        "reference",
        "target",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "claimed_by",
        "lease_until",
        "delivered_at",
        "receipt",
        "created_at",
        "updated_at",
    ):
        value = getattr(job, name, None)
        out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help=_STORE_HELP)
    parser.add_argument("--settings", help=_SETTINGS_HELP)


def add_commands(commands: Any) -> None:
    """Register spam, export, erase and purge on the ``intakeforms`` parser."""
    spam = commands.add_parser("spam", help="review quarantined submissions")
    actions = spam.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="reference, form, when and why; no answers")
    listing.add_argument("--form", help="only this form's")
    listing.add_argument("--limit", type=int, default=100, help="the newest N (default 100)")
    listing.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    _common(listing)
    release = actions.add_parser(
        "release", help="accept after all: queue its deliveries as if it had been accepted"
    )
    release.add_argument("references", nargs="+", metavar="REF")
    release.add_argument(
        "--forms",
        action="append",
        required=True,
        metavar="PATH",
        help="the form files or folders the service runs with (repeatable)",
    )
    _common(release)
    delete = actions.add_parser("delete", help="delete for good, with its uploaded files")
    delete.add_argument("references", nargs="+", metavar="REF")
    _common(delete)
    spam.set_defaults(run=run_spam)

    export = commands.add_parser(
        "export", help="print everything stored about one submission as JSON (access requests)"
    )
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("reference", nargs="?", metavar="REF", help="the reference, like CAR-4F7K2Q")
    what.add_argument(
        "--email", metavar="ADDRESS", help="instead: the drafts kept for this address"
    )
    _common(export)
    export.set_defaults(run=run_export)

    erase = commands.add_parser(
        "erase", help="erase submissions' answers and files for good (erasure requests)"
    )
    erase.add_argument("references", nargs="*", metavar="REF")
    erase.add_argument(
        "--email",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="also delete the drafts kept for this address (repeatable)",
    )
    _common(erase)
    erase.set_defaults(run=run_erase, usage_error=erase.error)

    purge = commands.add_parser(
        "purge", help="apply the retention settings now (the worker does it hourly)"
    )
    purge.add_argument(
        "--forms",
        action="append",
        default=[],
        metavar="PATH",
        help="the form files or folders the service runs with (repeatable): their visitor "
        "events are rolled up into the statistics before any is deleted",
    )
    _common(purge)
    purge.set_defaults(run=run_purge)


def _run(
    args: argparse.Namespace,
    err: TextIO,
    work: Callable[[Store, Settings], Awaitable[int]],
) -> int:
    """Load the settings, open the store, run ``work``; errors become exit 1."""
    try:
        settings = load_settings(file=args.settings)
        store = open_store(args.store or settings.store)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return 1

    async def opened() -> int:
        await store.open()
        try:
            return await work(store, settings)
        finally:
            await store.close()

    try:
        return anyio.run(opened)
    except IntakeError as exc:
        err.write(f"{exc}\n")
        return 1


def _reference(text: str) -> str:
    # Read aloud or typed by hand, a reference may come in lower case.
    return text.strip().upper()


def _when(found: StoredSubmission) -> str:
    return found.erased_at.isoformat(timespec="seconds") if found.erased_at else "?"


def _files(done: Removed, settings: Settings, err: TextIO) -> str:
    """How many files went; warns when some were not in the upload folder."""
    stored = len(done.submission.files)
    missing = stored - done.files_removed
    if missing:
        err.write(f"{done.submission.reference}: {_missing(missing, settings)}\n")
    return f", with {done.files_removed} uploaded file(s)" if stored else ""


def _missing(count: int, settings: Settings) -> str:
    return (
        f"warning: {count} uploaded file(s) were not found in {settings.upload_dir}; if the "
        "uploads are kept elsewhere, set INTAKE_UPLOAD_DIR as the service has it and remove "
        "them there"
    )


def forms_of(paths: Sequence[str], err: TextIO) -> dict[str, Form] | None:
    """The forms in ``paths`` by id; None after writing on ``err`` what is
    wrong with them (file:line:col, as editors read them)."""
    try:
        return {form.id: form for form in load_forms(paths)}
    except FormError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
    except IntakeError as exc:
        err.write(f"{exc}\n")
    return None


def run_spam(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms spam list|release|delete``."""
    if args.action == "list":
        return _run(args, err, lambda store, _: _spam_list(store, args, out, err))
    if args.action == "delete":
        return _run(
            args, err, lambda store, settings: _spam_delete(store, settings, args, out, err)
        )
    forms = forms_of(args.forms, err)
    if forms is None:
        return 1
    if not forms:
        err.write(f"intakeforms spam release: no forms found in {', '.join(args.forms)}\n")
        return 1

    async def release(store: Store, _: Settings) -> int:
        from intakeforms.intake import delivery_targets

        failed = 0
        for reference in map(_reference, args.references):
            found = await store.get(reference)
            problem = None
            if found is None:
                problem = "no such submission in the store"
            elif not found.spam:
                problem = "not quarantined spam (it was accepted); nothing to release"
            elif found.erased:
                problem = f"erased on {_when(found)}; nothing left to deliver"
            elif found.form not in forms:
                problem = (
                    f"its form {found.form!r} is not among the forms given with --forms; "
                    "give the form files the service runs with"
                )
            if found is None or problem is not None:
                failed += 1
                err.write(f"{reference}: {problem}\n")
                continue
            targets = delivery_targets(forms[found.form], found.data)
            if not await store.release(reference, targets):
                failed += 1
                err.write(f"{reference}: no longer quarantined spam; nothing released\n")
                continue
            queued = ", ".join(targets) if targets else "nothing (the form delivers nowhere)"
            out.write(f"{reference}: released; queued {queued}\n")
        return 1 if failed else 0

    return _run(args, err, release)


async def _spam_list(store: Store, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.limit < 1:
        err.write(f"--limit {args.limit}: write 1 or more\n")
        return 2
    entries = await store.spam_list(form=args.form, limit=args.limit)
    if args.json:
        rows = [
            {
                "reference": e.reference,
                "form": e.form,
                "submitted_at": e.submitted_at.isoformat(),
                "reason": e.reason,
            }
            for e in entries
        ]
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    if entries:
        width = max(12, *(len(e.form) for e in entries))
        out.write(f"{'reference':<16} {'form':<{width}} {'submitted (UTC)':<20} why\n")
    for e in entries:
        when = e.submitted_at.strftime("%Y-%m-%d %H:%M:%S")
        reason = " ".join(e.reason.split()) or "(no reason recorded)"
        out.write(f"{e.reference:<16} {e.form:<{width}} {when:<20} {reason}\n")
    more = " (the newest; --limit shows more)" if len(entries) == args.limit else ""
    scope = f" of {args.form}" if args.form else ""
    err.write(f"{len(entries)} quarantined submission(s){scope}{more}\n")
    return 0


async def _spam_delete(
    store: Store, settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    failed = 0
    for reference in map(_reference, args.references):
        deleted = await delete_spam(store, settings.upload_dir, reference)
        if deleted is not None:
            out.write(f"{reference}: deleted{_files(deleted, settings, err)}\n")
            continue
        failed += 1
        found = await store.get(reference)
        if found is None:
            err.write(f"{reference}: no such submission in the store\n")
        else:
            err.write(
                f"{reference}: not quarantined spam; an accepted submission is removed "
                f"with intakeforms erase {reference}\n"
            )
    return 1 if failed else 0


def _export(found: StoredSubmission, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "reference": found.reference,
        "form": found.form,
        "form_version": found.form_version,
        "locale": found.locale,
        "submitted_at": found.submitted_at.isoformat(),
        "spam": found.spam,
        "spam_reason": found.spam_reason,
        "erased": found.erased,
        "erased_at": found.erased_at.isoformat() if found.erased_at else None,
        "client": found.client,
        "data": found.data,
        # Where each file's bytes are, under INTAKE_UPLOAD_DIR: the bytes
        # themselves stay out of the JSON; a copy is taken from there.
        "files": [
            {
                "field": f.field,
                "name": f.name,
                "content_type": f.content_type,
                "size": f.size,
                "stored_as": f.path,
            }
            for f in found.files
        ],
        "deliveries": jobs,
    }


def run_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms export REF``: everything stored about one submission;
    ``--email ADDRESS``: the drafts kept for an address."""
    if args.email is not None:
        return _run(args, err, lambda store, _: _export_drafts(store, args.email, out, err))
    reference = _reference(args.reference)

    async def work(store: Store, _: Settings) -> int:
        found = await store.get(reference)
        if found is None:
            err.write(f"{reference}: no such submission in the store\n")
            return 1
        jobs = [job_dict(job) for job in await store.outbox(reference)]
        json.dump(_export(found, jobs), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0

    return _run(args, err, work)


async def _export_drafts(store: Store, email: str, out: TextIO, err: TextIO) -> int:
    try:
        found = await store.drafts_of(email)
    except ValueError as exc:  # an empty address; the message never repeats it
        err.write(f"intakeforms export --email: {exc}\n")
        return 1
    drafts = [
        {
            "id": d.id,
            "form": d.form,
            "locale": d.locale,
            "email": d.email,
            "created_at": d.created_at.isoformat(),
            "expires_at": d.expires_at.isoformat(),
            "mail_sent_at": d.mail_sent_at.isoformat() if d.mail_sent_at else None,
            "data": dict(d.data),
        }
        for d in found
    ]
    json.dump({"drafts": drafts}, out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 0


def run_erase(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms erase REF… [--email ADDRESS]``: answers, files and
    delivery payloads, and an address's drafts, for good."""
    if not args.references and not args.email:
        # argparse's own words and exit status (2), as for a required argument.
        args.usage_error("one of the arguments REF --email is required")

    async def work(store: Store, settings: Settings) -> int:
        failed = 0
        for number, email in enumerate(args.email, 1):
            # The address is not repeated: the output may end up in a ticket or log.
            which = f" {number}" if len(args.email) > 1 else ""
            try:
                deleted = await store.erase_drafts(email)
            except ValueError as exc:  # an empty address; the message never repeats it
                failed += 1
                err.write(f"address{which}: {exc}\n")
                continue
            out.write(f"drafts of address{which}: deleted {deleted}\n")
        for reference in map(_reference, args.references):
            done = await erase(store, settings.upload_dir, reference)
            if done is None:
                failed += 1
                err.write(f"{reference}: no such submission in the store\n")
            elif done.submission.erased:
                out.write(f"{reference}: already erased on {_when(done.submission)}\n")
            else:
                out.write(f"{reference}: erased{_files(done, settings, err)}\n")
        return 1 if failed else 0

    return _run(args, err, work)


def run_purge(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``intakeforms purge``: apply the retention settings now."""
    forms = None
    if args.forms:
        forms = forms_of(args.forms, err)
        if forms is None:
            return 1

    async def work(store: Store, settings: Settings) -> int:
        done = await purge(store, settings, forms=forms)
        cut, result = done.cutoffs, done.result

        def moment(value: Any) -> str:
            return str(value.isoformat(timespec="seconds"))

        if cut.delivered_before is None:
            out.write("delivered submissions: kept (INTAKE_RETENTION_DAYS is not set)\n")
        else:
            out.write(
                f"delivered submissions: erased {result.erased} submitted before "
                f"{moment(cut.delivered_before)}\n"
            )
        out.write(
            f"spam: deleted {result.deleted_spam} submitted before {moment(cut.spam_before)}\n"
        )
        out.write(
            f"client addresses: forgot {result.clients_cleared} of submissions before "
            f"{moment(cut.clients_before)}\n"
        )
        if cut.faq_queries_before is not None:
            out.write(
                f"FAQ search text: blanked {result.faq_queries_blanked} of searches before "
                f"{moment(cut.faq_queries_before)}\n"
            )
        out.write(f"drafts: deleted {result.drafts_deleted} expired\n")
        if forms is not None:
            out.write(f"statistics: rolled up {done.days_rolled} day(s) of visitor events\n")
        if cut.events_before is not None:
            unrolled = (
                ", not rolled up into the statistics (give --forms)"
                if forms is None and result.events_deleted
                else ""
            )
            out.write(
                f"visitor events: deleted {result.events_deleted} before "
                f"{moment(cut.events_before)}{unrolled}\n"
            )
        out.write(f"uploaded files: removed {done.files_removed}\n")
        if len(result.files) > done.files_removed:
            err.write(_missing(len(result.files) - done.files_removed, settings) + "\n")
        return 0

    return _run(args, err, work)
