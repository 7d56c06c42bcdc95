"""The PostgreSQL store's spam review, erasure, retention and rate counts.

Plain functions of a pooled connection, like ``postgres_queries.py``; the
SQLite store has the same in ``sqlite_privacy.py``.

PostgreSQL never changes a row in place: an UPDATE or DELETE leaves the old
row version ("dead tuple") in the table's file until VACUUM removes it. So
after an erasure :func:`forget` runs ``VACUUM`` on the tables that held the
erased text. What VACUUM does not promise (docs/store.md says more): the
bytes of a removed row version may stay in the page's free space until a
later row overwrites them, and the write-ahead log (and any backup or
replica made from it) keeps them until it is recycled.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import psycopg
from psycopg import sql

from intakeforms.store.base import PurgeResult, SpamEntry, StoredFile, StoredSubmission
from intakeforms.store.postgres_pool import Connection
from intakeforms.store.postgres_queries import read_submissions
from intakeforms.store.rate import Hit, hit_statement, sweep_statement

__all__ = [
    "PURGE_CHUNK",
    "delete_spam",
    "erase",
    "forget",
    "hit",
    "purge_step",
    "release",
    "spam_list",
]

logger = logging.getLogger("intakeforms.store")

#: Submissions one purge transaction handles at most.
PURGE_CHUNK = 200

# What erasing submissions does to their rows (see Store.erase).
_ERASE = (
    "UPDATE submissions SET data = '{}'::jsonb, client = NULL, erased_at = %(now)s"
    " WHERE reference = ANY(%(references)s)",
    "DELETE FROM submission_files WHERE reference = ANY(%(references)s)",
    "DELETE FROM idempotency_keys WHERE reference = ANY(%(references)s)",
    # Nothing is sent after an erasure: a job not delivered yet is given up.
    "UPDATE outbox SET receipt = NULL, recipient_hash = NULL, lease_until = NULL,"
    " last_error = CASE WHEN status = 'delivered' THEN NULL ELSE 'erased' END,"
    " status = CASE WHEN status = 'delivered' THEN status ELSE 'dead' END,"
    " updated_at = %(now)s WHERE reference = ANY(%(references)s)",
)

# The tables that hold a submission's text, vacuumed after an erasure.
# SKIP_LOCKED: a table another VACUUM holds is left to it (or autovacuum)
# rather than waited for.
_VACUUM = "VACUUM (SKIP_LOCKED) submissions, submission_files, outbox, idempotency_keys"

_HIT = sql.SQL(
    "WITH swept AS ({}) {}".format(
        sweep_statement(lambda name: f"%({name})s", "FOR UPDATE SKIP LOCKED"),
        hit_statement(lambda name: f"%({name})s", "greatest"),
    )
)
_HIT_ONLY = sql.SQL(hit_statement(lambda name: f"%({name})s", "greatest"))


async def spam_list(c: Connection, form: str | None, limit: int) -> list[SpamEntry]:
    """Up to ``limit`` quarantined submissions not erased, newest first."""
    cursor = await c.execute(
        "SELECT reference, form, submitted_at, spam_reason FROM submissions"
        " WHERE spam AND erased_at IS NULL AND (%(form)s::text IS NULL OR form = %(form)s)"
        " ORDER BY submitted_at DESC, reference DESC LIMIT %(limit)s",
        {"form": form, "limit": limit},
    )
    return [
        SpamEntry(row[0], row[1], row[2].astimezone(dt.UTC), row[3])
        for row in await cursor.fetchall()
    ]


async def release(c: Connection, reference: str, targets: Sequence[str], now: dt.datetime) -> bool:
    """No longer spam, with a pending job per target due now; False if it was
    not quarantined spam (or was erased), changing nothing."""
    async with c.transaction():
        cursor = await c.execute(
            "UPDATE submissions SET spam = false, spam_reason = ''"
            " WHERE reference = %s AND spam AND erased_at IS NULL",
            (reference,),
        )
        if cursor.rowcount != 1:
            return False
        if targets:
            async with c.cursor() as jobs:
                await jobs.executemany(
                    "INSERT INTO outbox"
                    " (reference, target, next_attempt_at, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (reference, target) DO NOTHING",
                    [(reference, target, now, now, now) for target in targets],
                )
    return True


async def delete_spam(c: Connection, reference: str) -> StoredSubmission | None:
    """Delete a quarantined submission (its rows go with it); it as it was."""
    async with c.transaction():
        if not await _lock(c, reference, "AND spam"):
            return None
        found = (await read_submissions(c, [reference]))[reference]
        await c.execute("DELETE FROM submissions WHERE reference = %s", (reference,))
    return found


async def erase(c: Connection, reference: str, now: dt.datetime) -> StoredSubmission | None:
    """Erase one submission's answers (see ``Store.erase``); it as it was."""
    async with c.transaction():
        if not await _lock(c, reference):
            return None
        found = (await read_submissions(c, [reference]))[reference]
        if not found.erased:
            await _erase(c, [reference], now)
    return found


async def _lock(c: Connection, reference: str, condition: str = "") -> bool:
    # The row lock makes concurrent erasures and deletions of one submission
    # wait for each other, so each reads what the other left.
    cursor = await c.execute(
        sql.SQL("SELECT 1 FROM submissions WHERE reference = %s {} FOR UPDATE").format(
            sql.SQL(condition)
        ),
        (reference,),
    )
    return await cursor.fetchone() is not None


async def _erase(c: Connection, references: Sequence[str], now: dt.datetime) -> None:
    values = {"references": list(references), "now": now}
    for statement in _ERASE:
        await c.execute(statement, values)


async def purge_step(
    c: Connection,
    delivered_before: dt.datetime | None,
    spam_before: dt.datetime,
    clients_before: dt.datetime,
    now: dt.datetime,
) -> tuple[PurgeResult, bool]:
    """One transaction of :meth:`Store.purge`: up to :data:`PURGE_CHUNK`
    submissions erased, else deleted as spam, else cleared of their client
    address; with True when there may be more to do. ``SKIP LOCKED``: two
    workers purging at once take different submissions."""
    async with c.transaction():
        if delivered_before is not None:
            references = await _column(
                c,
                "SELECT reference FROM submissions s"
                " WHERE NOT spam AND erased_at IS NULL AND submitted_at < %(before)s"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.reference = s.reference"
                " AND o.status <> 'delivered')"
                " ORDER BY submitted_at LIMIT %(chunk)s FOR UPDATE SKIP LOCKED",
                delivered_before,
            )
            if references:
                files = await _files_of(c, references)
                await _erase(c, references, now)
                return PurgeResult(erased=len(references), files=files), True
        references = await _column(
            c,
            "SELECT reference FROM submissions WHERE spam AND submitted_at < %(before)s"
            " ORDER BY submitted_at LIMIT %(chunk)s FOR UPDATE SKIP LOCKED",
            spam_before,
        )
        if references:
            files = await _files_of(c, references)
            await c.execute(
                "DELETE FROM submissions WHERE reference = ANY(%s)", (list(references),)
            )
            return PurgeResult(deleted_spam=len(references), files=files), True
        cursor = await c.execute(
            "UPDATE submissions SET client = NULL WHERE reference IN (SELECT reference"
            " FROM submissions WHERE client IS NOT NULL AND submitted_at < %(before)s"
            " LIMIT %(chunk)s FOR UPDATE SKIP LOCKED)",
            {"before": clients_before, "chunk": PURGE_CHUNK},
        )
        if cursor.rowcount:
            return PurgeResult(clients_cleared=cursor.rowcount), True
        await c.execute("DELETE FROM rate_hits WHERE expires_at < %s", (now.timestamp(),))
    return PurgeResult(), False


async def _column(c: Connection, query: str, before: dt.datetime) -> list[str]:
    cursor = await c.execute(query, {"before": before, "chunk": PURGE_CHUNK})
    return [row[0] for row in await cursor.fetchall()]


async def _files_of(c: Connection, references: Sequence[str]) -> tuple[StoredFile, ...]:
    cursor = await c.execute(
        "SELECT field, name, content_type, size, path FROM submission_files"
        " WHERE reference = ANY(%s) ORDER BY reference, position",
        (list(references),),
    )
    return tuple(StoredFile(*row) for row in await cursor.fetchall())


async def forget(c: Connection, database: str) -> None:
    """VACUUM the tables that held erased text, so the dead row versions go.

    The erasure is committed already; a VACUUM that cannot run (a user who
    does not own the tables) is only logged, and autovacuum does it later.
    """
    try:
        await c.execute(_VACUUM)
    except psycopg.Error as exc:
        logger.warning(
            "the store %s could not VACUUM after an erasure (%s); autovacuum removes "
            "the erased rows' old versions later",
            database,
            exc.sqlstate or type(exc).__name__,
        )


async def hit(c: Connection, request: Hit, sweep: bool) -> tuple[int, int, bool]:
    """Count one request in one statement (see ``rate.py``); with ``sweep``,
    the same statement deletes some expired rows."""
    cursor = await c.execute(_HIT if sweep else _HIT_ONLY, request.values())
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), bool(row[2])
