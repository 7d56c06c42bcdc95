"""How the SQLite store writes a batch of submissions in one transaction.

Saves that arrive while another batch is being written wait and are then
committed together (a group commit, see :meth:`SqliteStore.save`). Each
save of a batch is the shared :func:`~intakeforms.store.submissions.save`
in a savepoint of its own, so a save that fails is rolled back alone and
every other save of the batch is committed: one bad submission can never
cost other customers their save.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from intakeforms.errors import StoreUnavailable
from intakeforms.store import submissions
from intakeforms.store.records import NewSubmission, SaveResult
from intakeforms.store.sqlite_dialect import SqliteSession
from intakeforms.store.sqlite_errors import message
from intakeforms.store.storable import UnstorableSubmission

__all__ = ["Waiting", "row_error", "save_batch"]


@dataclass(eq=False)
class Waiting:
    """One save waiting for its batch to be committed."""

    submission: NewSubmission
    data: str
    done: anyio.Event = field(default_factory=anyio.Event)
    result: SaveResult | None = None
    error: Exception | None = None


async def save_batch(
    s: SqliteSession,
    batch: list[Waiting],
    now: dt.datetime,
    unavailable: Callable[[sqlite3.Error], StoreUnavailable],
) -> None:
    """Write every save of ``batch`` in one transaction, each in a savepoint.

    A save that fails gets its error and leaves the others whole. Raises
    only when the transaction as a whole failed (it could not begin, SQLite
    rolled all of it back, or the commit failed): then nothing was written.
    """
    async with s.transaction():
        for waiting in batch:
            try:
                waiting.result = await submissions.save(s, waiting.submission, waiting.data, now)
            except Exception as exc:
                if not s.in_transaction:
                    raise  # SQLite rolled back everything itself (a full disk, I/O)
                waiting.result, waiting.error = None, row_error(exc, s.database, unavailable)


def row_error(
    exc: BaseException,
    database: str,
    unavailable: Callable[[sqlite3.Error], StoreUnavailable],
) -> Exception:
    """The error one save gets for ``exc``: what the caller can act on, and
    never the answers (an exception's text may quote them)."""
    if isinstance(exc, StoreUnavailable | UnstorableSubmission):
        return exc
    if isinstance(exc, sqlite3.Error):
        return unavailable(exc)
    return StoreUnavailable(
        message(database, f"the save failed unexpectedly ({type(exc).__name__})")
    )
