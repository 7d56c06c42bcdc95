"""The SQLite store's spam review, erasure and retention, in SQL.

Plain functions of a :class:`sqlite3.Connection`, run by
:class:`~intakeforms.store.SqliteStore` on its worker thread; the
PostgreSQL store has the same in ``postgres_privacy.py``.

Erased text must not stay readable in the files. The store's connections
run with ``PRAGMA secure_delete = ON``, so SQLite overwrites with zeros
whatever a DELETE or UPDATE frees, freed pages included. In WAL mode the
old pages also live on in the ``-wal`` file until a checkpoint copies the
new ones into the database, so :func:`forget` checkpoints and truncates the
WAL after every erasure (``PRAGMA wal_checkpoint(TRUNCATE)``).
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Sequence

from intakeforms.store.base import PurgeResult, SpamEntry, StoredFile, StoredSubmission
from intakeforms.store.sqlite_queries import read_submission, transaction
from intakeforms.store.sqlite_schema import parse_timestamp, timestamp

__all__ = [
    "PURGE_CHUNK",
    "delete_spam",
    "erase",
    "forget",
    "purge_step",
    "release",
    "spam_list",
]

logger = logging.getLogger("intakeforms.store")

#: Submissions one purge transaction handles at most, so that saves (in
#: this process and others) wait for the write lock only briefly.
PURGE_CHUNK = 200

# What erasing a submission does to its rows (see Store.erase).
_ERASE = (
    "UPDATE submissions SET data = '{}', client = NULL, erased_at = :now"
    " WHERE reference = :reference",
    "DELETE FROM submission_files WHERE reference = :reference",
    "DELETE FROM idempotency_keys WHERE reference = :reference",
    # Nothing is sent after an erasure: a job not delivered yet is given up.
    "UPDATE outbox SET receipt = NULL, recipient_hash = NULL, lease_until = NULL,"
    " last_error = CASE WHEN status = 'delivered' THEN NULL ELSE 'erased' END,"
    " status = CASE WHEN status = 'delivered' THEN status ELSE 'dead' END,"
    " updated_at = :now WHERE reference = :reference",
)


def spam_list(c: sqlite3.Connection, form: str | None, limit: int) -> list[SpamEntry]:
    """Up to ``limit`` quarantined submissions not erased, newest first."""
    rows = c.execute(
        "SELECT reference, form, submitted_at, spam_reason FROM submissions"
        " WHERE spam = 1 AND erased_at IS NULL AND (:form IS NULL OR form = :form)"
        " ORDER BY submitted_at DESC, reference DESC LIMIT :limit",
        {"form": form, "limit": limit},
    ).fetchall()
    return [SpamEntry(row[0], row[1], parse_timestamp(row[2]), row[3]) for row in rows]


def release(
    c: sqlite3.Connection, reference: str, targets: Sequence[str], now: dt.datetime
) -> bool:
    """No longer spam, with a pending job per target due now; False if it was
    not quarantined spam (or was erased), changing nothing."""
    at = timestamp(now)
    with transaction(c):
        changed = c.execute(
            "UPDATE submissions SET spam = 0, spam_reason = ''"
            " WHERE reference = ? AND spam = 1 AND erased_at IS NULL",
            (reference,),
        ).rowcount
        if changed != 1:
            return False
        c.executemany(
            "INSERT INTO outbox (reference, target, next_attempt_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (reference, target) DO NOTHING",
            [(reference, target, at, at, at) for target in targets],
        )
    return True


def delete_spam(c: sqlite3.Connection, reference: str) -> StoredSubmission | None:
    """Delete a quarantined submission (its rows go with it); it as it was."""
    with transaction(c):
        found = read_submission(c, reference)
        if found is None or not found.spam:
            return None
        c.execute("DELETE FROM submissions WHERE reference = ? AND spam = 1", (reference,))
    return found


def erase(c: sqlite3.Connection, reference: str, now: dt.datetime) -> StoredSubmission | None:
    """Erase one submission's answers (see ``Store.erase``); it as it was."""
    with transaction(c):
        found = read_submission(c, reference)
        if found is not None and not found.erased:
            _erase(c, [reference], now)
    return found


def _erase(c: sqlite3.Connection, references: Sequence[str], now: dt.datetime) -> None:
    values = [{"reference": reference, "now": timestamp(now)} for reference in references]
    for statement in _ERASE:
        c.executemany(statement, values)


def purge_step(
    c: sqlite3.Connection,
    delivered_before: dt.datetime | None,
    spam_before: dt.datetime,
    clients_before: dt.datetime,
    now: dt.datetime,
) -> tuple[PurgeResult, bool]:
    """One transaction of :meth:`Store.purge`: up to :data:`PURGE_CHUNK`
    submissions erased, else deleted as spam, else cleared of their client
    address; with True when there may be more to do."""
    with transaction(c):
        if delivered_before is not None:
            references = _column(
                c,
                "SELECT reference FROM submissions"
                " WHERE spam = 0 AND erased_at IS NULL AND submitted_at < :before"
                " AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.reference ="
                " submissions.reference AND outbox.status <> 'delivered')"
                " ORDER BY submitted_at LIMIT :chunk",
                delivered_before,
            )
            if references:
                files = _files_of(c, references)
                _erase(c, references, now)
                return PurgeResult(erased=len(references), files=files), True
        references = _column(
            c,
            "SELECT reference FROM submissions WHERE spam = 1 AND submitted_at < :before"
            " ORDER BY submitted_at LIMIT :chunk",
            spam_before,
        )
        if references:
            files = _files_of(c, references)
            c.executemany("DELETE FROM submissions WHERE reference = ?", [(r,) for r in references])
            return PurgeResult(deleted_spam=len(references), files=files), True
        cleared = c.execute(
            "UPDATE submissions SET client = NULL WHERE reference IN (SELECT reference"
            " FROM submissions WHERE client IS NOT NULL AND submitted_at < :before"
            " LIMIT :chunk)",
            {"before": timestamp(clients_before), "chunk": PURGE_CHUNK},
        ).rowcount
        if cleared:
            return PurgeResult(clients_cleared=cleared), True
        c.execute("DELETE FROM rate_hits WHERE expires_at < ?", (now.timestamp(),))
    return PurgeResult(), False


def _column(c: sqlite3.Connection, query: str, before: dt.datetime) -> list[str]:
    rows = c.execute(query, {"before": timestamp(before), "chunk": PURGE_CHUNK}).fetchall()
    return [row[0] for row in rows]


def _files_of(c: sqlite3.Connection, references: Sequence[str]) -> tuple[StoredFile, ...]:
    files: list[StoredFile] = []
    for reference in references:
        rows = c.execute(
            "SELECT field, name, content_type, size, path FROM submission_files"
            " WHERE reference = ? ORDER BY position",
            (reference,),
        ).fetchall()
        files += (StoredFile(*row) for row in rows)
    return tuple(files)


def forget(c: sqlite3.Connection, database: str) -> None:
    """Copy the erased pages into the database file and empty the WAL, so
    the old pages are no longer in the ``-wal`` file.

    The checkpoint waits (up to the busy timeout) for readers still using
    old pages; when one outlasts it, the WAL keeps them until the next
    checkpoint, and a warning says so.
    """
    busy, _, _ = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        logger.warning(
            "the store %s could not empty its -wal file after an erasure: another "
            "connection kept reading; the erased text stays in %s-wal until the next "
            "checkpoint (the next erasure, purge, or when every connection closes)",
            database,
            database,
        )
