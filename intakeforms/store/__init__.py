"""The store: submissions kept durably, with an outbox row per delivery.

A submission is acknowledged (201 and its reference) only after
:meth:`Store.save` returns, so what the customer was told is on disk; the
delivery worker reads the outbox afterwards. Backends are picked by URL::

    store = open_store("sqlite:///intake.db")
    await store.open()
    result = await store.save(NewSubmission(...))

Every database failure raises :class:`~intakeforms.errors.StoreUnavailable`.
"""

from __future__ import annotations

from intakeforms.errors import IntakeError, StoreUnavailable
from intakeforms.store.base import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    NewSubmission,
    OutboxJob,
    SaveResult,
    Store,
    StoredFile,
    StoredSubmission,
    new_reference,
)
from intakeforms.store.sqlite import SqliteStore

__all__ = [
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "NewSubmission",
    "OutboxJob",
    "SaveResult",
    "SqliteStore",
    "Store",
    "StoreUnavailable",
    "StoredFile",
    "StoredSubmission",
    "new_reference",
    "open_store",
]


def open_store(url: str, *, busy_timeout: float | None = None) -> Store:
    """The store for ``url`` (the ``INTAKE_STORE`` setting), not yet opened.

    ``sqlite:///intake.db`` is a file relative to the working folder,
    ``sqlite:////srv/intake.db`` an absolute path, ``sqlite:///:memory:`` a
    private in-memory database for tests. ``?timeout=SECONDS`` sets how long
    a write waits for another writer (default 5); ``?mode=ro`` opens an
    existing database read-only. ``busy_timeout`` overrides ``?timeout``.
    Call ``await store.open()`` before use. An unknown or unsupported URL
    raises :class:`~intakeforms.errors.IntakeError`.
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return SqliteStore.from_url(url, busy_timeout=busy_timeout)
    # Only the scheme is ever echoed: the rest of a URL may hold a password.
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        raise IntakeError(
            "INTAKE_STORE: a PostgreSQL store is not available yet in this version of "
            "intakeforms; use a SQLite file such as sqlite:///intake.db for now"
        )
    shown = f"a {scheme!r} URL" if scheme else "no URL scheme"
    raise IntakeError(
        f"INTAKE_STORE has {shown}; write sqlite:///path/to/intake.db "
        "(a relative path) or sqlite:////absolute/path/intake.db"
    )
