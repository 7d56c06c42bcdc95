"""``intakeforms faq gaps``: what customers ask that the FAQ does not answer.

The searches with no good answer, grouped by their words (case and spacing
aside), most frequent first: the entries worth writing next. Query text is
kept 30 days (``FAQ_QUERY_DAYS``), so the window is at most that.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any, TextIO

from intakeforms.cli_privacy import _run
from intakeforms.settings import Settings
from intakeforms.store import FAQ_QUERY_DAYS, Store

__all__ = ["add_commands", "run_gaps"]


def add_commands(commands: Any) -> None:
    """Add ``faq gaps`` to the command line's subcommands."""
    faq = commands.add_parser("faq", help="what the FAQ answers and what it does not")
    actions = faq.add_subparsers(dest="action", required=True)
    gaps = actions.add_parser(
        "gaps", help="the most frequent searches with no good answer (entries to write next)"
    )
    gaps.add_argument(
        "--days",
        type=int,
        default=FAQ_QUERY_DAYS,
        help=f"how many days back (at most {FAQ_QUERY_DAYS}: older query text is blanked)",
    )
    gaps.add_argument("--limit", type=int, default=20, help="how many queries to list")
    gaps.add_argument("--json", action="store_true", help='print [{"q", "count"}] as JSON')
    gaps.add_argument("--store", help="the store URL (else INTAKE_STORE or sqlite:///intake.db)")
    gaps.add_argument("--settings", help="a TOML settings file (else INTAKE_SETTINGS)")
    gaps.set_defaults(run=run_gaps)


def run_gaps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the queries with no good answer, most frequent first."""
    if not 1 <= args.days <= FAQ_QUERY_DAYS or args.limit < 1:
        err.write(
            f"intakeforms faq gaps: --days must be from 1 to {FAQ_QUERY_DAYS} "
            "and --limit at least 1\n"
        )
        return 2

    async def work(store: Store, settings: Settings) -> int:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)
        gaps = await store.faq_gaps(since, limit=args.limit)
        if args.json:
            out.write(json.dumps([{"q": q, "count": n} for q, n in gaps], ensure_ascii=False))
            out.write("\n")
        elif not gaps:
            err.write(f"no searches without a good answer in the last {args.days} day(s)\n")
        else:
            width = max(len(str(n)) for _, n in gaps)
            for query, count in gaps:
                out.write(f"{count:>{width}}  {query}\n")
        return 0

    return _run(args, err, work)
