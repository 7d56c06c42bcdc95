"""The PostgreSQL store's SQL: reads, and the outbox job transitions.

Plain functions of a psycopg connection borrowed by
:class:`~intakeforms.store.PostgresStore`, which turns their failures into
:class:`~intakeforms.errors.StoreUnavailable`. The same queries as
``sqlite_queries.py``, in PostgreSQL's dialect. Column lists are composed
with :mod:`psycopg.sql`; every value is a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import sql

from intakeforms.errors import LeaseLost
from intakeforms.store.base import (
    JOB_STATUSES,
    ClaimedJob,
    NewSubmission,
    OutboxJob,
    StoredFile,
    StoredSubmission,
    job_from_row,
)
from intakeforms.store.postgres_pool import Connection
from intakeforms.store.postgres_schema import VERSION_TABLE

__all__ = [
    "SUBMISSION_COLUMNS",
    "VERSION",
    "claim",
    "count",
    "count_autoreplies",
    "counts",
    "finish",
    "list_jobs",
    "oldest_pending",
    "probe",
    "read_job",
    "read_jobs_of",
    "read_submissions",
    "read_version",
    "requeue",
    "seen_key",
]

SUBMISSION_COLUMNS = sql.SQL(
    "reference, form, form_version, locale, data, spam, client, submitted_at, spam_reason"
)
# What is read of a submission: what is written, and when it was erased.
_READ_COLUMNS = sql.SQL("{}, erased_at").format(SUBMISSION_COLUMNS)
# Qualified, because claim()'s UPDATE … FROM due also has an id.
_JOB_COLUMNS = sql.SQL(
    "outbox.id, outbox.reference, outbox.target, outbox.status, outbox.attempts,"
    " outbox.next_attempt_at, outbox.last_error, outbox.claimed_by, outbox.lease_until,"
    " outbox.delivered_at, outbox.receipt, outbox.created_at, outbox.updated_at"
)
#: The schema version table, quoted for composing.
VERSION = sql.Identifier(VERSION_TABLE)


def _utc(value: dt.datetime) -> dt.datetime:
    # psycopg gives times in the session's time zone; callers get UTC.
    return value.astimezone(dt.UTC)


def _job(row: Sequence[Any]) -> OutboxJob:
    return job_from_row(row, _utc)


# -- submissions -------------------------------------------------------------------


async def read_submissions(c: Connection, references: Iterable[str]) -> dict[str, StoredSubmission]:
    """The submissions with these references and their files, in two queries."""
    wanted = list(references)
    if not wanted:
        return {}
    cursor = await c.execute(
        sql.SQL("SELECT {} FROM submissions WHERE reference = ANY(%s)").format(_READ_COLUMNS),
        (wanted,),
    )
    rows = await cursor.fetchall()
    cursor = await c.execute(
        "SELECT reference, field, name, content_type, size, path FROM submission_files"
        " WHERE reference = ANY(%s) ORDER BY reference, position",
        (wanted,),
    )
    files: dict[str, list[StoredFile]] = {}
    for reference, *file in await cursor.fetchall():
        files.setdefault(reference, []).append(StoredFile(*file))
    return {
        row[0]: StoredSubmission(
            reference=row[0],
            form=row[1],
            form_version=row[2],
            locale=row[3],
            data=row[4],  # jsonb arrives decoded
            files=tuple(files.get(row[0], ())),
            submitted_at=_utc(row[7]),
            spam=row[5],
            client=row[6],
            spam_reason=row[8],
            erased_at=None if row[9] is None else _utc(row[9]),
        )
        for row in rows
    }


async def seen_key(c: Connection, new: NewSubmission) -> str | None:
    """The reference already stored under the submission's idempotency key."""
    if new.idempotency_key is None:
        return None
    cursor = await c.execute(
        "SELECT reference FROM idempotency_keys WHERE form = %s AND idempotency_key = %s",
        (new.form, new.idempotency_key),
    )
    row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def count(c: Connection, form: str | None, spam: bool | None) -> int:
    """How many submissions, of one form and/or spam flag."""
    where: list[sql.Composable] = [sql.SQL("true")]
    values: list[object] = []
    if form is not None:
        where.append(sql.SQL("form = %s"))
        values.append(form)
    if spam is not None:
        where.append(sql.SQL("spam = %s"))
        values.append(spam)
    query = sql.SQL("SELECT count(*) FROM submissions WHERE {}").format(
        sql.SQL(" AND ").join(where)
    )
    cursor = await c.execute(query, values)
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def probe(c: Connection) -> int:
    """Prove the database takes writes: lock the version row in a
    transaction of its own (autocommit), which a read-only server or user
    refuses. Returns the schema version."""
    cursor = await c.execute(sql.SQL("SELECT version FROM {} FOR UPDATE").format(VERSION))
    row = await cursor.fetchone()
    return -1 if row is None else int(row[0])


async def read_version(c: Connection) -> int | None:
    """The schema version, or None when the version table is missing."""
    cursor = await c.execute("SELECT to_regclass(%s::text) IS NOT NULL", (VERSION_TABLE,))
    row = await cursor.fetchone()
    if row is None or not row[0]:
        return None
    cursor = await c.execute(sql.SQL("SELECT version FROM {}").format(VERSION))
    row = await cursor.fetchone()
    return None if row is None else int(row[0])


# -- reading jobs ------------------------------------------------------------------


async def read_jobs_of(c: Connection, reference: str) -> list[OutboxJob]:
    """The jobs of one submission, in the order they were made."""
    cursor = await c.execute(
        sql.SQL("SELECT {} FROM outbox WHERE reference = %s ORDER BY id").format(_JOB_COLUMNS),
        (reference,),
    )
    return [_job(row) for row in await cursor.fetchall()]


async def read_job(c: Connection, job_id: int) -> OutboxJob | None:
    """One job by id, or None."""
    cursor = await c.execute(
        sql.SQL("SELECT {} FROM outbox WHERE id = %s").format(_JOB_COLUMNS), (job_id,)
    )
    row = await cursor.fetchone()
    return None if row is None else _job(row)


async def list_jobs(c: Connection, status: str | None, limit: int) -> list[OutboxJob]:
    """Up to ``limit`` jobs, newest first, of one status or all."""
    where = sql.SQL("" if status is None else "WHERE status = %(status)s")
    cursor = await c.execute(
        sql.SQL("SELECT {} FROM outbox {} ORDER BY id DESC LIMIT %(limit)s").format(
            _JOB_COLUMNS, where
        ),
        {"status": status, "limit": limit},
    )
    return [_job(row) for row in await cursor.fetchall()]


# ``dead`` counts the jobs an operator must look at: one that an erasure
# stopped is done with, and would keep the "any dead job" alert firing forever.
_COUNTS = (
    "SELECT status, count(*) FROM outbox o WHERE NOT (status = 'dead' AND EXISTS"
    " (SELECT 1 FROM submissions s WHERE s.reference = o.reference AND s.erased_at IS NOT NULL))"
    " GROUP BY status"
)


async def counts(c: Connection) -> dict[str, int]:
    """Jobs per status, with a 0 for every status that has none; a job that
    is dead because its submission was erased is not counted (it needs no one)."""
    cursor = await c.execute(_COUNTS)
    found: dict[str, int] = dict(await cursor.fetchall())
    return dict.fromkeys(JOB_STATUSES, 0) | found


async def count_autoreplies(c: Connection, recipient_hash: str, since: dt.datetime) -> int:
    """Delivered confirmations to one hashed recipient at ``since`` or later."""
    cursor = await c.execute(
        "SELECT count(*) FROM outbox WHERE recipient_hash = %s AND delivered_at >= %s",
        (recipient_hash, since),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


# -- the worker's transitions --------------------------------------------------------


async def claim(
    c: Connection, worker: str, limit: int, now: dt.datetime, lease_until: dt.datetime
) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs claimed by ``worker``; with their submissions.

    ``FOR UPDATE SKIP LOCKED`` passes over the rows another transaction is
    claiming right now; in READ COMMITTED a row another claimer took just
    before is checked again after its lock, so it is not taken twice.
    """
    async with c.transaction():
        cursor = await c.execute(
            sql.SQL(
                "WITH due AS ("
                " SELECT id FROM outbox WHERE status IN ('pending', 'claimed')"
                " AND ((status = 'pending' AND next_attempt_at <= %(now)s)"
                "  OR (status = 'claimed' AND lease_until <= %(now)s))"
                " ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE outbox SET status = 'claimed', claimed_by = %(worker)s,"
                " lease_until = %(until)s, attempts = outbox.attempts + 1,"
                " updated_at = %(now)s"
                " FROM due WHERE outbox.id = due.id RETURNING {}"
            ).format(_JOB_COLUMNS),
            {"now": now, "until": lease_until, "limit": limit, "worker": worker},
        )
        # RETURNING promises no order.
        jobs = sorted((_job(row) for row in await cursor.fetchall()), key=lambda j: j.id)
        submissions = await read_submissions(c, {job.reference for job in jobs})
    # The foreign key guarantees each job its submission, read in the same
    # transaction that claimed the job.
    return [ClaimedJob(job, submissions[job.reference]) for job in jobs]


async def finish(
    c: Connection,
    job_id: int,
    worker: str,
    changes: sql.SQL,
    values: Mapping[str, object],
    *,
    delivered: bool = False,
) -> OutboxJob:
    """Apply ``changes`` (a SET list; ``%(now)s`` and ``values``) to a job ``worker`` holds.

    Raises :class:`~intakeforms.errors.LeaseLost` when it does not: another
    worker took the job over after the lease ran out, or it is gone.

    A ``delivered`` mark is committed without waiting for the server's disk
    (``synchronous_commit = off`` for this transaction only): a server crash
    right after it can only cost a second copy of a mail already sent,
    recognisable by its Message-ID, never a submission.
    """
    async with c.transaction():
        if delivered:
            await c.execute("SET LOCAL synchronous_commit = off")
        cursor = await c.execute(
            sql.SQL(
                "UPDATE outbox SET {}, lease_until = NULL, updated_at = %(now)s"
                " WHERE id = %(id)s AND status = 'claimed' AND claimed_by = %(worker)s"
                " RETURNING {}"
            ).format(changes, _JOB_COLUMNS),
            {**values, "id": job_id, "worker": worker},
        )
        row = await cursor.fetchone()
        if row is None:
            cursor = await c.execute(
                "SELECT status, claimed_by FROM outbox WHERE id = %s", (job_id,)
            )
            found = await cursor.fetchone()
            status, holder = (None, None) if found is None else found
            raise LeaseLost(job_id, worker, status, holder)
    return _job(row)


async def requeue(c: Connection, job_id: int, now: dt.datetime) -> bool:
    """A dead or pending job back to pending, due now, with no attempts;
    never a job of an erased submission (nothing is sent after an erasure)."""
    cursor = await c.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = %(now)s,"
        " attempts = 0, lease_until = NULL, updated_at = %(now)s"
        " WHERE id = %(id)s AND status IN ('pending', 'dead') AND NOT EXISTS (SELECT 1"
        " FROM submissions s WHERE s.reference = outbox.reference AND s.erased_at IS NOT NULL)",
        {"id": job_id, "now": now},
    )
    return cursor.rowcount == 1


async def oldest_pending(c: Connection) -> dt.datetime | None:
    """When the oldest pending job was made; jobs are numbered in that order."""
    cursor = await c.execute(
        "SELECT created_at FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1"
    )
    row = await cursor.fetchone()
    return None if row is None else _utc(row[0])
