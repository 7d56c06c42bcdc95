"""The outbox: the delivery worker's transitions of a job, and the reads
operators and metrics make, written once for every SQL database.

Coroutines of a :class:`~intakeforms.store.dialect.Session`, run by
:class:`~intakeforms.store.engine.SqlStore`. Only claiming differs by
database (``Statements.claim``): PostgreSQL lets claimers pass over each
other's rows, SQLite lets one writer at a time claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from intakeforms.errors import LeaseLost
from intakeforms.store import submissions
from intakeforms.store.dialect import JOB_COLUMNS, Row, Session
from intakeforms.store.records import JOB_STATUSES, ClaimedJob, OutboxJob

__all__ = [
    "COMPLETE",
    "COMPLETE_AUTOREPLY",
    "DEAD_LETTER",
    "RETRY_LATER",
    "claim",
    "count_autoreplies",
    "counts",
    "finish",
    "job",
    "jobs_of",
    "list_jobs",
    "oldest_pending",
    "read_job",
    "requeue",
]

# The f-string statements (noqa: S608) only splice in the column list and
# the fixed SET lists below; every value is a parameter.
_JOB = f"SELECT {JOB_COLUMNS} FROM outbox WHERE id = :id"  # noqa: S608
_JOBS_OF = f"SELECT {JOB_COLUMNS} FROM outbox WHERE reference = :reference ORDER BY id"  # noqa: S608
# Two spellings rather than "(:status IS NULL OR status = :status)", which
# SQLite cannot answer from the outbox_by_status index.
_JOBS = f"SELECT {JOB_COLUMNS} FROM outbox ORDER BY id DESC LIMIT :limit"  # noqa: S608
_JOBS_WITH_STATUS = (
    f"SELECT {JOB_COLUMNS} FROM outbox WHERE status = :status"  # noqa: S608
    " ORDER BY id DESC LIMIT :limit"
)
# ``dead`` counts the jobs an operator must look at: one that an erasure
# stopped is done with, and would keep the "any dead job" alert firing forever.
_COUNTS = (
    "SELECT status, count(*) FROM outbox o WHERE NOT (status = 'dead' AND EXISTS"
    " (SELECT 1 FROM submissions s WHERE s.reference = o.reference AND s.erased_at IS NOT NULL))"
    " GROUP BY status"
)
_COUNT_AUTOREPLIES = (
    "SELECT count(*) FROM outbox WHERE recipient_hash = :recipient AND delivered_at >= :since"
)
# Jobs are numbered in the order they were made.
_OLDEST_PENDING = "SELECT created_at FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1"
_HOLDER = "SELECT status, claimed_by FROM outbox WHERE id = :id"
# Never a job of an erased submission: nothing is sent after an erasure.
_REQUEUE = (
    "UPDATE outbox SET status = 'pending', next_attempt_at = :now, attempts = 0,"
    " lease_until = NULL, updated_at = :now"
    " WHERE id = :id AND status IN ('pending', 'dead') AND NOT EXISTS (SELECT 1"
    " FROM submissions s WHERE s.reference = outbox.reference AND s.erased_at IS NOT NULL)"
)


def _reporting(changes: str) -> str:
    """The UPDATE of a worker's report: ``changes``, on a job it still holds."""
    return (
        f"UPDATE outbox SET {changes}, lease_until = NULL, updated_at = :now"  # noqa: S608
        " WHERE id = :id AND status = 'claimed' AND claimed_by = :worker"
        f" RETURNING {JOB_COLUMNS}"
    )


#: Delivered, with the target's :receipt.
COMPLETE = _reporting("status = 'delivered', delivered_at = :now, receipt = :receipt")
#: Delivered, with the :receipt and the :recipient's hash (for the daily cap).
COMPLETE_AUTOREPLY = _reporting(
    "status = 'delivered', delivered_at = :now, receipt = :receipt, recipient_hash = :recipient"
)
#: Pending again, due :at, with the :error.
RETRY_LATER = _reporting("status = 'pending', next_attempt_at = :at, last_error = :error")
#: Given up, with the :error as the reason.
DEAD_LETTER = _reporting("status = 'dead', last_error = :error")


def job(s: Session, row: Row) -> OutboxJob:
    """An :class:`OutboxJob` from a row of :data:`~intakeforms.store.dialect.JOB_COLUMNS`."""

    def maybe(value: Any) -> dt.datetime | None:
        return None if value is None else s.moment(value)

    return OutboxJob(
        id=row[0],
        reference=row[1],
        target=row[2],
        status=row[3],
        attempts=row[4],
        next_attempt_at=s.moment(row[5]),
        last_error=row[6],
        claimed_by=row[7],
        lease_until=maybe(row[8]),
        delivered_at=maybe(row[9]),
        receipt=row[10],
        created_at=maybe(row[11]),
        updated_at=maybe(row[12]),
    )


async def claim(
    s: Session, worker: str, limit: int, now: dt.datetime, until: dt.datetime
) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs claimed by ``worker`` until ``until``,
    oldest first; with their submissions, read in the same transaction."""
    async with s.transaction():
        rows = await s.rows(
            s.sql.claim, {"worker": worker, "until": until, "now": now, "limit": limit}
        )
        # RETURNING promises no order.
        jobs = sorted((job(s, row) for row in rows), key=lambda j: j.id)
        found = await submissions.read(s, {j.reference for j in jobs})
    # The foreign key (with ON DELETE CASCADE) guarantees each job its submission.
    return [ClaimedJob(j, found[j.reference]) for j in jobs]


async def finish(
    s: Session,
    statement: str,
    job_id: int,
    worker: str,
    values: Mapping[str, object],
    *,
    delivered: bool = False,
) -> OutboxJob:
    """Apply ``statement`` (:data:`COMPLETE` … :data:`DEAD_LETTER`, with
    ``values`` and :now) to a job ``worker`` still holds.

    Raises :class:`~intakeforms.errors.LeaseLost` when it does not: another
    worker took the job over after the lease ran out, or it is gone.

    A ``delivered`` mark is committed without waiting for the disk: a crash
    right after it can only cost a second copy of a mail already sent,
    recognisable by its Message-ID, never a submission.
    """
    async with s.transaction(synced=not delivered):
        row = await s.row(statement, {**values, "id": job_id, "worker": worker})
        if row is None:
            found = await s.row(_HOLDER, {"id": job_id})
            status, holder = (None, None) if found is None else found
            raise LeaseLost(job_id, worker, status, holder)
    return job(s, row)


async def requeue(s: Session, job_id: int, now: dt.datetime) -> bool:
    """A dead or pending job back to pending, due now, with no attempts;
    never a job of an erased submission."""
    return await s.change(_REQUEUE, {"id": job_id, "now": now}) == 1


async def jobs_of(s: Session, reference: str) -> list[OutboxJob]:
    """The jobs of one submission, in the order they were made."""
    return [job(s, row) for row in await s.rows(_JOBS_OF, {"reference": reference})]


async def read_job(s: Session, job_id: int) -> OutboxJob | None:
    """One job by id, or None."""
    row = await s.row(_JOB, {"id": job_id})
    return None if row is None else job(s, row)


async def list_jobs(s: Session, status: str | None, limit: int) -> list[OutboxJob]:
    """Up to ``limit`` jobs, newest first, of one status or all."""
    statement = _JOBS if status is None else _JOBS_WITH_STATUS
    return [job(s, row) for row in await s.rows(statement, {"status": status, "limit": limit})]


async def counts(s: Session) -> dict[str, int]:
    """Jobs per status, with a 0 for every status that has none; a job that
    is dead because its submission was erased is not counted (it needs no one)."""
    found = {str(status): int(n) for status, n in await s.rows(_COUNTS)}
    return dict.fromkeys(JOB_STATUSES, 0) | found


async def count_autoreplies(s: Session, recipient: str, since: dt.datetime) -> int:
    """Delivered confirmations to one hashed ``recipient`` at ``since`` or later."""
    row = await s.row(_COUNT_AUTOREPLIES, {"recipient": recipient, "since": since})
    assert row is not None
    return int(row[0])


async def oldest_pending(s: Session) -> dt.datetime | None:
    """When the oldest pending job was made, or None."""
    row = await s.row(_OLDEST_PENDING)
    return None if row is None else s.moment(row[0])
