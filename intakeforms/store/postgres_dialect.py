"""The shared store code's session on PostgreSQL: its SQL, values and transactions.

:class:`PostgresSession` wraps a connection borrowed from the store's pool
(psycopg 3, autocommit outside explicit transactions); each operation of
:class:`~intakeforms.store.PostgresStore` gets one.

What is PostgreSQL's own here: many writers at once, so claims and purges
pass over the rows another transaction is taking (``FOR UPDATE SKIP
LOCKED``) and an erasure locks its row first; ``timestamptz``, ``jsonb`` and
``boolean`` columns; a list of references passed as an array (``=
ANY(…)``); commits that need not wait for the disk made with ``SET LOCAL
synchronous_commit = off``. Statements are written with ``:name``
parameters like SQLite's and turned into psycopg's ``%(name)s`` once each
(a literal in them must not hold a colon followed by a letter).

PostgreSQL never changes a row in place: an UPDATE or DELETE leaves the old
row version ("dead tuple") in the table's file until VACUUM removes it. So
after an erasure :meth:`PostgresSession.forget` runs ``VACUUM`` on the
tables that held the erased text. What VACUUM does not promise
(docs/store.md says more): the bytes of a removed row version may stay in
the page's free space until a later row overwrites them, and the
write-ahead log (and any backup or replica made from it) keeps them until
it is recycled.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql

from intakeforms.store.dialect import (
    DRAFT_COLUMNS,
    JOB_COLUMNS,
    PARAMETER,
    ROWS_AT_ONCE,
    SUBMISSION_COLUMNS,
    Row,
    Statements,
    Values,
    many_rows,
)
from intakeforms.store.postgres_pool import Connection
from intakeforms.store.postgres_schema import SCHEMA_VERSION, VERSION
from intakeforms.store.rate import Hit, hit_statement, sweep_statement
from intakeforms.store.storable import UnstorableSubmission

__all__ = ["POSTGRES", "PostgresSession"]

logger = logging.getLogger("intakeforms.store")

# Qualified, because the claim's UPDATE … FROM due also has an id.
_OUTBOX_COLUMNS = ", ".join(f"outbox.{name.strip()}" for name in JOB_COLUMNS.split(","))

# The f-strings (noqa: S608) only splice in column lists.
POSTGRES = Statements(
    insert_submission=(
        "INSERT INTO submissions (reference, form, form_version, locale, data, spam,"
        " client, submitted_at, spam_reason, context) VALUES (:reference, :form,"
        " :form_version, :locale, :data::jsonb, :spam, :client, :now, :spam_reason,"
        " :context::jsonb) ON CONFLICT (reference) DO NOTHING"
    ),
    submissions_in=(
        f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE reference = ANY(:references)"  # noqa: S608
    ),
    files_in=(
        "SELECT reference, field, name, content_type, size, path FROM submission_files"
        " WHERE reference = ANY(:references) ORDER BY reference, position"
    ),
    # FOR UPDATE SKIP LOCKED passes over the rows another transaction is
    # claiming right now, so claimers never wait for each other; in READ
    # COMMITTED a row another claimer took just before is checked again
    # after its lock, so it is not taken twice.
    claim=(
        "WITH due AS ("  # noqa: S608
        " SELECT id FROM outbox WHERE status IN ('pending', 'claimed')"
        " AND ((status = 'pending' AND next_attempt_at <= :now)"
        "  OR (status = 'claimed' AND lease_until <= :now))"
        " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)"
        " UPDATE outbox SET status = 'claimed', claimed_by = :worker,"
        " lease_until = :until, attempts = outbox.attempts + 1, updated_at = :now"
        f" FROM due WHERE outbox.id = due.id RETURNING {_OUTBOX_COLUMNS}"
    ),
    lock_submission="SELECT 1 FROM submissions WHERE reference = :reference FOR UPDATE",
    lock_spam="SELECT 1 FROM submissions WHERE reference = :reference AND spam FOR UPDATE",
    spam_list=(
        "SELECT reference, form, submitted_at, spam_reason FROM submissions"
        " WHERE spam AND erased_at IS NULL AND (:form::text IS NULL OR form = :form)"
        " ORDER BY submitted_at DESC, reference DESC LIMIT :limit"
    ),
    release=(
        "UPDATE submissions SET spam = false, spam_reason = ''"
        " WHERE reference = :reference AND spam AND erased_at IS NULL"
    ),
    erase=(
        "UPDATE submissions SET data = '{}'::jsonb, client = NULL, context = NULL,"
        " erased_at = :now WHERE reference = ANY(:references)",
        "DELETE FROM submission_files WHERE reference = ANY(:references)",
        "DELETE FROM idempotency_keys WHERE reference = ANY(:references)",
        # Nothing is sent after an erasure: a job not delivered yet is given up.
        "UPDATE outbox SET receipt = NULL, recipient_hash = NULL, lease_until = NULL,"
        " last_error = CASE WHEN status = 'delivered' THEN NULL ELSE 'erased' END,"
        " status = CASE WHEN status = 'delivered' THEN status ELSE 'dead' END,"
        " updated_at = :now WHERE reference = ANY(:references)",
        # Nothing ties an erased submission to its customer any more.
        "DELETE FROM submission_contacts WHERE reference = ANY(:references)",
    ),
    delete_submissions="DELETE FROM submissions WHERE reference = ANY(:references)",
    # SKIP LOCKED: two processes purging at once take different submissions.
    purge_erasable=(
        "SELECT reference FROM submissions s"
        " WHERE NOT spam AND erased_at IS NULL AND submitted_at < :before"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.reference = s.reference"
        " AND o.status <> 'delivered')"
        " ORDER BY submitted_at LIMIT :chunk FOR UPDATE SKIP LOCKED"
    ),
    purge_spam=(
        "SELECT reference FROM submissions WHERE spam AND submitted_at < :before"
        " ORDER BY submitted_at LIMIT :chunk FOR UPDATE SKIP LOCKED"
    ),
    clear_clients=(
        "UPDATE submissions SET client = NULL WHERE reference IN (SELECT reference"
        " FROM submissions WHERE client IS NOT NULL AND submitted_at < :before"
        " LIMIT :chunk FOR UPDATE SKIP LOCKED)"
    ),
    insert_faq_search=(
        "INSERT INTO faq_searches (id, language, form, channel, query, query_key, results,"
        " result_count, top_score, searched_at) VALUES (:id, :language, :form, :channel,"
        " :query, :query_key, :results::jsonb, :result_count, :top_score, :at)"
        " ON CONFLICT (id) DO NOTHING"
    ),
    # "C" compares bytes (UTF-8: code point order), as SQLite does, rather
    # than by the database's language.
    faq_gaps=(
        "SELECT query_key, count(*) AS n FROM faq_searches"
        " WHERE searched_at >= :since AND result_count = 0 AND query_key <> ''"
        ' GROUP BY query_key ORDER BY n DESC, query_key COLLATE "C" LIMIT :limit'
    ),
    blank_faq_queries=(
        "UPDATE faq_searches SET query = '', query_key = '' WHERE id IN (SELECT id"
        " FROM faq_searches WHERE query <> '' AND searched_at < :before"
        " LIMIT :chunk FOR UPDATE SKIP LOCKED)"
    ),
    save_draft=(
        "INSERT INTO drafts (id, form, locale, data, email, email_key, created_at,"
        " expires_at, mail_sent_at) VALUES (:id, :form, :locale, :data::jsonb, :email,"
        " :email_key, :created_at, :expires_at, :mail_sent_at) ON CONFLICT (id) DO UPDATE SET"
        " form = excluded.form, locale = excluded.locale, data = excluded.data,"
        " email = excluded.email, email_key = excluded.email_key,"
        " created_at = excluded.created_at, expires_at = excluded.expires_at,"
        " mail_sent_at = excluded.mail_sent_at, mail_attempts = 0, mail_claimed_until = NULL"
    ),
    # SKIP LOCKED: two workers claiming at once take different drafts.
    claim_draft_mails=(
        "UPDATE drafts SET mail_claimed_until = :until, mail_attempts = mail_attempts + 1"  # noqa: S608
        " WHERE id IN (SELECT id FROM drafts WHERE mail_sent_at IS NULL"
        " AND expires_at > :now AND mail_attempts < :attempts"
        " AND (mail_claimed_until IS NULL OR mail_claimed_until <= :now)"
        " ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)"
        f" RETURNING {DRAFT_COLUMNS}"
    ),
    purge_drafts=(
        "DELETE FROM drafts WHERE id IN (SELECT id FROM drafts"
        " WHERE expires_at <= :now LIMIT :chunk FOR UPDATE SKIP LOCKED)"
    ),
    earlier_contacts=(
        "SELECT reference, form, submitted_at, erased_at, data FROM submissions"
        " WHERE reference IN (SELECT reference FROM submission_contacts"
        " WHERE key = ANY(:keys))"
        " AND NOT spam AND submitted_at >= :since"
        " AND submitted_at <= CASE WHEN :before = '' THEN :until"
        " ELSE (SELECT b.submitted_at FROM submissions b WHERE b.reference = :before) END"
        " AND reference <> :before"
        " ORDER BY submitted_at DESC, reference DESC LIMIT :limit"
    ),
    contacts_of_keys=(
        "SELECT c.key, s.reference, s.form, s.submitted_at, s.erased_at, s.data"
        " FROM submission_contacts c JOIN submissions s ON s.reference = c.reference"
        " WHERE c.key = ANY(:keys)"
        " AND NOT s.spam AND s.submitted_at >= :since AND s.submitted_at <= :until"
        " LIMIT :limit"
    ),
)

# The tables that hold a submission's text, vacuumed after an erasure.
# SKIP_LOCKED: a table another VACUUM holds is left to it (or autovacuum)
# rather than waited for.
_VACUUM = (
    "VACUUM (SKIP_LOCKED) submissions, submission_files, outbox, idempotency_keys, faq_searches,"
    " drafts, submission_contacts"
)

# A rate count in one statement, and with a sweep in the same one.
_HIT = sql.SQL(
    "WITH swept AS ({}) {}".format(
        sweep_statement(lambda name: f"%({name})s", "FOR UPDATE SKIP LOCKED"),
        hit_statement(lambda name: f"%({name})s", "greatest"),
    )
)
_HIT_ONLY = sql.SQL(hit_statement(lambda name: f"%({name})s", "greatest"))


@functools.lru_cache(maxsize=256)
def psycopg_query(statement: str) -> str:
    """``statement`` with psycopg's ``%(name)s`` for each ``:name``."""
    return PARAMETER.sub(r"%(\1)s", statement.replace("%", "%%"))


@functools.lru_cache(maxsize=256)
def many_rows_query(statement: str, count: int) -> str | None:
    """``statement`` (an INSERT of one row) made to insert ``count`` rows at
    once, psycopg's way, each row's ``:name`` as ``name_<i>``; None for a
    statement that is not such an INSERT (see
    :func:`~intakeforms.store.dialect.many_rows`)."""
    shape = many_rows(statement)
    if shape is None:
        return None
    return psycopg_query(shape.statement(count, lambda name, i: f":{name}_{i}"))


class PostgresSession:
    """A :class:`~intakeforms.store.dialect.Session` on a pooled connection."""

    sql = POSTGRES
    schema_version = SCHEMA_VERSION
    # VACUUM only after a purge that changed something: it reads the tables.
    forget_after_every_purge = False

    def __init__(self, connection: Connection, database: str) -> None:
        self.connection = connection
        self.database = database

    async def rows(self, statement: str, values: Values | None = None) -> list[Row]:
        """Every row ``statement`` returns."""
        cursor = await self.connection.execute(psycopg_query(statement), values)
        return await cursor.fetchall()

    async def row(self, statement: str, values: Values | None = None) -> Row | None:
        """The first row ``statement`` returns, or None."""
        cursor = await self.connection.execute(psycopg_query(statement), values)
        return await cursor.fetchone()

    async def change(self, statement: str, values: Values | None = None) -> int:
        """Run ``statement``; how many rows it changed."""
        cursor = await self.connection.execute(psycopg_query(statement), values)
        return cursor.rowcount

    async def change_many(self, statement: str, rows: Sequence[Values]) -> None:
        """Run ``statement`` once with each of ``rows``.

        An INSERT of one row becomes one INSERT of up to :data:`ROWS_AT_ONCE`
        rows: psycopg's ``executemany`` enters pipeline mode and syncs for
        every call, which cost a submission (two or three small inserts)
        more than the inserts themselves.
        """
        if many_rows(statement) is None:
            async with self.connection.cursor() as cursor:
                await cursor.executemany(psycopg_query(statement), rows)
            return
        await self._insert(statement, [row.items() for row in rows])

    async def insert_rows(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows``, each its values in the statement's order (see
        :meth:`change_many`)."""
        shape = many_rows(statement)
        if shape is None:
            raise ValueError(f"not an INSERT of one row: {statement}")
        await self._insert(statement, [zip(shape.names, row, strict=True) for row in rows])

    async def _insert(self, statement: str, rows: Sequence[Iterable[tuple[str, object]]]) -> None:
        """The INSERT of one row ``statement`` for ``rows`` (each its
        parameters' names and values), up to ROWS_AT_ONCE rows a statement."""
        for start in range(0, len(rows), ROWS_AT_ONCE):
            chunk = rows[start : start + ROWS_AT_ONCE]
            query = many_rows_query(statement, len(chunk))
            assert query is not None  # the caller has seen it is such an INSERT
            values = {f"{name}_{i}": v for i, row in enumerate(chunk) for name, v in row}
            await self.connection.execute(query, values)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True, synced: bool = True) -> AsyncIterator[None]:
        """BEGIN … COMMIT (a savepoint inside a transaction); with
        ``synchronous_commit = off`` for this transaction while ``synced`` is
        False. ``write`` makes no difference here."""
        async with self.connection.transaction():
            if not synced:
                await self.connection.execute("SET LOCAL synchronous_commit = off")
            yield

    def moment(self, stored: Any) -> dt.datetime:
        """A ``timestamptz`` (in the session's time zone) in UTC."""
        found: dt.datetime = stored.astimezone(dt.UTC)
        return found

    def answers(self, stored: Any) -> dict[str, Any]:
        """The answers, which arrive decoded from ``jsonb``."""
        found: dict[str, Any] = stored
        return found

    def json_value(self, stored: Any) -> Any:
        """A ``jsonb`` value, which arrives decoded (None stays None)."""
        return stored

    def unstorable(self, error: Exception) -> UnstorableSubmission | None:
        """Data the server refuses for what it is (SQLSTATE class 22, "data
        exception", or 54, "program limit exceeded")."""
        if not isinstance(error, psycopg.Error):
            return None
        state = error.sqlstate or ""
        if not state.startswith(("22", "54")):
            return None
        return UnstorableSubmission(
            "",
            "too_large" if state.startswith("54") else "not_storable",
            f"the submission cannot be stored: PostgreSQL refused its data ({state}, "
            f"{type(error).__name__})",
        )

    async def forget(self) -> None:
        """VACUUM the tables that held erased text, so the dead row versions go.

        The erasure is committed already; a VACUUM that cannot run (a user who
        does not own the tables) is only logged, and autovacuum does it later.
        """
        try:
            await self.connection.execute(_VACUUM)
        except psycopg.Error as exc:
            logger.warning(
                "the store %s could not VACUUM after an erasure (%s); autovacuum removes "
                "the erased rows' old versions later",
                self.database,
                exc.sqlstate or type(exc).__name__,
            )

    async def probe(self, now: dt.datetime) -> int:
        """Lock the version row in a transaction of its own (autocommit),
        which a read-only server or user refuses; its commit writes to the
        server's log, and no table grows. Returns the schema version."""
        cursor = await self.connection.execute(
            sql.SQL("SELECT version FROM {} FOR UPDATE").format(VERSION)
        )
        row = await cursor.fetchone()
        return -1 if row is None else int(row[0])

    async def hit(self, request: Hit, sweep: bool) -> tuple[int, int, object]:
        """Count one request in one statement, one round trip (see
        ``rate.py``); with ``sweep``, the same statement deletes some expired
        rows, passing over those another process is deleting."""
        cursor = await self.connection.execute(_HIT if sweep else _HIT_ONLY, request.values())
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), bool(row[2])
