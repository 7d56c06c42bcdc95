"""How the PostgreSQL store writes one submission, and makes its tables.

Each save is a transaction of its own on a pooled connection, so one
submission that cannot be stored fails alone: its error never reaches
another save. Data the server refuses for what it is (SQLSTATE class 22,
"data exception", or 54, "program limit exceeded") is the submission's
fault, not the database's, and raises
:class:`~intakeforms.store.UnstorableSubmission` instead of
:class:`~intakeforms.errors.StoreUnavailable`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psycopg
from psycopg import sql

from intakeforms.errors import StoreUnavailable
from intakeforms.store import base
from intakeforms.store import postgres_queries as queries
from intakeforms.store.base import NewSubmission, SaveResult
from intakeforms.store.postgres_pool import Connection
from intakeforms.store.postgres_schema import MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION
from intakeforms.store.storable import UnstorableSubmission, spam_reason

__all__ = ["migrate", "save"]

# Same reasoning as the SQLite store: ten collisions in a row means the
# random source is broken, not that the references ran out.
REFERENCE_TRIES = 10


class _KeyTaken(Exception):
    """Another transaction stored the same idempotency key first."""


async def save(
    c: Connection,
    new: NewSubmission,
    data: str,
    now: dt.datetime,
    message: Callable[[str], str],
) -> SaveResult:
    """Store ``new`` with ``data`` (its answers as JSON text) in one
    transaction; a repeated idempotency key returns the first reference."""
    # Twice at most: the key's first owner could roll back (or its
    # submission be erased) between our two looks.
    for _ in range(2):
        try:
            return await _save(c, new, data, now, message)
        except _KeyTaken:
            seen = await queries.seen_key(c, new)
            if seen is not None:
                return SaveResult(seen, created=False)
        except psycopg.Error as exc:
            state = exc.sqlstate or ""
            if not state.startswith(("22", "54")):
                raise
            raise UnstorableSubmission(
                "",
                "too_large" if state.startswith("54") else "not_storable",
                f"the submission cannot be stored: PostgreSQL refused its data ({state}, "
                f"{type(exc).__name__})",
            ) from None
    raise StoreUnavailable(  # pragma: no cover - needs a race lost twice in a row
        message("an idempotency key kept changing hands; retry")
    )


async def _save(
    c: Connection,
    new: NewSubmission,
    data: str,
    now: dt.datetime,
    message: Callable[[str], str],
) -> SaveResult:
    async with c.transaction():
        seen = await queries.seen_key(c, new)
        if seen is not None:
            return SaveResult(seen, created=False)
        reference = await _insert_submission(c, new, data, now, message)
        async with c.cursor() as cursor:
            if new.files:
                await cursor.executemany(
                    "INSERT INTO submission_files"
                    " (reference, position, field, name, content_type, size, path)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (reference, i, f.field, f.name, f.content_type, f.size, f.path)
                        for i, f in enumerate(new.files)
                    ],
                )
            if new.targets and not new.spam:  # spam is kept, never delivered
                await cursor.executemany(
                    "INSERT INTO outbox"
                    " (reference, target, next_attempt_at, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [(reference, target, now, now, now) for target in new.targets],
                )
        if new.idempotency_key is not None:
            # A concurrent save with the same key makes this wait for it;
            # when it commits, DO NOTHING, and the whole save rolls back.
            cursor = await c.execute(
                "INSERT INTO idempotency_keys (form, idempotency_key, reference, created_at)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING reference",
                (new.form, new.idempotency_key, reference, now),
            )
            if await cursor.fetchone() is None:
                raise _KeyTaken
    return SaveResult(reference, created=True)


async def _insert_submission(
    c: Connection,
    new: NewSubmission,
    data: str,
    now: dt.datetime,
    message: Callable[[str], str],
) -> str:
    for _ in range(REFERENCE_TRIES):
        reference = base.new_reference(new.reference_prefix)
        cursor = await c.execute(
            sql.SQL(
                "INSERT INTO submissions ({})"
                " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)"
                " ON CONFLICT (reference) DO NOTHING RETURNING reference"
            ).format(queries.SUBMISSION_COLUMNS),
            (
                reference,
                new.form,
                new.form_version,
                new.locale,
                data,
                new.spam,
                new.client,
                now,
                spam_reason(new),
            ),
        )
        if await cursor.fetchone() is not None:
            return reference
    raise StoreUnavailable(
        message(
            f"no free reference for prefix {new.reference_prefix} after "
            f"{REFERENCE_TRIES} tries; the random source repeats itself"
        )
    )


async def migrate(c: Connection, message: Callable[[str], str]) -> None:
    """Create or upgrade the tables, one process after another."""
    # A look without the lock first: normally the tables are there, and a
    # user without the right to create tables can still use them.
    version = await queries.read_version(c)
    if version == SCHEMA_VERSION:
        return
    async with c.transaction():
        await c.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await c.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " one boolean PRIMARY KEY DEFAULT true CHECK (one),"
                " version integer NOT NULL)"
            ).format(queries.VERSION)
        )
        await c.execute(
            sql.SQL("INSERT INTO {} (version) VALUES (0) ON CONFLICT DO NOTHING").format(
                queries.VERSION
            )
        )
        # Read again under the lock: another process may have migrated
        # while this one waited for it.
        version = await queries.read_version(c) or 0
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                message(
                    f"it has schema version {version}, written by a newer intakeforms "
                    f"(this one knows version {SCHEMA_VERSION}); upgrade intakeforms"
                )
            )
        for step in MIGRATIONS[version:]:
            for statement in step:
                await c.execute(statement)
        await c.execute(
            sql.SQL("UPDATE {} SET version = %s").format(queries.VERSION), (SCHEMA_VERSION,)
        )
