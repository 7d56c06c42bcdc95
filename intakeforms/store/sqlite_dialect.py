"""The shared store code's session on SQLite: its SQL, values and transactions.

:class:`SqliteSession` wraps the store's one :class:`sqlite3.Connection` on
the store's thread; :class:`~intakeforms.store.SqliteStore` runs each
operation on it with :func:`~intakeforms.store.dialect.run_now`.

What is SQLite's own here: one writer at a time (every write transaction is
``BEGIN IMMEDIATE``, so a claim or an erasure needs no row locks); times
stored as ISO-8601 text and answers as JSON text; a list of references
passed as JSON text and read with ``json_each``; commits that need not wait
for the disk made with ``synchronous = NORMAL``.

Erased text must not stay readable in the files. The connection runs with
``PRAGMA secure_delete = ON``, so SQLite overwrites with zeros whatever a
DELETE or UPDATE frees, freed pages included. In WAL mode the old pages
also live on in the ``-wal`` file until a checkpoint copies the new ones
into the database, so :meth:`SqliteSession.forget` checkpoints and
truncates the WAL after every erasure (``PRAGMA wal_checkpoint(TRUNCATE)``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from operator import itemgetter
from types import TracebackType
from typing import Any

from intakeforms.store.dialect import (
    DRAFT_COLUMNS,
    JOB_COLUMNS,
    ROWS_AT_ONCE,
    SUBMISSION_COLUMNS,
    ManyRows,
    Row,
    Statements,
    Values,
    many_rows,
)
from intakeforms.store.rate import Hit, hit_statement, sweep_statement
from intakeforms.store.sqlite_connection import transaction, unsynced, user_version
from intakeforms.store.sqlite_errors import error_name
from intakeforms.store.sqlite_schema import SCHEMA_VERSION, parse_timestamp, timestamp
from intakeforms.store.storable import UnstorableSubmission

__all__ = ["SQLITE", "SqliteSession"]

logger = logging.getLogger("intakeforms.store")

# A list of references, passed as JSON text: SQLite looks each one up in
# the table's index.
_AMONG = "IN (SELECT value FROM json_each(:references))"
#: Values SQLite keeps as they are; times and lists go through _value.
_AS_IS = frozenset({str, int, float, bytes, bool, type(None)})

# The f-strings (noqa: S608) only splice in column lists and _AMONG.
SQLITE = Statements(
    insert_submission=(
        "INSERT INTO submissions (reference, form, form_version, locale, data, spam,"
        " client, submitted_at, spam_reason, context) VALUES (:reference, :form,"
        " :form_version, :locale, :data, :spam, :client, :now, :spam_reason, :context)"
        " ON CONFLICT (reference) DO NOTHING"
    ),
    submissions_in=f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE reference {_AMONG}",  # noqa: S608
    files_in=(
        "SELECT reference, field, name, content_type, size, path FROM submission_files"  # noqa: S608
        f" WHERE reference {_AMONG} ORDER BY reference, position"
    ),
    # The transaction's BEGIN IMMEDIATE serialises claimers, in this process
    # and others, so the second one sees the first one's claims. status IN
    # (…) lets SQLite look up just the unfinished jobs in the
    # outbox_by_status index instead of scanning the whole outbox.
    claim=(
        "UPDATE outbox SET status = 'claimed', claimed_by = :worker,"  # noqa: S608
        " lease_until = :until, attempts = attempts + 1, updated_at = :now"
        " WHERE id IN ("
        "  SELECT id FROM outbox WHERE status IN ('pending', 'claimed')"
        "  AND ((status = 'pending' AND next_attempt_at <= :now)"
        "   OR (status = 'claimed' AND lease_until <= :now))"
        "  ORDER BY id LIMIT :limit)"
        f" RETURNING {JOB_COLUMNS}"
    ),
    # One writer at a time: the transaction's write lock is the row lock.
    lock_submission="SELECT 1 FROM submissions WHERE reference = :reference",
    lock_spam="SELECT 1 FROM submissions WHERE reference = :reference AND spam = 1",
    spam_list=(
        "SELECT reference, form, submitted_at, spam_reason FROM submissions"
        " WHERE spam = 1 AND erased_at IS NULL AND (:form IS NULL OR form = :form)"
        " ORDER BY submitted_at DESC, reference DESC LIMIT :limit"
    ),
    release=(
        "UPDATE submissions SET spam = 0, spam_reason = ''"
        " WHERE reference = :reference AND spam = 1 AND erased_at IS NULL"
    ),
    erase=(
        "UPDATE submissions SET data = '{}', client = NULL, context = NULL,"  # noqa: S608
        " erased_at = :now"
        f" WHERE reference {_AMONG}",
        f"DELETE FROM submission_files WHERE reference {_AMONG}",  # noqa: S608
        f"DELETE FROM idempotency_keys WHERE reference {_AMONG}",  # noqa: S608
        # Nothing is sent after an erasure: a job not delivered yet is given up.
        "UPDATE outbox SET receipt = NULL, recipient_hash = NULL, lease_until = NULL,"  # noqa: S608
        " last_error = CASE WHEN status = 'delivered' THEN NULL ELSE 'erased' END,"
        " status = CASE WHEN status = 'delivered' THEN status ELSE 'dead' END,"
        f" updated_at = :now WHERE reference {_AMONG}",
        # Nothing ties an erased submission to its customer any more.
        f"DELETE FROM submission_contacts WHERE reference {_AMONG}",  # noqa: S608
    ),
    delete_submissions=f"DELETE FROM submissions WHERE reference {_AMONG}",  # noqa: S608
    purge_erasable=(
        "SELECT reference FROM submissions"
        " WHERE spam = 0 AND erased_at IS NULL AND submitted_at < :before"
        " AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.reference ="
        " submissions.reference AND outbox.status <> 'delivered')"
        " ORDER BY submitted_at LIMIT :chunk"
    ),
    purge_spam=(
        "SELECT reference FROM submissions WHERE spam = 1 AND submitted_at < :before"
        " ORDER BY submitted_at LIMIT :chunk"
    ),
    clear_clients=(
        "UPDATE submissions SET client = NULL WHERE reference IN (SELECT reference"
        " FROM submissions WHERE client IS NOT NULL AND submitted_at < :before"
        " LIMIT :chunk)"
    ),
    insert_faq_search=(
        "INSERT INTO faq_searches (id, language, form, channel, query, query_key, results,"
        " result_count, top_score, searched_at) VALUES (:id, :language, :form, :channel,"
        " :query, :query_key, :results, :result_count, :top_score, :at)"
        " ON CONFLICT (id) DO NOTHING"
    ),
    # BINARY (SQLite's default) compares UTF-8 bytes: code point order.
    faq_gaps=(
        "SELECT query_key, count(*) AS n FROM faq_searches"
        " WHERE searched_at >= :since AND result_count = 0 AND query_key <> ''"
        " GROUP BY query_key ORDER BY n DESC, query_key COLLATE BINARY LIMIT :limit"
    ),
    blank_faq_queries=(
        "UPDATE faq_searches SET query = '', query_key = '' WHERE id IN (SELECT id"
        " FROM faq_searches WHERE query <> '' AND searched_at < :before LIMIT :chunk)"
    ),
    save_draft=(
        "INSERT INTO drafts (id, form, locale, data, email, email_key, created_at,"
        " expires_at, mail_sent_at) VALUES (:id, :form, :locale, :data, :email, :email_key,"
        " :created_at, :expires_at, :mail_sent_at) ON CONFLICT (id) DO UPDATE SET"
        " form = excluded.form, locale = excluded.locale, data = excluded.data,"
        " email = excluded.email, email_key = excluded.email_key,"
        " created_at = excluded.created_at, expires_at = excluded.expires_at,"
        " mail_sent_at = excluded.mail_sent_at, mail_attempts = 0, mail_claimed_until = NULL"
    ),
    # BEGIN IMMEDIATE serialises claimers, as for the outbox.
    claim_draft_mails=(
        "UPDATE drafts SET mail_claimed_until = :until, mail_attempts = mail_attempts + 1"  # noqa: S608
        " WHERE id IN (SELECT id FROM drafts WHERE mail_sent_at IS NULL"
        " AND expires_at > :now AND mail_attempts < :attempts"
        " AND (mail_claimed_until IS NULL OR mail_claimed_until <= :now)"
        " ORDER BY created_at, id LIMIT :limit)"
        f" RETURNING {DRAFT_COLUMNS}"
    ),
    purge_drafts=(
        "DELETE FROM drafts WHERE id IN (SELECT id FROM drafts"
        " WHERE expires_at <= :now LIMIT :chunk)"
    ),
    earlier_contacts=(
        "SELECT reference, form, submitted_at, erased_at, data FROM submissions"
        " WHERE reference IN (SELECT reference FROM submission_contacts"
        " WHERE key IN (SELECT value FROM json_each(:keys)))"
        " AND spam = 0 AND submitted_at >= :since"
        " AND submitted_at <= CASE WHEN :before = '' THEN :until"
        " ELSE (SELECT b.submitted_at FROM submissions b WHERE b.reference = :before) END"
        " AND reference <> :before"
        " ORDER BY submitted_at DESC, reference DESC LIMIT :limit"
    ),
    contacts_of_keys=(
        "SELECT c.key, s.reference, s.form, s.submitted_at, s.erased_at, s.data"
        " FROM submission_contacts c JOIN submissions s ON s.reference = c.reference"
        " WHERE c.key IN (SELECT value FROM json_each(:keys))"
        " AND s.spam = 0 AND s.submitted_at >= :since AND s.submitted_at <= :until"
        " LIMIT :limit"
    ),
)

_HIT = hit_statement(lambda name: f":{name}", "max")
_SWEEP = sweep_statement(lambda name: f":{name}")
_PROBE = (
    "INSERT INTO store_health (one, checked_at) VALUES (1, :now)"
    " ON CONFLICT (one) DO UPDATE SET checked_at = excluded.checked_at"
)


class _Savepoint:
    """A savepoint inside the transaction under way, as an ``async with``
    block: what fails in it is rolled back alone, and the transaction goes
    on. (A class rather than a generator: every save of a batch has one.)"""

    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def __aenter__(self) -> None:
        self._connection.execute("SAVEPOINT nested")

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        c = self._connection
        if kind is not None and c.in_transaction:  # else SQLite rolled back everything
            c.execute("ROLLBACK TO nested")
        if c.in_transaction:
            c.execute("RELEASE nested")


@functools.lru_cache(maxsize=256)
def _positional(shape: ManyRows, count: int) -> str:
    """The INSERT of ``count`` rows of ``shape``, each value a ``?``."""
    return shape.statement(count, lambda _name, _i: "?")


class SqliteSession:
    """A :class:`~intakeforms.store.dialect.Session` on ``connection`` (on
    the store's thread); every call is answered before it returns."""

    sql = SQLITE
    schema_version = SCHEMA_VERSION
    # Every purge checkpoints: that also empties a WAL an earlier erasure
    # could not (a reader kept it).
    forget_after_every_purge = True

    def __init__(
        self, connection: sqlite3.Connection, database: str, *, read_only: bool = False
    ) -> None:
        self.connection = connection
        self.database = database
        self.read_only = read_only
        self._moment: dt.datetime | None = None
        self._text = ""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is under way (SQLite rolls back a whole
        transaction by itself on some failures: a full disk, an I/O error)."""
        return self.connection.in_transaction

    async def rows(self, statement: str, values: Values | None = None) -> list[Row]:
        """Every row ``statement`` returns."""
        return self.connection.execute(statement, self._stored(values)).fetchall()

    async def row(self, statement: str, values: Values | None = None) -> Row | None:
        """The first row ``statement`` returns, or None."""
        found: Row | None = self.connection.execute(statement, self._stored(values)).fetchone()
        return found

    async def change(self, statement: str, values: Values | None = None) -> int:
        """Run ``statement``; how many rows it changed."""
        return self.connection.execute(statement, self._stored(values)).rowcount

    async def change_many(self, statement: str, rows: Sequence[Values]) -> None:
        """Run ``statement`` once with each of ``rows``.

        An INSERT of one row becomes one INSERT of up to
        :data:`~intakeforms.store.dialect.ROWS_AT_ONCE` rows, its values
        bound by position: a row of a batch of events costs a fifth less
        than through ``executemany`` (which binds each row by name).
        """
        shape = many_rows(statement) if len(rows) > 1 else None
        if shape is None:
            self.connection.executemany(statement, [self._stored(values) for values in rows])
            return
        names = shape.names
        # A row's values in the statement's order (a tuple even for one name).
        values_of = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        self._insert(shape, [values_of(row) for row in rows])

    async def insert_rows(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows``, each its values in the statement's order, in
        INSERTs of up to ROWS_AT_ONCE rows (see :meth:`change_many`)."""
        shape = many_rows(statement)
        if shape is None:
            raise ValueError(f"not an INSERT of one row: {statement}")
        self._insert(shape, rows)

    def _insert(self, shape: ManyRows, rows: Sequence[Sequence[object]]) -> None:
        # SQLite before 3.32 takes at most 999 values a statement.
        at_once = max(1, min(ROWS_AT_ONCE, 999 // max(1, len(shape.names))))
        value = self._value
        for start in range(0, len(rows), at_once):
            chunk = rows[start : start + at_once]
            flat = [v if type(v) in _AS_IS else value(v) for row in chunk for v in row]
            self.connection.execute(_positional(shape, len(chunk)), flat)

    def _value(self, value: object) -> object:
        """One value as SQLite keeps it (see :meth:`_stored`)."""
        if isinstance(value, dt.datetime):
            if value is not self._moment:
                self._moment, self._text = value, timestamp(value)
            return self._text
        if isinstance(value, list):
            return json.dumps(value)
        return value

    def _stored(self, values: Values | None) -> Values:
        """The values as SQLite keeps them: times as ISO-8601 text, lists as JSON."""
        if not values:
            return {}
        stored: dict[str, object] | None = None
        for name, value in values.items():
            if isinstance(value, dt.datetime | list):
                if stored is None:
                    stored = dict(values)
                stored[name] = self._value(value)
        return values if stored is None else stored

    def transaction(
        self, *, write: bool = True, synced: bool = True
    ) -> AbstractAsyncContextManager[None]:
        """BEGIN IMMEDIATE (DEFERRED for reads) … COMMIT, with ``synchronous
        = NORMAL`` while ``synced`` is False; a savepoint inside a transaction."""
        if self.connection.in_transaction:
            return _Savepoint(self.connection)
        return self._transaction(write, synced)

    @asynccontextmanager
    async def _transaction(self, write: bool, synced: bool) -> AsyncIterator[None]:
        c = self.connection
        with (
            nullcontext() if synced else unsynced(c),
            transaction(c, "IMMEDIATE" if write else "DEFERRED"),
        ):
            yield

    def moment(self, stored: Any) -> dt.datetime:
        """A stored time (ISO-8601 text) as an aware UTC datetime."""
        return parse_timestamp(stored)

    def answers(self, stored: Any) -> dict[str, Any]:
        """Stored answers (JSON text) as a dict."""
        found: dict[str, Any] = json.loads(stored)
        return found

    def json_value(self, stored: Any) -> Any:
        """Stored JSON text as Python values; None stays None."""
        return None if stored is None else json.loads(stored)

    def unstorable(self, error: Exception) -> UnstorableSubmission | None:
        """A value SQLite cannot hold: a text or blob over its size limit, a
        number over 64 bits, text that is not Unicode."""
        if isinstance(error, sqlite3.Error) and error_name(error) == "SQLITE_TOOBIG":
            return UnstorableSubmission(
                "", "too_large", "the submission cannot be stored: it is larger than SQLite allows"
            )
        if isinstance(error, UnicodeError):
            return UnstorableSubmission(
                "", "lone_surrogate", "the submission cannot be stored: a text is not valid Unicode"
            )
        if isinstance(error, OverflowError):
            return UnstorableSubmission(
                "", "too_large", "the submission cannot be stored: a number is too large for SQLite"
            )
        return None

    async def forget(self) -> None:
        """Copy the erased pages into the database file and empty the WAL, so
        the old pages are no longer in the ``-wal`` file.

        The checkpoint waits (up to the busy timeout) for readers still using
        old pages; when one outlasts it, the WAL keeps them until the next
        checkpoint, and a warning says so.
        """
        busy, _, _ = self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            logger.warning(
                "the store %s could not empty its -wal file after an erasure: another "
                "connection kept reading; the erased text stays in %s-wal until the next "
                "checkpoint (the next erasure, purge, or when every connection closes)",
                self.database,
                self.database,
            )

    async def probe(self, now: dt.datetime) -> int:
        """Take the write lock and rewrite the one row of ``store_health``
        (the file does not grow), committed without waiting for the disk.
        Returns the schema version; when it is not this release's, nothing
        is written. A read-only store only reads the version, from the
        file's header (that still touches the disk)."""
        c = self.connection
        if self.read_only:
            return user_version(c)
        with unsynced(c), transaction(c):
            version = user_version(c)
            if version == SCHEMA_VERSION:
                c.execute(_PROBE, {"now": timestamp(now)})
        return version

    async def hit(self, request: Hit, sweep: bool) -> tuple[int, int, object]:
        """Count one request (see ``rate.py``): the sweep, then the UPSERT,
        in one transaction that does not wait for the disk."""
        c = self.connection
        values = request.values()
        with unsynced(c), transaction(c):
            if sweep:
                c.execute(_SWEEP, values)
            row = c.execute(_HIT, values).fetchone()
        return int(row[0]), int(row[1]), int(row[2])
