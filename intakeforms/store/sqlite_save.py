"""How the SQLite store writes a batch of submissions in one transaction.

Saves that arrive while another batch is being written wait and are then
committed together (a group commit, see :meth:`SqliteStore.save`). Each row
of a batch has a savepoint of its own, so a row that fails is rolled back
alone and every other row of the batch is committed: one bad submission can
never cost other customers their save.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from intakeforms.errors import StoreUnavailable
from intakeforms.store import base
from intakeforms.store.base import NewSubmission, SaveResult
from intakeforms.store.sqlite_errors import error_name, message
from intakeforms.store.sqlite_queries import transaction
from intakeforms.store.storable import UnstorableSubmission, spam_reason

__all__ = ["Waiting", "row_error", "save_batch"]

# How many fresh references to try before giving up; with 32**6 references per
# prefix, even one collision is rare, so ten in a row means something is broken.
REFERENCE_TRIES = 10


class _NoFreeReference(Exception):
    """Ten fresh references in a row were taken: the random source is broken."""


@dataclass(eq=False)
class Waiting:
    """One save waiting for its batch to be committed."""

    submission: NewSubmission
    data: str
    done: anyio.Event = field(default_factory=anyio.Event)
    result: SaveResult | None = None
    error: Exception | None = None


def save_batch(
    c: sqlite3.Connection,
    batch: list[Waiting],
    now: str,
    database: str,
    unavailable: Callable[[sqlite3.Error], StoreUnavailable],
) -> None:
    """Write every save of ``batch`` in one transaction, each in a savepoint.

    A row that fails gets its error and leaves the others whole. Raises
    only when the transaction as a whole failed (it could not begin, SQLite
    rolled all of it back, or the commit failed): then nothing was written.
    """
    with transaction(c):
        for waiting in batch:
            c.execute("SAVEPOINT one_save")
            try:
                waiting.result = _save(c, waiting.submission, waiting.data, now)
            except Exception as exc:
                if not c.in_transaction:
                    raise  # SQLite rolled back everything itself (a full disk, I/O)
                c.execute("ROLLBACK TO one_save")
                c.execute("RELEASE one_save")
                waiting.result, waiting.error = None, row_error(exc, database, unavailable)
                continue
            c.execute("RELEASE one_save")


def row_error(
    exc: BaseException,
    database: str,
    unavailable: Callable[[sqlite3.Error], StoreUnavailable],
) -> Exception:
    """The error one save gets for ``exc``: what the caller can act on, and
    never the answers (an exception's text may quote them)."""
    if isinstance(exc, StoreUnavailable | UnstorableSubmission):
        return exc
    if isinstance(exc, _NoFreeReference):
        return StoreUnavailable(
            message(
                database,
                f"no free reference for prefix {exc} after {REFERENCE_TRIES} tries; "
                "the random source repeats itself",
            )
        )
    if isinstance(exc, sqlite3.Error):
        if error_name(exc) == "SQLITE_TOOBIG":
            return UnstorableSubmission(
                "", "too_large", "the submission cannot be stored: it is larger than SQLite allows"
            )
        return unavailable(exc)
    if isinstance(exc, UnicodeError):
        return UnstorableSubmission(
            "", "lone_surrogate", "the submission cannot be stored: a text is not valid Unicode"
        )
    if isinstance(exc, OverflowError):
        return UnstorableSubmission(
            "", "too_large", "the submission cannot be stored: a number is too large for SQLite"
        )
    return StoreUnavailable(
        message(database, f"the save failed unexpectedly ({type(exc).__name__})")
    )


def _save(c: sqlite3.Connection, new: NewSubmission, data: str, now: str) -> SaveResult:
    if new.idempotency_key is not None:
        seen = c.execute(
            "SELECT reference FROM idempotency_keys WHERE form = ? AND idempotency_key = ?",
            (new.form, new.idempotency_key),
        ).fetchone()
        if seen is not None:
            return SaveResult(seen[0], created=False)
    reference = _insert_submission(c, new, data, now)
    c.executemany(
        "INSERT INTO submission_files"
        " (reference, position, field, name, content_type, size, path)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (reference, i, f.field, f.name, f.content_type, f.size, f.path)
            for i, f in enumerate(new.files)
        ],
    )
    if not new.spam:  # spam is quarantined: kept for review, never delivered
        c.executemany(
            "INSERT INTO outbox"
            " (reference, target, next_attempt_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(reference, target, now, now, now) for target in new.targets],
        )
    if new.idempotency_key is not None:
        c.execute(
            "INSERT INTO idempotency_keys (form, idempotency_key, reference, created_at)"
            " VALUES (?, ?, ?, ?)",
            (new.form, new.idempotency_key, reference, now),
        )
    return SaveResult(reference, created=True)


def _insert_submission(c: sqlite3.Connection, new: NewSubmission, data: str, now: str) -> str:
    for _ in range(REFERENCE_TRIES):
        reference = base.new_reference(new.reference_prefix)
        inserted = c.execute(
            "INSERT INTO submissions (reference, form, form_version, locale, data, spam,"
            " client, submitted_at, spam_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (reference) DO NOTHING",
            (
                reference,
                new.form,
                new.form_version,
                new.locale,
                data,
                int(new.spam),
                new.client,
                now,
                spam_reason(new),
            ),
        ).rowcount
        if inserted == 1:
            return reference
    raise _NoFreeReference(new.reference_prefix)
