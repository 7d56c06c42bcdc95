"""The SQLite store's SQL: transactions, reads, and the outbox job transitions.

Plain functions of a :class:`sqlite3.Connection`, run by
:class:`~intakeforms.store.SqliteStore` on its worker thread, one at a time.
Kept apart from the connection handling so each file holds one idea; the
PostgreSQL store has the same queries in its own dialect.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from intakeforms.errors import LeaseLost
from intakeforms.store.base import (
    JOB_STATUSES,
    ClaimedJob,
    OutboxJob,
    StoredFile,
    StoredSubmission,
    job_from_row,
)
from intakeforms.store.rate import Hit, hit_statement, sweep_statement
from intakeforms.store.sqlite_schema import parse_timestamp, timestamp

__all__ = [
    "claim",
    "count_autoreplies",
    "counts",
    "finish",
    "hit",
    "list_jobs",
    "oldest_pending",
    "probe",
    "read_job",
    "read_jobs_of",
    "read_submission",
    "requeue",
    "transaction",
    "unsynced",
]

# The f-string queries below (noqa: S608) only splice in these column names
# and the fixed SET lists of the store's methods; every value is a parameter.
_JOB_COLUMNS = (
    "id, reference, target, status, attempts, next_attempt_at, last_error,"
    " claimed_by, lease_until, delivered_at, receipt, created_at, updated_at"
)


@contextmanager
def transaction(connection: sqlite3.Connection, kind: str = "IMMEDIATE") -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK on any error.

    Writes use BEGIN IMMEDIATE: the write lock is taken up front, waiting up
    to the busy timeout. A deferred transaction that reads and then writes
    fails at once with SQLITE_BUSY in WAL mode when another write came in
    between, and the busy timeout would not help it. It is also what makes
    :func:`claim` safe: two claimers are serialised, so the second one sees
    the first one's claims.
    """
    connection.execute(f"BEGIN {kind}")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        # The original error says what went wrong; a failed rollback would not.
        with suppress(sqlite3.Error):
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        raise


def _job(row: Sequence[Any]) -> OutboxJob:
    return job_from_row(row, parse_timestamp)


# -- reads -----------------------------------------------------------------------


def read_submission(c: sqlite3.Connection, reference: str) -> StoredSubmission | None:
    """The submission with its files; call it inside a transaction for one snapshot."""
    row = c.execute(
        "SELECT reference, form, form_version, locale, data, spam, client, submitted_at,"
        " spam_reason, erased_at FROM submissions WHERE reference = ?",
        (reference,),
    ).fetchone()
    if row is None:
        return None
    files = c.execute(
        "SELECT field, name, content_type, size, path FROM submission_files"
        " WHERE reference = ? ORDER BY position",
        (reference,),
    ).fetchall()
    return StoredSubmission(
        reference=row[0],
        form=row[1],
        form_version=row[2],
        locale=row[3],
        data=json.loads(row[4]),
        files=tuple(StoredFile(*file) for file in files),
        submitted_at=parse_timestamp(row[7]),
        spam=bool(row[5]),
        client=row[6],
        spam_reason=row[8],
        erased_at=None if row[9] is None else parse_timestamp(row[9]),
    )


def read_jobs_of(c: sqlite3.Connection, reference: str) -> list[OutboxJob]:
    """The jobs of one submission, in the order they were made."""
    rows = c.execute(
        f"SELECT {_JOB_COLUMNS} FROM outbox WHERE reference = ? ORDER BY id",  # noqa: S608
        (reference,),
    ).fetchall()
    return [_job(row) for row in rows]


def read_job(c: sqlite3.Connection, job_id: int) -> OutboxJob | None:
    """One job by id, or None."""
    row = c.execute(
        f"SELECT {_JOB_COLUMNS} FROM outbox WHERE id = ?",  # noqa: S608
        (job_id,),
    ).fetchone()
    return None if row is None else _job(row)


def list_jobs(c: sqlite3.Connection, status: str | None, limit: int) -> list[OutboxJob]:
    """Up to ``limit`` jobs, newest first, of one status or all."""
    # Two spellings rather than "(:status IS NULL OR status = :status)",
    # which SQLite cannot answer from the outbox_by_status index.
    where = "" if status is None else "WHERE status = :status"
    rows = c.execute(
        f"SELECT {_JOB_COLUMNS} FROM outbox {where} ORDER BY id DESC LIMIT :limit",  # noqa: S608
        {"status": status, "limit": limit},
    ).fetchall()
    return [_job(row) for row in rows]


# ``dead`` counts the jobs an operator must look at: one that an erasure
# stopped is done with, and would keep the "any dead job" alert firing forever.
_COUNTS = (
    "SELECT status, count(*) FROM outbox o WHERE NOT (status = 'dead' AND EXISTS"
    " (SELECT 1 FROM submissions s WHERE s.reference = o.reference AND s.erased_at IS NOT NULL))"
    " GROUP BY status"
)


def counts(c: sqlite3.Connection) -> dict[str, int]:
    """Jobs per status, with a 0 for every status that has none; a job that
    is dead because its submission was erased is not counted (it needs no one)."""
    found = dict(c.execute(_COUNTS).fetchall())
    return dict.fromkeys(JOB_STATUSES, 0) | found


def count_autoreplies(c: sqlite3.Connection, recipient_hash: str, since: dt.datetime) -> int:
    """Delivered confirmations to one hashed recipient at ``since`` or later."""
    row = c.execute(
        "SELECT count(*) FROM outbox WHERE recipient_hash = ? AND delivered_at >= ?",
        (recipient_hash, timestamp(since)),
    ).fetchone()
    return int(row[0])


# -- the worker's transitions ----------------------------------------------------


def claim(
    c: sqlite3.Connection,
    worker: str,
    limit: int,
    now: dt.datetime,
    lease_until: dt.datetime,
) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs claimed by ``worker``; with their submissions."""
    at = timestamp(now)
    with transaction(c):
        # status IN (…) lets SQLite look up just the unfinished jobs in the
        # outbox_by_status index instead of scanning the whole outbox.
        rows = c.execute(
            "UPDATE outbox SET status = 'claimed', claimed_by = :worker,"  # noqa: S608
            " lease_until = :lease_until, attempts = attempts + 1, updated_at = :now"
            " WHERE id IN ("
            "  SELECT id FROM outbox WHERE status IN ('pending', 'claimed')"
            "  AND ((status = 'pending' AND next_attempt_at <= :now)"
            "   OR (status = 'claimed' AND lease_until <= :now))"
            "  ORDER BY id LIMIT :limit)"
            f" RETURNING {_JOB_COLUMNS}",
            {"worker": worker, "lease_until": timestamp(lease_until), "now": at, "limit": limit},
        ).fetchall()
        jobs = sorted((_job(row) for row in rows), key=lambda job: job.id)
        submissions: dict[str, StoredSubmission | None] = {}
        for job in jobs:
            if job.reference not in submissions:
                submissions[job.reference] = read_submission(c, job.reference)
    # Every job has its submission: the foreign key (with ON DELETE CASCADE)
    # guarantees it, and both were read in this one transaction.
    return [ClaimedJob(job, _present(submissions[job.reference])) for job in jobs]


def _present(submission: StoredSubmission | None) -> StoredSubmission:
    assert submission is not None, "an outbox job without its submission"
    return submission


def finish(
    c: sqlite3.Connection,
    job_id: int,
    worker: str,
    changes: str,
    values: dict[str, Any],
    *,
    delivered: bool = False,
) -> OutboxJob:
    """Apply ``changes`` (a SET list) to a job ``worker`` still holds.

    Raises :class:`~intakeforms.errors.LeaseLost` when it does not: another
    worker took the job over after the lease ran out, or it is gone.

    A ``delivered`` mark is committed without waiting for the disk (WAL
    with ``synchronous = NORMAL``): it survives the process being killed,
    and power lost before the next synchronous commit can only cost a second
    copy of a mail already sent, recognisable by its Message-ID, never a
    submission. Every other commit keeps ``synchronous = FULL``.
    """
    if not delivered:
        return _finish(c, job_id, worker, changes, values)
    with unsynced(c):
        return _finish(c, job_id, worker, changes, values)


@contextmanager
def unsynced(c: sqlite3.Connection) -> Iterator[None]:
    """Commits that do not wait for the disk (``synchronous = NORMAL`` in
    WAL mode), for writes whose loss in a power cut costs no submission:
    delivered marks, rate counts, the health check's probe."""
    c.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        c.execute("PRAGMA synchronous = FULL")


def _finish(
    c: sqlite3.Connection, job_id: int, worker: str, changes: str, values: dict[str, Any]
) -> OutboxJob:
    with transaction(c):
        row = c.execute(
            f"UPDATE outbox SET {changes}, lease_until = NULL, updated_at = :now"  # noqa: S608
            " WHERE id = :id AND status = 'claimed' AND claimed_by = :worker"
            f" RETURNING {_JOB_COLUMNS}",
            {**values, "id": job_id, "worker": worker},
        ).fetchone()
        if row is None:
            now = c.execute("SELECT status, claimed_by FROM outbox WHERE id = ?", (job_id,))
            found = now.fetchone()
            status, holder = (None, None) if found is None else found
            raise LeaseLost(job_id, worker, status, holder)
    return _job(row)


def requeue(c: sqlite3.Connection, job_id: int, now: dt.datetime) -> bool:
    """A dead or pending job back to pending, due now, with no attempts;
    never a job of an erased submission (nothing is sent after an erasure)."""
    with transaction(c):
        changed = c.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = :now, attempts = 0,"
            " lease_until = NULL, updated_at = :now"
            " WHERE id = :id AND status IN ('pending', 'dead') AND NOT EXISTS (SELECT 1"
            " FROM submissions WHERE reference = outbox.reference AND erased_at IS NOT NULL)",
            {"id": job_id, "now": timestamp(now)},
        ).rowcount
    return changed == 1


def oldest_pending(c: sqlite3.Connection) -> dt.datetime | None:
    """When the oldest pending job was made; jobs are numbered in that order."""
    row = c.execute(
        "SELECT created_at FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1"
    ).fetchone()
    return None if row is None else parse_timestamp(row[0])


_HIT = hit_statement(lambda name: f":{name}", "max")
_SWEEP = sweep_statement(lambda name: f":{name}")


def hit(c: sqlite3.Connection, request: Hit, sweep: bool) -> tuple[int, int, int]:
    """Count one request (see ``rate.py``); (this_count, last_count, allowed)."""
    values = request.values()
    with unsynced(c), transaction(c):
        if sweep:
            c.execute(_SWEEP, values)
        row = c.execute(_HIT, values).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def probe(c: sqlite3.Connection, now: dt.datetime, expected: int) -> int:
    """Prove the file can be written: rewrite the one row of store_health
    (the file does not grow) and commit. Returns the schema version; when
    it is not ``expected``, nothing is written."""
    with unsynced(c), transaction(c):
        version = int(c.execute("PRAGMA user_version").fetchone()[0])
        if version != expected:
            return version
        c.execute(
            "INSERT INTO store_health (one, checked_at) VALUES (1, ?)"
            " ON CONFLICT (one) DO UPDATE SET checked_at = excluded.checked_at",
            (timestamp(now),),
        )
    return version
