"""What a SQLite failure means for whoever runs the service, and the fix.

SQLite names each failure (``sqlite_errorname``, like ``SQLITE_BUSY``); the
store turns that name into advice. Kept apart from the connection code so
each file holds one idea, like ``postgres_errors.py`` for PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3

from intakeforms.errors import StoreUnavailable
from intakeforms.store.dialect import message

__all__ = ["error_name", "message", "unavailable", "worth_saving_alone"]

# Failures that say nothing about the rows being written: the database as a
# whole cannot be written now, so saving the rows of a batch one by one
# would only fail each of them again (after waiting the busy timeout each).
_WHOLE_DATABASE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_PERM",
    "SQLITE_AUTH",
)


def worth_saving_alone(exc: BaseException) -> bool:
    """Whether a batch that failed with ``exc`` is worth saving row by row.

    True for failures that may belong to one row (the disk filled up while
    writing a large one, an error SQLite answered by rolling back the whole
    transaction); False when the database itself cannot be written, or the
    store is closed or its file gone.
    """
    cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
    if isinstance(exc, StoreUnavailable) and not isinstance(cause, sqlite3.Error):
        return False  # closed, or the file deleted: nothing to do with rows
    return not error_name(cause).startswith(_WHOLE_DATABASE)


def error_name(exc: BaseException | None) -> str:
    """SQLite's name of the failure, like ``SQLITE_BUSY``, or ""."""
    return str(getattr(exc, "sqlite_errorname", "") or "")


def unavailable(
    database: str, exc: sqlite3.Error, *, read_only: bool, busy_timeout: float
) -> StoreUnavailable:
    """What went wrong, in words that say what to do about it."""
    name = error_name(exc)
    folder = os.path.dirname(database) or "."
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        problem = (
            f"another connection kept it locked for more than {busy_timeout:g} s; "
            "retry, look for a process holding a long transaction (an open sqlite3 "
            "shell?), or raise the wait with ?timeout=SECONDS in INTAKE_STORE"
        )
    elif name.startswith("SQLITE_READONLY") and read_only:
        problem = "it was opened read-only (mode=ro in INTAKE_STORE); drop mode=ro to write"
    elif name.startswith("SQLITE_READONLY"):
        problem = (
            "it is read-only; let the service's user write the file and its folder "
            f"{folder} (SQLite keeps -wal and -shm files beside it)"
        )
    elif name.startswith("SQLITE_CANTOPEN"):
        problem = (
            f"it cannot be opened; check that the folder {folder} exists and that "
            "the service's user may create and write files in it"
        )
    elif name == "SQLITE_FULL":
        problem = f"the disk holding {folder} is full; free some space there"
    elif name == "SQLITE_NOTADB":
        problem = "the file is not a SQLite database; point INTAKE_STORE at another file"
    elif name.startswith("SQLITE_CORRUPT"):
        problem = (
            "the database is damaged; stop the service, keep a copy of the file, "
            "and rescue it with the sqlite3 shell's .recover command"
        )
    elif name.startswith("SQLITE_IOERR"):
        problem = "reading or writing the disk failed; check the disk and its filesystem"
    else:
        problem = "the database failed"
    return StoreUnavailable(message(database, f"{problem} (SQLite: {exc})"))
