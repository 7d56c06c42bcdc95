"""``intakeforms stats``: the figures the dashboard shows, on the command line.

Without ``--form``, one line per form (views, starts, submissions,
completion, median time to submit); with ``--form``, the whole figures of
that form (totals, per channel, the funnel per question with its error
codes, the FAQ's). ``--json`` prints ``FormFigures.as_json()`` (a list of
them without ``--form``), ``--csv`` one row per form, or one row per
question with ``--form``. The period is ``--since`` to ``--until``
(UTC days, both included; the last 30 days by default).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, TextIO

from intakeforms.cli_privacy import _run, forms_of
from intakeforms.settings import Settings
from intakeforms.stats import FormFigures, form_figures
from intakeforms.store import Store

__all__ = ["DEFAULT_DAYS", "add_commands", "run_stats"]

#: The days the figures cover when ``--since`` is not given, today included.
DEFAULT_DAYS = 30


def add_commands(commands: Any) -> None:
    """Add ``stats`` to the command line's subcommands."""
    stats = commands.add_parser(
        "stats", help="what visitors did on the forms: views, drop-off, times, FAQ"
    )
    stats.add_argument(
        "--forms",
        action="append",
        required=True,
        metavar="PATH",
        help="the form files or folders the service runs with (repeatable)",
    )
    stats.add_argument("--form", metavar="ID", help="this form's whole figures")
    stats.add_argument(
        "--since",
        metavar="DATE",
        help=f"the first day, YYYY-MM-DD in UTC (default: {DEFAULT_DAYS} days ago, today included)",
    )
    stats.add_argument("--until", metavar="DATE", help="the last day, YYYY-MM-DD (default: today)")
    output = stats.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the figures as JSON")
    output.add_argument("--csv", action="store_true", help="print CSV rows instead of a table")
    stats.add_argument("--store", help="the store URL (else INTAKE_STORE or sqlite:///intake.db)")
    stats.add_argument("--settings", help="a TOML settings file (else INTAKE_SETTINGS)")
    stats.set_defaults(run=run_stats)


def _day(text: str | None, option: str, default: dt.date) -> dt.date:
    if text is None:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date; write YYYY-MM-DD") from None


def run_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the figures of the forms (or one form) over the period."""
    today = dt.datetime.now(dt.UTC).date()
    try:
        until = _day(args.until, "--until", today)
        since = _day(args.since, "--since", until - dt.timedelta(days=DEFAULT_DAYS - 1))
    except ValueError as exc:
        err.write(f"intakeforms stats: {exc}\n")
        return 2
    if until < since:
        err.write(f"intakeforms stats: --until {until} is before --since {since}\n")
        return 2
    found = forms_of(args.forms, err)
    if found is None:
        return 1
    forms = list(found.values())
    if args.form is not None:
        chosen = [form for form in forms if form.id == args.form]
        if not chosen:
            known = ", ".join(sorted(form.id for form in forms)) or "none"
            err.write(f"intakeforms stats: no form {args.form!r} in --forms (there are: {known})\n")
            return 2
        forms = chosen
    if not forms:
        err.write(f"intakeforms stats: no forms found in {', '.join(args.forms)}\n")
        return 1

    async def work(store: Store, settings: Settings) -> int:
        figures = [await form_figures(store, form, since, until) for form in forms]
        if args.json:
            shown: Any = figures[0].as_json() if args.form else [f.as_json() for f in figures]
            out.write(json.dumps(shown, ensure_ascii=False, indent=2) + "\n")
        elif args.csv:
            _csv(out, figures, per_question=args.form is not None)
        elif args.form:
            _one(out, figures[0])
        else:
            _all(out, figures)
        return 0

    return _run(args, err, work)


# -- what is printed --------------------------------------------------------------


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def _table(
    out: TextIO,
    head: Sequence[str],
    rows: Sequence[Sequence[object]],
    left: frozenset[int] = frozenset({0}),
) -> None:
    """Columns as wide as their widest cell: numbers to the right, the
    ``left`` columns (names, texts) to the left."""
    cells = [[str(c) for c in head], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    for row in cells:
        line = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(line).rstrip() + "\n")


def _all(out: TextIO, figures: Sequence[FormFigures]) -> None:
    first = figures[0]
    out.write(f"{first.start} to {first.end} (UTC)\n")
    rows = [
        (
            f.form,
            f.views,
            f.starts,
            f.submissions,
            _percent(f.completion_rate),
            _seconds(f.time_to_submit.median),
        )
        for f in figures
    ]
    _table(out, ("form", "views", "starts", "submissions", "completion", "median time"), rows)


def _one(out: TextIO, f: FormFigures) -> None:
    out.write(f"{f.form}: {f.start} to {f.end} (UTC)\n\n")
    times = f.time_to_submit
    _table(
        out,
        ("", "views", "starts", "submissions", "completion", "median time", "p90 time"),
        [
            (
                "all",
                f.views,
                f.starts,
                f.submissions,
                _percent(f.completion_rate),
                _seconds(times.median),
                _seconds(times.p90),
            ),
            *(
                (name, c.views, c.starts, c.submissions, _percent(c.completion_rate), "", "")
                for name, c in f.by_channel.items()
            ),
        ],
    )
    out.write("\n")
    _table(
        out,
        ("question", "reached", "answered", "errors", "dropped", "error codes"),
        [
            (q.field, q.reached, q.answered, q.errors, q.dropped, _codes(q.codes) or "-")
            for q in f.fields
        ],
        left=frozenset({0, 5}),
    )
    faq = f.faq
    out.write(f"\nFAQ: {faq.searches} searches, {faq.helpful} helpful, {faq.deflected} deflected\n")
    if faq.no_answer:
        out.write("no good answer:\n")
        width = max(len(str(n)) for _, n in faq.no_answer)
        for query, count in faq.no_answer:
            out.write(f"  {count:>{width}}  {query}\n")


def _codes(codes: Any) -> str:
    return ", ".join(f"{code} {n}" for code, n in codes.items())


def _csv(out: TextIO, figures: Sequence[FormFigures], *, per_question: bool) -> None:
    writer = csv.writer(out, lineterminator="\n")
    if not per_question:
        writer.writerow(
            (
                "form",
                "from",
                "to",
                "views",
                "starts",
                "submissions",
                "completion_rate",
                "median_seconds",
                "p90_seconds",
            )
        )
        for f in figures:
            writer.writerow(
                (
                    f.form,
                    f.start,
                    f.end,
                    f.views,
                    f.starts,
                    f.submissions,
                    f.completion_rate,
                    _blank(f.time_to_submit.median),
                    _blank(f.time_to_submit.p90),
                )
            )
        return
    f = figures[0]
    writer.writerow(
        ("form", "from", "to", "field", "reached", "answered", "errors", "dropped", "codes")
    )
    for q in f.fields:
        codes = ";".join(f"{code}:{n}" for code, n in q.codes.items())
        writer.writerow(
            (f.form, f.start, f.end, q.field, q.reached, q.answered, q.errors, q.dropped, codes)
        )


def _blank(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
