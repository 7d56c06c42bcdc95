"""The ``intakeforms`` command: check, schema, preview, serve, and the rest.

``check`` prints ``file:line:col: message`` for each problem (the format
editors and CI annotate), and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from intakeforms.cli_admin import add_commands as add_admin_commands
from intakeforms.cli_operate import (
    add_commands,
    form_and_answers,
    run_outbox,
    run_show,
    run_submit,
    run_worker,
    write_invalid,
)
from intakeforms.cli_stats import add_commands as add_stats_commands
from intakeforms.compile import language_schema
from intakeforms.errors import FormError, IntakeError, Problem, SettingsError
from intakeforms.load import find_form_files, load_form, load_forms

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from intakeforms.faq.load import Faq
    from intakeforms.form import Form
    from intakeforms.serve import Plan
    from intakeforms.settings import Settings

__all__ = ["app_from_environment", "build_app", "main"]


def _check(paths: list[str], out: TextIO, err: TextIO) -> int:
    from intakeforms.faq.load import load_faqs

    files = find_form_files(paths)
    if not files:
        err.write("intakeforms check: no .yaml or .yml files found in the given paths\n")
        return 1
    problems: list[Problem] = []
    forms = None
    try:
        forms = load_forms(paths)
    except FormError as exc:
        problems.extend(exc.problems)
    # With a broken form, an FAQ's forms: cannot be told wrong from right.
    try:
        faqs = load_faqs(paths, forms=forms)
    except FormError as exc:
        problems.extend(exc.problems)
    if problems:
        for problem in problems:
            out.write(f"{problem}\n")
        bad = len({p.file for p in problems})
        err.write(f"{len(problems)} problem(s) in {bad} of {len(files)} file(s)\n")
        return 1
    assert forms is not None
    also = f", {len(faqs)} FAQ file(s)" if faqs else ""
    # On stdout: the command's result when all is well (a script or CI step
    # reads it there); the problems' count is an error and goes to stderr.
    out.write(f"{len(forms)} form(s) OK{also}\n")
    return 0


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.language:
        schema = language_schema()
    elif args.faq:
        from intakeforms.faq.load import faq_schema

        schema = faq_schema()
    elif args.file:
        try:
            schema = load_form(args.file).json_schema()
        except FormError as exc:
            for problem in exc.problems:
                err.write(f"{problem}\n")
            return 1
    else:
        err.write("intakeforms schema: give a form FILE, --language or --faq\n")
        return 2
    json.dump(schema, out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 0


def _preview(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from intakeforms.errors import InvalidAnswers
    from intakeforms.preview import preview
    from intakeforms.settings import load_settings
    from intakeforms.targets.email import NotAnEmailTarget

    given = form_and_answers(args, "preview", err)
    if given is None:
        return 1
    form, answers = given
    try:
        settings = load_settings()
        mail_from = args.mail_from or settings.mail_from
        message = preview(
            form,
            answers,
            args.locale,
            target=None if args.confirmation else args.target,
            confirmation=args.confirmation,
            mail_from=mail_from,
            context={"incomplete": {}} if args.incomplete else None,
            timezone=settings.timezone,
        )
    except InvalidAnswers as exc:
        write_invalid(exc, err)
        return 1
    except NotAnEmailTarget as exc:
        err.write(f"intakeforms preview: {exc}\n")
        return 2
    except (IntakeError, ValueError) as exc:
        err.write(f"intakeforms preview: {exc}\n")
        return 1
    out.write(bytes(message).decode("utf-8"))
    return 0


def _serve(args: argparse.Namespace, err: TextIO) -> int:
    import uvicorn

    from intakeforms.serve import PLAN_VARIABLE, check, freeze_start_up

    checked = check(
        args.paths,
        workers=args.workers,
        deliver=not args.no_worker,
        settings_file=args.settings,
        err=err,
    )
    if checked is None:
        return 1
    forms, faqs, workers = checked.forms, checked.faqs, args.workers
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host  # noqa: S104
    also = f" and {len(faqs)} FAQ file(s)" if faqs else ""
    processes = f" in {workers} processes" if workers > 1 else ""
    err.write(
        f"Serving {len(forms)} form(s){also}{processes}; "
        f"open http://{shown}:{args.port}/forms/{forms[0].id}\n"
    )
    # The app applies INTAKE_TRUST_PROXY and INTAKE_PROXY_HOPS itself. uvicorn's
    # own rule (on by default for a proxy on 127.0.0.1) would rewrite the
    # request from forwarded headers even with the setting off.
    where = {"host": args.host, "port": args.port, "log_level": args.log_level}
    if workers == 1:
        app = build_app(checked.plan, settings=checked.settings, loaded=(forms, faqs))
        freeze_start_up()
        uvicorn.run(app, **where, proxy_headers=False)
        return 0
    # uvicorn's process manager: each process imports the factory and calls it.
    os.environ[PLAN_VARIABLE] = checked.plan.to_json()
    uvicorn.run(
        f"{__name__}:app_from_environment",
        factory=True,
        workers=workers,
        **where,
        proxy_headers=False,
    )
    return 0


def build_app(
    plan: Plan,
    *,
    settings: Settings | None = None,
    loaded: tuple[Sequence[Form], Sequence[Faq]] | None = None,
) -> Starlette:
    """The app of one process of ``serve``: the forms, FAQs and settings of
    ``plan`` (unless given, already ``loaded``); deliveries in the process
    unless ``plan.deliver`` is off."""
    from intakeforms.delivery import deliver_in_process
    from intakeforms.faq.load import load_faqs
    from intakeforms.serve import plan_settings
    from intakeforms.web import create_app
    from intakeforms.web.continuity import RedactTokens

    if loaded is None:
        found = load_forms(list(plan.paths))
        loaded = found, load_faqs(list(plan.paths), forms=found)
    forms, faqs = loaded
    settings = settings or plan_settings(plan)
    app = create_app(
        forms,
        settings,
        background=(deliver_in_process,) if plan.deliver else (),
        faqs=faqs,
    )
    if plan.workers > 1:
        _count_in_store(app, settings)
    # The access log writes each path with its query: a link's or a draft's
    # token (?t=, ?d=) would be readable there. Added here, in each process,
    # as each configures its own logging.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
    return app


def app_from_environment() -> Starlette:
    """uvicorn's factory in each process of ``serve --workers N``: the app
    of the plan the parent left in ``INTAKE_SERVE_PLAN``."""
    from intakeforms.serve import PLAN_VARIABLE, Plan, freeze_start_up

    text = os.environ.get(PLAN_VARIABLE)
    if not text:
        raise SettingsError(
            f"{PLAN_VARIABLE} is not set: this factory is for the processes "
            "that intakeforms serve --workers starts; run intakeforms serve instead"
        )
    app = build_app(Plan.from_json(text))
    freeze_start_up()
    return app


def _count_in_store(app: Starlette, settings: Settings) -> None:
    """Count every per-client limit in the store, where all processes see it:
    in each process's memory, N processes would let N times the limit through."""
    from intakeforms.web.app import Service
    from intakeforms.web.limits import shared

    service: Service = app.state.service
    gate = service.gate
    for purpose, limiter in list(gate.limits.items()):
        gate.limits[purpose] = shared(limiter, service.store, settings.secret)


def _processes(text: str) -> int:
    """``--workers``: a whole number, 1 or more."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of processes; write 1 or more"
        ) from None
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"{count} processes cannot serve anything; write 1 or more "
            "(about one per CPU serves the most)"
        )
    return count


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intakeforms", description="YAML contact forms for customer service."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check", help="check form and FAQ files; print file:line:col: message"
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="form and FAQ files or folders")
    schema = commands.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("file", nargs="?", metavar="FILE", help="the submission schema of a form")
    schema.add_argument(
        "--language", action="store_true", help="the schema of the YAML form language itself"
    )
    schema.add_argument("--faq", action="store_true", help="the schema of an FAQ file")
    preview = commands.add_parser(
        "preview", help="print the agent email (.eml) for some answers, without sending it"
    )
    preview.add_argument("file", metavar="FILE", help="the form file")
    preview.add_argument("--data", required=True, metavar="ANSWERS", help="a JSON file of answers")
    preview.add_argument(
        "--locale", help="the agents' language (else the email target's, else the form's)"
    )
    preview.add_argument(
        "--mail-from", help="the sender address (else INTAKE_MAIL_FROM or intakeforms@localhost)"
    )
    preview.add_argument(
        "--target",
        type=int,
        metavar="INDEX",
        help="which deliver entry to address (its position, from 0; else the first email)",
    )
    preview.add_argument(
        "--confirmation",
        action="store_true",
        help="print the customer's confirmation (autorespond) instead, in --locale",
    )
    preview.add_argument(
        "--incomplete",
        action="store_true",
        help="as an incomplete contact (Talk to a person): the answers so far, the rest listed",
    )
    serve = commands.add_parser("serve", help="run the service (forms, API, store)")
    serve.add_argument("paths", nargs="+", metavar="PATH", help="form and FAQ files or folders")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--settings", help="a TOML settings file (else INTAKE_SETTINGS)")
    serve.add_argument("--log-level", default="info", help="uvicorn's log level")
    serve.add_argument(
        "--workers",
        type=_processes,
        default=1,
        metavar="N",
        help="serve in N processes on the one port (uvicorn's workers; default 1); "
        "they share the store, its rate limits and the deliveries",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not deliver in this process (run intakeforms worker elsewhere)",
    )
    add_commands(commands)
    add_admin_commands(commands)
    add_stats_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        try:
            return _main(argv)
        finally:
            # Written out here, not at exit: a reader that left early (``show
            # REF | head``) would make the interpreter's own flush print
            # "Exception ignored … BrokenPipeError" after main has returned.
            # This covers argparse's --help (SystemExit) too.
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader left: not an error worth a traceback. Point stdout at
        # nothing so that nothing left in its buffer is written again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if callable(getattr(args, "run", None)):  # spam, export, erase, purge (cli_privacy)
        return int(args.run(args, sys.stdout, sys.stderr))
    if args.command == "check":
        return _check(args.paths, sys.stdout, sys.stderr)
    if args.command == "serve":
        return _serve(args, sys.stderr)
    if args.command == "preview":
        return _preview(args, sys.stdout, sys.stderr)
    if args.command == "show":
        return run_show(args, sys.stdout, sys.stderr)
    if args.command == "submit":
        return run_submit(args, sys.stdout, sys.stderr)
    if args.command == "worker":
        return run_worker(args, sys.stderr)
    if args.command == "outbox":
        return run_outbox(args, sys.stdout, sys.stderr)
    return _schema(args, sys.stdout, sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
