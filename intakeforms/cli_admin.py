"""``intakeforms admin``: the staff who may sign in to the staff pages.

``add-user NAME`` reads the password from the first line of standard input
(or asks twice on a terminal, without echo), so it never shows in the
shell's history or the process list; it is kept as an argon2 hash.
``remove-user NAME`` also ends their sessions at once. ``users`` lists the
accounts, ``log`` what staff did (``--json`` for scripts). What the
commands change goes to the admin log as done by ``(cli)``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, TextIO

from intakeforms.cli_privacy import _run
from intakeforms.settings import Settings
from intakeforms.store import Store
from intakeforms.store.staff import STAFF_NAME

__all__ = [
    "CLI_STAFF",
    "add_commands",
    "run_add_user",
    "run_log",
    "run_remove_user",
    "run_users",
]

#: Who the admin log names for what these commands did (never an account's
#: name: parentheses are not allowed in one).
CLI_STAFF = "(cli)"


def add_commands(commands: Any) -> None:
    """Add ``admin add-user|remove-user|users|log`` to the command line."""
    admin = commands.add_parser("admin", help="staff who may sign in to /admin, and their log")
    actions = admin.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add-user", help="add a member of staff; the password is the first line of stdin"
    )
    add.add_argument("name", metavar="NAME", help="1 to 64 of a-z 0-9 . _ @ - (an email fits)")
    add.set_defaults(run=run_add_user)
    remove = actions.add_parser("remove-user", help="remove a member of staff, ending sessions")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=run_remove_user)
    users = actions.add_parser("users", help="list the staff accounts")
    users.add_argument("--json", action="store_true", help="print a JSON list")
    users.set_defaults(run=run_users)
    log = actions.add_parser("log", help="what staff did, newest first")
    log.add_argument("--limit", type=int, default=50, help="how many entries (default 50)")
    log.add_argument("--json", action="store_true", help="print a JSON list")
    log.set_defaults(run=run_log)
    for parser in (add, remove, users, log):
        parser.add_argument(
            "--store", help="the store URL (else INTAKE_STORE or sqlite:///intake.db)"
        )
        parser.add_argument("--settings", help="a TOML settings file (else INTAKE_SETTINGS)")


def _read_password(err: TextIO) -> str | None:
    """The password: asked twice on a terminal, else stdin's first line."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("The same again: ") != first:
            err.write("intakeforms admin add-user: the two passwords differ; nothing was added\n")
            return None
        return first
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def run_add_user(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Add a staff account with the password read from stdin."""
    name = args.name
    if not STAFF_NAME.fullmatch(name):
        err.write(
            f"intakeforms admin add-user: {name!r} is not a staff name; use 1 to 64 of "
            "a-z 0-9 . _ @ - (lower case), e.g. anna or anna.virtanen@example.fi\n"
        )
        return 2
    # Imported here: passwords are the web service's, and only this command
    # of the command line needs them.
    from intakeforms.web.admin_auth import MAX_PASSWORD, MIN_PASSWORD, hash_password

    password = _read_password(err)
    if password is None:
        return 2
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        err.write(
            f"intakeforms admin add-user: the password must be {MIN_PASSWORD} to "
            f"{MAX_PASSWORD} characters long (a few words make a good one); "
            "give it as the first line of stdin, e.g. from a password manager\n"
        )
        return 2
    hashed = hash_password(password)

    async def work(store: Store, settings: Settings) -> int:
        if not await store.add_staff(name, hashed):
            err.write(
                f"intakeforms admin add-user: there is already a staff account {name!r}; "
                f"to give it a new password, run intakeforms admin remove-user {name} first\n"
            )
            return 1
        await store.log_admin_action(CLI_STAFF, "staff.add", name)
        out.write(f"added {name}: they can sign in at /admin/login\n")
        return 0

    return _run(args, err, work)


def run_remove_user(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Remove a staff account; their sessions end with it."""

    async def work(store: Store, settings: Settings) -> int:
        if not await store.remove_staff(args.name):
            err.write(f"intakeforms admin remove-user: there is no staff account {args.name!r}\n")
            return 1
        await store.log_admin_action(CLI_STAFF, "staff.remove", args.name)
        out.write(f"removed {args.name}; their sessions have ended\n")
        return 0

    return _run(args, err, work)


def _when(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def run_users(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List the staff accounts: name, added, last signed in."""

    async def work(store: Store, settings: Settings) -> int:
        accounts = await store.staff_accounts()
        rows = [
            {
                "name": a.name,
                "created_at": _when(a.created_at),
                "last_login_at": _when(a.last_login_at),
            }
            for a in accounts
        ]
        if args.json:
            out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        elif not rows:
            err.write("no staff accounts; add one with intakeforms admin add-user NAME\n")
        else:
            width = max(len(row["name"] or "") for row in rows)
            out.write(f"{'name':<{width}}  {'added':<25}  last signed in\n")
            for row in rows:
                last = row["last_login_at"] or "never"
                out.write(f"{row['name']:<{width}}  {row['created_at']:<25}  {last}\n")
        return 0

    return _run(args, err, work)


def run_log(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the admin log, newest first."""
    if args.limit < 1:
        err.write("intakeforms admin log: --limit must be at least 1\n")
        return 2

    async def work(store: Store, settings: Settings) -> int:
        entries = await store.admin_log(limit=args.limit)
        if args.json:
            rows = [
                {
                    "at": _when(e.at),
                    "staff": e.staff,
                    "action": e.action,
                    "target": e.target,
                    "detail": e.detail,
                }
                for e in entries
            ]
            out.write(json.dumps(rows, ensure_ascii=False) + "\n")
            return 0
        if not entries:
            err.write("the admin log is empty\n")
        for e in entries:
            who = e.staff or "?"  # a failed sign-in with a name that has no account
            parts = [_when(e.at) or "", who, e.action, e.target or "", e.detail or ""]
            out.write("  ".join(parts).rstrip() + "\n")
        return 0

    return _run(args, err, work)
