"""The store: submissions kept durably, with an outbox row per delivery.

A submission is acknowledged (201 and its reference) only after
:meth:`Store.save` returns, so what the customer was told is on disk; the
delivery worker then claims its outbox jobs, delivers them and reports each
outcome. Backends are picked by URL::

    store = open_store("sqlite:///intake.db")   # or postgresql://user@host/db
    await store.open()
    result = await store.save(NewSubmission(...))

    worker = new_worker_id()
    for claimed in await store.claim(worker, limit=10, lease_seconds=300):
        ...  # deliver claimed.submission to claimed.job.target
        await store.complete(claimed.job.id, worker=worker, receipt="250 OK")

Every database failure raises :class:`~intakeforms.errors.StoreUnavailable`;
a submission holding text no store can keep raises
:class:`UnstorableSubmission` (that one save only); a worker reporting on a
job it lost raises :class:`~intakeforms.errors.LeaseLost`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intakeforms.errors import LeaseLost, SettingsError, StoreUnavailable
from intakeforms.store.base import (
    FAQ_EVENTS,
    JOB_STATUSES,
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    ClaimedJob,
    ContactQuery,
    DraftRecord,
    EarlierContact,
    FaqCounts,
    FaqSearchRecord,
    NewSubmission,
    OutboxJob,
    PurgeResult,
    SaveResult,
    SpamEntry,
    Store,
    StoredFile,
    StoredSubmission,
    new_reference,
    new_worker_id,
)
from intakeforms.store.drafts import MAX_DRAFT_DAYS
from intakeforms.store.events import EVENT_SESSION, EventColumns, EventFields, event_fields
from intakeforms.store.faq import FAQ_QUERY_DAYS, MAX_FAQ_QUERY
from intakeforms.store.records import EVENT_CHANNELS, EVENT_KINDS, EventRecord
from intakeforms.store.sqlite import SqliteStore
from intakeforms.store.storable import UnstorableSubmission

if TYPE_CHECKING:
    from intakeforms.store.postgres import PostgresStore

__all__ = [
    "EVENT_CHANNELS",
    "EVENT_KINDS",
    "EVENT_SESSION",
    "FAQ_EVENTS",
    "FAQ_QUERY_DAYS",
    "JOB_STATUSES",
    "MAX_DRAFT_DAYS",
    "MAX_FAQ_QUERY",
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "ClaimedJob",
    "ContactQuery",
    "DraftRecord",
    "EarlierContact",
    "EventColumns",
    "EventFields",
    "EventRecord",
    "FaqCounts",
    "FaqSearchRecord",
    "LeaseLost",
    "NewSubmission",
    "OutboxJob",
    "PostgresStore",
    "PurgeResult",
    "SaveResult",
    "SpamEntry",
    "SqliteStore",
    "Store",
    "StoreUnavailable",
    "StoredFile",
    "StoredSubmission",
    "UnstorableSubmission",
    "event_fields",
    "new_reference",
    "new_worker_id",
    "open_store",
]


def open_store(url: str, *, busy_timeout: float | None = None) -> Store:
    """The store for ``url`` (the ``INTAKE_STORE`` setting), not yet opened.

    ``sqlite:///intake.db`` is a file relative to the working folder,
    ``sqlite:////srv/intake.db`` an absolute path, ``sqlite:///:memory:`` a
    private in-memory database for tests. ``?timeout=SECONDS`` sets how long
    a write waits for another writer (default 5); ``?mode=ro`` opens an
    existing database read-only.

    ``postgresql://user:password@host:5432/database`` (or ``postgres://``)
    is a PostgreSQL database shared by many processes; besides libpq's
    options (``sslmode``, ``connect_timeout``, ``options``, …) it takes
    ``?timeout=SECONDS`` (how long a call waits for a locked row or a free
    connection, default 5) and ``?pool_size=N`` (connections per process,
    default 10).

    ``busy_timeout`` overrides ``?timeout``. Call ``await store.open()``
    before use. An unknown or unsupported URL raises
    :class:`~intakeforms.errors.SettingsError`.
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return SqliteStore.from_url(url, busy_timeout=busy_timeout)
    # Only the scheme is ever echoed: the rest of a URL may hold a password.
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        # Imported here: psycopg loads only in processes that use PostgreSQL.
        from intakeforms.store.postgres import PostgresStore

        return PostgresStore.from_url(url, busy_timeout=busy_timeout)
    shown = f"a {scheme!r} URL" if scheme else "no URL scheme"
    raise SettingsError(
        f"INTAKE_STORE has {shown}; write sqlite:///path/to/intake.db (a relative path), "
        "sqlite:////absolute/path/intake.db or postgresql://USER@HOST:PORT/DATABASE"
    )


def __getattr__(name: str) -> object:
    # PostgresStore on first use, so that a SQLite service never loads psycopg.
    if name == "PostgresStore":
        from intakeforms.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
