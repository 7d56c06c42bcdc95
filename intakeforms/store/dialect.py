"""What the shared store code asks of a database: a :class:`Session`.

The store's operations (``submissions.py``, ``outbox.py``, ``privacy.py``)
are written once, as coroutines of a :class:`Session`, and
:class:`~intakeforms.store.engine.SqlStore` runs them. A dialect
(``sqlite_dialect.py``, ``postgres_dialect.py``) implements the session for
one database: the SQL that differs between them (:class:`Statements`), how
values are written and read back, transactions, which driver errors mean
the submission itself cannot be stored, and the few steps that have no
common shape (a write probe, a rate count, making erased text unreadable).

Every statement is written with ``:name`` parameters, whose values are
plain Python: ``datetime`` (aware, UTC), ``bool``, ``str``, numbers, and a
``list`` of references where a statement takes several.

PostgreSQL's driver is asynchronous, hence coroutines. SQLite's is not: a
SQLite session never waits for anything, so on the store's thread
:func:`run_now` runs an operation to its end in one step, with no event loop.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from intakeforms.store.rate import Hit
from intakeforms.store.storable import UnstorableSubmission

__all__ = [
    "DRAFT_COLUMNS",
    "JOB_COLUMNS",
    "PARAMETER",
    "ROWS_AT_ONCE",
    "SUBMISSION_COLUMNS",
    "ManyRows",
    "Row",
    "Session",
    "Statements",
    "Values",
    "Work",
    "many_rows",
    "message",
    "run_now",
]

_T = TypeVar("_T")

#: A row as the drivers return it: a tuple of column values.
Row = tuple[Any, ...]
#: The values of a statement's ``:name`` parameters.
Values = Mapping[str, object]

#: What every statement that returns submissions selects, in the order
#: :func:`~intakeforms.store.submissions.read` takes it apart.
SUBMISSION_COLUMNS = (
    "reference, form, form_version, locale, data, spam, client, submitted_at,"
    " spam_reason, erased_at, context"
)
#: What every statement that returns jobs selects, in the order
#: :func:`~intakeforms.store.outbox.job` reads it.
JOB_COLUMNS = (
    "id, reference, target, status, attempts, next_attempt_at, last_error,"
    " claimed_by, lease_until, delivered_at, receipt, created_at, updated_at"
)

#: What every statement that returns drafts selects, in the order
#: :func:`~intakeforms.store.drafts.draft` reads it.
DRAFT_COLUMNS = "id, form, locale, data, email, created_at, expires_at, mail_sent_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class Statements:
    """The statements whose text differs between the databases.

    The statements that are the same on both live beside the code that runs
    them. Parameters are named in each field's comment.
    """

    #: One submission, unless its reference is taken (changes 0 rows then):
    #: :reference, :form, :form_version, :locale, :data (JSON text), :spam,
    #: :client, :now, :spam_reason, :context (JSON text or None).
    insert_submission: str
    #: :data:`SUBMISSION_COLUMNS` of the submissions :references.
    submissions_in: str
    #: The files of :references: reference, field, name, content_type, size,
    #: path; by reference, then position.
    files_in: str
    #: Up to :limit due jobs claimed by :worker until :until, at :now,
    #: returning :data:`JOB_COLUMNS`; claimers must never share a job.
    claim: str
    #: A row (any) when the submission :reference exists; locked until the
    #: transaction ends, where the database locks rows.
    lock_submission: str
    #: The same, for a quarantined (spam) submission only.
    lock_spam: str
    #: Up to :limit quarantined submissions not erased, of :form (None: all),
    #: newest first: reference, form, submitted_at, spam_reason.
    spam_list: str
    #: Accept the quarantined, not erased submission :reference (1 row changed).
    release: str
    #: What erasing the submissions :references at :now does, in order.
    erase: tuple[str, ...]
    #: Delete the submissions :references with everything of theirs.
    delete_submissions: str
    #: Up to :chunk references of submissions before :before, not spam nor
    #: erased, whose jobs are all delivered; oldest first.
    purge_erasable: str
    #: Up to :chunk references of spam submitted before :before; oldest first.
    purge_spam: str
    #: Forget the client address of up to :chunk submissions before :before.
    clear_clients: str
    #: One FAQ search: :id, :language, :form, :channel, :query, :query_key,
    #: :results (JSON text), :result_count, :top_score, :at; 0 rows changed
    #: when the id is taken.
    insert_faq_search: str
    #: Up to :limit (query_key, count) of the searches at :since or later that
    #: had no results and still have their text; most first, then by the
    #: text's code points.
    faq_gaps: str
    #: Blank the query text of up to :chunk searches made before :before.
    blank_faq_queries: str
    #: Store a draft, replacing one with the same id: :id, :form, :locale,
    #: :data (JSON text), :email, :email_key, :created_at, :expires_at,
    #: :mail_sent_at.
    save_draft: str
    #: Up to :limit drafts not expired at :now whose mail is not sent, with
    #: fewer than :attempts tries and no other claim running, claimed until
    #: :until (one more try), oldest first, returning :data:`DRAFT_COLUMNS`;
    #: claimers must never share a draft.
    claim_draft_mails: str
    #: Delete up to :chunk drafts expired at :now.
    purge_drafts: str
    #: Up to :limit submissions, not spam, holding one of the contact :keys,
    #: submitted at :since or later and at :until or earlier, other than
    #: :before; newest first: reference, form, submitted_at, erased_at, data.
    earlier_contacts: str
    #: Up to :limit (key, submission) pairs, not spam, for the contact :keys,
    #: submitted from :since to :until: key, reference, form, submitted_at,
    #: erased_at, data (the look-up of a batch of deliveries at once).
    contacts_of_keys: str


class Session(Protocol):
    """One database connection, as the shared operations use it.

    A failure of the database raises the driver's own error; the store
    running the operation turns it into
    :class:`~intakeforms.errors.StoreUnavailable`.
    """

    #: The statements in this database's dialect.
    sql: Statements
    #: Where the store is, for messages (never with a password).
    database: str
    #: The schema version this release writes in this database.
    schema_version: int
    #: Whether :meth:`forget` runs after every purge, also one that changed
    #: nothing (else only after one that did).
    forget_after_every_purge: bool

    async def rows(self, statement: str, values: Values | None = None) -> list[Row]:
        """Every row ``statement`` returns."""

    async def row(self, statement: str, values: Values | None = None) -> Row | None:
        """The first row ``statement`` returns, or None."""

    async def change(self, statement: str, values: Values | None = None) -> int:
        """Run ``statement``; how many rows it changed."""

    async def change_many(self, statement: str, rows: Sequence[Values]) -> None:
        """Run ``statement`` once with each of ``rows``."""

    async def insert_rows(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows`` with ``statement``, an INSERT of one row (see
        :func:`many_rows`); each row its parameters' values in the order
        they appear in it. As :meth:`change_many`, without a mapping a row."""

    def transaction(
        self, *, write: bool = True, synced: bool = True
    ) -> AbstractAsyncContextManager[None]:
        """A transaction for the ``async with`` block, committed when it ends
        and rolled back when it raises; inside another one, a savepoint.

        ``write=False`` promises only reads (one snapshot for all of them).
        ``synced=False`` commits without waiting for the disk: for writes
        whose loss in a power cut costs no submission.
        """

    def moment(self, stored: Any) -> dt.datetime:
        """A stored time as an aware UTC datetime."""

    def answers(self, stored: Any) -> dict[str, Any]:
        """Stored answers (the ``data`` column) as a dict."""

    def json_value(self, stored: Any) -> Any:
        """Another stored JSON column (a context, FAQ results) as Python
        values; None stays None."""

    def unstorable(self, error: Exception) -> UnstorableSubmission | None:
        """What ``error`` means when it is the submission's fault (its data
        is more than the database can hold), else None."""

    async def forget(self) -> None:
        """After an erasure is committed: make the erased text unreadable in
        the database's files, as far as the database allows."""

    async def probe(self, now: dt.datetime) -> int:
        """Prove the database takes writes now (for ``check``), changing
        nothing that matters; the schema version it has."""

    async def hit(self, request: Hit, sweep: bool) -> tuple[int, int, object]:
        """Count one request (see ``rate.py``), with ``sweep`` also deleting
        some expired rows; (this_count, last_count, allowed)."""


#: An operation: a coroutine function of a session.
Work = Callable[[Session], Coroutine[Any, Any, _T]]


def run_now(operation: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never waits to its end, here and now.

    That is what an operation on a SQLite session is: the driver answers
    each statement at once. A coroutine that tries to wait is a mistake in
    its session, and raises ``RuntimeError``.
    """
    try:
        operation.send(None)
    except StopIteration as done:
        return cast(_T, done.value)
    operation.close()
    raise RuntimeError("a store operation waited for something on the SQLite thread")


def message(database: str, problem: str) -> str:
    """The one way every store message begins: which store, then what."""
    return f"the submission store {database} is unavailable: {problem}"


#: The most rows ``change_many`` puts in one INSERT.
ROWS_AT_ONCE = 100
#: A statement's ``:name`` parameter (not a ``::type`` cast).
PARAMETER = re.compile(r"(?<!:):([A-Za-z_]\w*)")
# An INSERT of one row whose values hold no call: "… VALUES (…)" and a tail
# such as ON CONFLICT.
_ONE_ROW = re.compile(r"(INSERT INTO [^;]*? VALUES )\(([^()]*)\)([^;]*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ManyRows:
    """An INSERT of one row taken apart, to insert many rows in one statement."""

    #: ``INSERT INTO … VALUES `` (up to the row).
    head: str
    #: The row: ``(…)`` with each parameter as ``{}`` for the dialect to fill.
    row: str
    #: What follows the row, such as ``ON CONFLICT …``.
    tail: str
    #: The row's parameters, in the order they appear in it.
    names: tuple[str, ...]

    def statement(self, count: int, parameter: Callable[[str, int], str]) -> str:
        """The INSERT of ``count`` rows, the ``i``-th row's ``name`` written
        as ``parameter(name, i)``."""
        rows = (self.row.format(*(parameter(name, i) for name in self.names)) for i in range(count))
        return f"{self.head}{', '.join(rows)}{self.tail}"


@functools.lru_cache(maxsize=256)
def many_rows(statement: str) -> ManyRows | None:
    """``statement`` taken apart when it is an INSERT of one row whose values
    are parameters and constants (no call), else None.

    A batch of rows then costs one statement instead of one a row: less of
    the driver's work for each row, and on PostgreSQL one round trip.
    """
    found = _ONE_ROW.fullmatch(statement.strip())
    if found is None:
        return None
    head, row, tail = found.groups()
    names = tuple(PARAMETER.findall(row))
    shape = PARAMETER.sub("{}", row.replace("{", "{{").replace("}", "}}"))
    return ManyRows(head, f"({shape})", tail, names)
