"""``intakeforms link``: links that open a form with answers given.

One link from ``--set FIELD=VALUE`` items, or one per row of a CSV file of
customers (a service-reminder campaign), printed one URL a line in the
rows' order. Every value is checked like an answer first; when any row does
not fit, every such row is named and nothing is printed, so a mailing is
never made from half a list. Links are signed with ``INTAKE_SECRET``, the
secret the service verifies them with: without it, the command refuses.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import difflib
import functools
import itertools
import multiprocessing
import os
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TextIO

from intakeforms.errors import FormError, InvalidAnswers, SettingsError
from intakeforms.fields.registry import TYPES
from intakeforms.form import Form
from intakeforms.links import LinkMaker, parse_duration
from intakeforms.load import load_form
from intakeforms.settings import load_settings

__all__ = ["add_commands", "run_link"]

#: Rows with errors listed before the rest are only counted.
SHOWN_ROW_ERRORS = 20
_BASE_URL = re.compile(r"https?://[^/?#\s@]+(?:/[^?#\s]*)?", re.IGNORECASE)


def add_commands(commands: Any) -> None:
    """Add ``link`` to the command line's subcommands."""
    link = commands.add_parser(
        "link",
        help="print a link that opens a form with answers given (--csv: one per customer)",
        description="Print a signed link that opens FORM_FILE's form with the given answers. "
        "Signed with INTAKE_SECRET: the service must have the same secret.",
    )
    link.add_argument("file", metavar="FORM_FILE", help="the form file")
    link.add_argument(
        "--set",
        dest="values",
        action="extend",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE",
        help="an answer the link gives (with --csv: to every row); several choices of a "
        "multichoice question comma-separated",
    )
    link.add_argument(
        "--lock",
        action="extend",
        nargs="+",
        default=[],
        metavar="FIELD",
        help="given answers the customer sees but cannot change",
    )
    link.add_argument("--expires", metavar="DURATION", help="valid for 30s, 15m, 12h or 7d")
    link.add_argument("--once", action="store_true", help="each link can be sent only once")
    link.add_argument(
        "--base-url",
        metavar="URL",
        help="the service's address, like https://forms.example.com (else INTAKE_PUBLIC_URL)",
    )
    link.add_argument(
        "--csv",
        metavar="FILE",
        help="customers, a header row naming questions: one link per row, in order",
    )
    link.add_argument("--settings", help="a TOML settings file (else INTAKE_SETTINGS)")
    link.set_defaults(run=run_link)


class _Refused(Exception):
    """The command cannot go on; ``status`` is its exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        self.status = status
        super().__init__(message)


def _fixed(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, item in enumerate(items, 1):
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise _Refused(f"--set item {number} is not FIELD=VALUE")
        values[name.strip()] = value
    return values


def _splitter(form: Form) -> set[str]:
    """The questions whose answer is a list: a cell gives it comma-separated."""
    prepared = form.analysis.prepared
    return {
        name
        for name, question in form.fields.items()
        if TYPES[question.type].schema(question, prepared.get(name)).get("type") == "array"
    }


def _values(given: Mapping[str, str], lists: set[str]) -> dict[str, Any]:
    return {
        name: [part.strip() for part in value.split(",") if part.strip()]
        if name in lists
        else value
        for name, value in given.items()
    }


def _unknown(form: Form, name: str) -> str:
    close = difflib.get_close_matches(name, list(form.fields), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{name!r} is not a question of {form.id}{hint}; the questions are " + ", ".join(
        form.fields
    )


def _rows(path: str) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file numbered as a spreadsheet shows them (the header
    is row 1); a comma, semicolon or tab between cells, as the header shows."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
            delimiter = max(",;\t", key=first.count)
            lines = itertools.chain([first], handle)
            yield from enumerate(csv.reader(lines, delimiter=delimiter), 1)
    except OSError as exc:
        raise _Refused(f"cannot read {path}: {exc.strerror or exc}", 1) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _Refused(f"{path} is not a UTF-8 CSV file: {exc}", 1) from None


def _header(form: Form, path: str, row: list[str], fixed: Mapping[str, str]) -> list[str]:
    names = [cell.strip() for cell in row]
    if not any(names):
        raise _Refused(f"{path} is empty; its first row names the questions", 1)
    problems = []
    for position, name in enumerate(names, 1):
        if not name:
            problems.append(f"column {position} has no name")
        elif name not in form.fields:
            problems.append(f"column {_unknown(form, name)}")
        elif name in fixed:
            problems.append(f"column {name!r} is given by --set too; give it one way")
        elif names.index(name) != position - 1:
            problems.append(f"column {name!r} appears twice")
    if problems:
        raise _Refused("\n".join(f"{path} row 1: {p}" for p in problems), 1)
    return names


#: Fewer rows are checked and signed in this process; more are shared out
#: among processes (checking an email address is most of a row's cost).
PARALLEL_FROM = 10_000
_CHUNK = 2_000
#: The link maker of a campaign's worker processes, inherited when they fork.
_MAKER: LinkMaker | None = None


def _sign(
    rows: list[tuple[int, dict[str, Any]]],
    lock: tuple[str, ...],
    expires: dt.timedelta | None,
    once: bool,
    now: dt.datetime,
) -> list[tuple[int, str, list[str]]]:
    """Each row's link, or the problems with its values, with its number."""
    assert _MAKER is not None
    done: list[tuple[int, str, list[str]]] = []
    for number, values in rows:
        try:
            link = _MAKER.link(values, lock=lock, expires=expires, once=once, now=now)
        except InvalidAnswers as exc:
            done.append((number, "", [f"{e.field}: {e.message} ({e.code})" for e in exc.errors]))
        except ValueError as exc:
            done.append((number, "", [str(exc)]))
        else:
            done.append((number, link, []))
    return done


def _sign_all(
    maker: LinkMaker,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    lock: tuple[str, ...],
    expires: dt.timedelta | None,
    once: bool,
    now: dt.datetime,
) -> Iterator[tuple[int, str, list[str]]]:
    """:func:`_sign` over every row, in order; in several processes when
    there are many rows and this system can fork."""
    global _MAKER
    _MAKER = maker
    work = functools.partial(_sign, lock=lock, expires=expires, once=once, now=now)
    processes = min(os.cpu_count() or 1, 8)
    # Forked workers inherit the maker (and its secret) without it being
    # sent anywhere; fork is safe only while this process has one thread.
    if (
        len(rows) < PARALLEL_FROM
        or processes < 2
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        yield from work(rows)
        return
    chunks = [rows[i : i + _CHUNK] for i in range(0, len(rows), _CHUNK)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        for done in pool.map(work, chunks):
            yield from done


def _campaign(
    args: argparse.Namespace,
    form: Form,
    maker: LinkMaker,
    fixed: Mapping[str, str],
    expires: dt.timedelta | None,
) -> list[str]:
    lists = _splitter(form)
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: dict[int, list[str]] = {}
    header = None
    for number, row in _rows(args.csv):
        if header is None:
            header = _header(form, args.csv, row, fixed)
        elif not any(cell.strip() for cell in row):
            continue  # an empty line, as spreadsheets leave at the end
        elif len(row) != len(header):
            problems[number] = [f"{len(row)} cells where the header names {len(header)} columns"]
        else:
            rows.append((number, _values({**fixed, **dict(zip(header, row, strict=True))}, lists)))
    if header is None:
        raise _Refused(f"{args.csv} is empty; its first row names the questions", 1)
    now = dt.datetime.now(dt.UTC)  # one expiry time for the whole campaign
    links: list[str] = []
    signed = _sign_all(maker, rows, lock=tuple(args.lock), expires=expires, once=args.once, now=now)
    for number, link, found in signed:
        if found:
            problems[number] = found
        else:
            links.append(link)
    if problems:
        errors = [
            f"{args.csv} row {number}: {problem}"
            for number in sorted(problems)[:SHOWN_ROW_ERRORS]
            for problem in problems[number]
        ]
        if len(problems) > SHOWN_ROW_ERRORS:
            errors.append(f"... and {len(problems) - SHOWN_ROW_ERRORS} more row(s) with errors")
        errors.append(f"{len(problems)} row(s) do not fit {form.id}; no links were printed")
        raise _Refused("\n".join(errors), 1)
    return links


def _link(args: argparse.Namespace, err: TextIO) -> list[str]:
    try:
        settings = load_settings(file=args.settings)
    except SettingsError as exc:
        raise _Refused(str(exc)) from None
    if settings.secret_is_random:
        raise _Refused(
            "INTAKE_SECRET is not set. Links are signed with it, and the service verifies "
            "them with the same secret: set INTAKE_SECRET (or secret in the settings file) "
            "to the service's secret and run again. A secret made up now would make links "
            "that no service accepts."
        )
    try:
        form = load_form(args.file)
    except FormError as exc:
        for problem in exc.problems:  # file:line:col, as editors read them
            err.write(f"{problem}\n")
        raise _Refused("", 1) from None
    fixed = _fixed(args.values)
    for name in fixed:
        if name not in form.fields:
            raise _Refused(f"--set: {_unknown(form, name)}")
    for name in args.lock:
        if name not in form.fields:
            raise _Refused(f"--lock: {_unknown(form, name)}")
    try:
        expires = parse_duration(args.expires) if args.expires else None
    except ValueError as exc:
        raise _Refused(f"--expires: {exc}") from None
    base_url = args.base_url or settings.public_url or ""
    if args.base_url and not _BASE_URL.fullmatch(args.base_url):
        raise _Refused(
            "--base-url: write the service's address with https:// and the host, "
            "like https://forms.example.com"
        )
    if not base_url:
        err.write(
            "warning: no --base-url and no INTAKE_PUBLIC_URL: the links start with /forms/; "
            "put the service's address in front before sending them\n"
        )
    maker = LinkMaker(form, secret=settings.secret, base_url=base_url)
    if args.csv:
        return _campaign(args, form, maker, fixed, expires)
    try:
        return [
            maker.link(
                _values(fixed, _splitter(form)), lock=args.lock, expires=expires, once=args.once
            )
        ]
    except InvalidAnswers as exc:
        raise _Refused(
            "\n".join(f"{e.field}: {e.message} ({e.code})" for e in exc.errors), 1
        ) from None
    except ValueError as exc:
        raise _Refused(str(exc), 1) from None


def run_link(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the link, or one per CSV row; 1 when a value does not fit, 2 for
    a usage or settings problem (INTAKE_SECRET unset among them)."""
    try:
        links = _link(args, err)
    except _Refused as exc:
        for line in str(exc).splitlines():
            err.write(f"intakeforms link: {line}\n")
        return exc.status
    out.write("\n".join(links) + "\n")
    return 0
