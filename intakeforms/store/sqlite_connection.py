"""The SQLite store's one connection: how it is made, and made again.

:class:`Connection` opens the file (WAL, ``secure_delete``, the schema)
and hands out the connection for each call. Nothing that failed sticks: a
connection left in a broken transaction is given up and made again on the
next call, and a database file replaced under the store (a backup restored
while the service runs) is opened as a restart would open it. Only a
deleted file is refused until one is back at the path.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import quote

from intakeforms.errors import StoreUnavailable
from intakeforms.store.sqlite_errors import error_name, message, unavailable
from intakeforms.store.sqlite_files import file_id, make_private
from intakeforms.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["MEMORY", "Connection", "transaction", "unsynced", "user_version"]

logger = logging.getLogger("intakeforms.store")

MEMORY = ":memory:"


@contextmanager
def transaction(connection: sqlite3.Connection, kind: str = "IMMEDIATE") -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK on any error.

    Writes use BEGIN IMMEDIATE: the write lock is taken up front, waiting up
    to the busy timeout. A deferred transaction that reads and then writes
    fails at once with SQLITE_BUSY in WAL mode when another write came in
    between, and the busy timeout would not help it. It is also what makes
    claiming safe: two claimers are serialised, so the second one sees the
    first one's claims.
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


@contextmanager
def unsynced(connection: sqlite3.Connection) -> Iterator[None]:
    """Commits that do not wait for the disk (``synchronous = NORMAL`` in
    WAL mode), for writes whose loss in a power cut costs no submission:
    delivered marks, rate counts, the health check's probe."""
    connection.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        connection.execute("PRAGMA synchronous = FULL")


class Connection:
    """The connection to ``database`` (an absolute path or ``:memory:``),
    used by one thread at a time (the store's limiter sees to that)."""

    def __init__(self, database: str, *, read_only: bool, busy_timeout: float) -> None:
        self.database = database
        self.memory = database == MEMORY
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self.current: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None

    def open(self) -> None:
        """Connect, switch to WAL and create or upgrade the tables."""
        if not self.memory and not self.read_only:
            make_private(self.database)
        try:
            connection = self._connect()
        except sqlite3.Error as exc:
            raise self.unavailable(exc) from exc
        try:
            self._prepare(connection)
            identity = None if self.memory else file_id(self.database)
        except BaseException as exc:
            connection.close()
            if isinstance(exc, sqlite3.Error):
                raise self.unavailable(exc) from exc
            raise
        self.current, self._file_id = connection, identity

    def close(self) -> None:
        """Disconnect (SQLite checkpoints the WAL when it is the last one)."""
        connection, self.current = self.current, None
        if connection is not None:
            try:
                connection.close()
            except sqlite3.Error as exc:  # pragma: no cover - a failed final checkpoint
                raise self.unavailable(exc) from exc

    def usable(self) -> sqlite3.Connection:
        """The connection to the file now at the path, opened anew if need be.

        A deleted file is refused, and the connection to it kept: until a
        file is back at the path, it is the only way left to the data (an
        operator can copy it out of ``/proc/PID/fd``).
        """
        connection = self.current
        if self.memory and connection is not None:
            return connection
        try:
            now = None if self.memory else file_id(self.database)
        except OSError as exc:
            raise StoreUnavailable(self.message(f"it cannot be looked at ({exc})")) from exc
        if connection is not None and now == self._file_id:
            return connection
        if now is None and not self.memory:
            raise StoreUnavailable(
                self.message(
                    "the file was deleted after the store opened it; put the database "
                    "back at that path (a copy made with .backup) and the store opens it "
                    "by itself, or restart the service to start a new one"
                )
            )
        if connection is not None:
            logger.warning("the store file %s was replaced; opening the new file", self.database)
            self.discard()
        self.open()
        assert self.current is not None
        return self.current

    def settle(self, connection: sqlite3.Connection) -> None:
        """After a call: a failure whose rollback failed too leaves a
        transaction open, and every later BEGIN would fail; end it, or give
        the connection up so that the next call makes a new one."""
        if not connection.in_transaction or self.current is not connection:
            return
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            self.discard()

    def discard(self) -> None:
        """Give the connection up; the next :meth:`usable` makes a new one."""
        connection, self.current = self.current, None
        if connection is not None:
            with suppress(sqlite3.Error):
                connection.close()

    def message(self, problem: str) -> str:
        """A message about this store."""
        return message(self.database, problem)

    def unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        """What went wrong, in words that say what to do about it."""
        return unavailable(
            self.database, exc, read_only=self.read_only, busy_timeout=self.busy_timeout
        )

    def _connect(self) -> sqlite3.Connection:
        target, uri = self.database, False
        if self.read_only and not self.memory:
            target, uri = f"file:{quote(self.database)}?mode=ro", True
        # isolation_level=None: the module starts no transactions of its own;
        # transaction() says exactly where each one begins and ends.
        return sqlite3.connect(
            target,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,  # one call at a time, see the store's limiter
            uri=uri,
        )

    def _prepare(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA foreign_keys = ON")
        # Whatever a DELETE or UPDATE frees is overwritten with zeros, so
        # erased answers cannot be read back from the file's free space.
        connection.execute("PRAGMA secure_delete = ON")
        if not self.memory and not self.read_only:
            # WAL: readers (the health check, the worker) never block the
            # writer, and the setting is kept in the file.
            mode = self._wal(connection)
            if mode != "wal":
                raise StoreUnavailable(
                    self.message(
                        f"it cannot use WAL mode (it stays in {mode!r} mode); keep the "
                        "database on a local disk, not a network share"
                    )
                )
        # FULL rather than NORMAL: in WAL mode NORMAL may lose the last
        # commits on power loss, and a reference shown to a customer must
        # survive that. One fsync per submission is cheap at form rates.
        connection.execute("PRAGMA synchronous = FULL")
        self._migrate(connection)

    def _wal(self, connection: sqlite3.Connection) -> str:
        """Switch to WAL mode; the journal mode the file is in afterwards.

        Switching needs the file to itself for a moment, and while another
        connection is opening the same new file SQLite answers "database is
        locked" at once, without its busy handler: wait for that as long as
        for any other lock (several processes start on one new file).
        """
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.005
        while True:
            try:
                return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not error_name(exc).startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _migrate(self, connection: sqlite3.Connection) -> None:
        version = user_version(connection)
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                self.message(
                    f"it has schema version {version}, written by a newer intakeforms "
                    f"(this one knows version {SCHEMA_VERSION}); upgrade intakeforms"
                )
            )
        if self.read_only:
            raise StoreUnavailable(
                self.message(
                    "it has no intakeforms tables (or older ones) and is opened "
                    "read-only; open it read-write once to create them"
                )
            )
        with transaction(connection):
            # Read again under the write lock: another process may have
            # migrated while this one waited for it.
            for step in MIGRATIONS[user_version(connection) :]:
                for statement in step:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


def user_version(connection: sqlite3.Connection) -> int:
    """The schema version, from the file's header."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])
