"""Saving and reading submissions, written once for every SQL database.

Coroutines of a :class:`~intakeforms.store.dialect.Session`, run by
:class:`~intakeforms.store.engine.SqlStore` (and, for SQLite's group
commit, by ``sqlite_save.py``). A save is a transaction of its own, or a
savepoint inside a batch's transaction, so one submission that cannot be
stored fails alone: its error never reaches another save.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from intakeforms.errors import StoreUnavailable
from intakeforms.store import base
from intakeforms.store.dialect import SUBMISSION_COLUMNS, Session, message
from intakeforms.store.records import NewSubmission, SaveResult, StoredFile, StoredSubmission
from intakeforms.store.storable import encode_context, spam_reason

__all__ = ["REFERENCE_TRIES", "add_jobs", "count", "get", "read", "save", "save_together"]

#: How many fresh references to try before giving up; with 32**6 references
#: per prefix, even one collision is rare, so ten in a row means the random
#: source is broken, not that the references ran out.
REFERENCE_TRIES = 10

_SUBMISSION = f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE reference = :reference"  # noqa: S608
_FILES = (
    "SELECT reference, field, name, content_type, size, path FROM submission_files"
    " WHERE reference = :reference ORDER BY position"
)
_SEEN_KEY = "SELECT reference FROM idempotency_keys WHERE form = :form AND idempotency_key = :key"
_INSERT_FILE = (
    "INSERT INTO submission_files (reference, position, field, name, content_type, size, path)"
    " VALUES (:reference, :position, :field, :name, :content_type, :size, :path)"
)
_INSERT_JOB = (
    "INSERT INTO outbox (reference, target, next_attempt_at, created_at, updated_at)"
    " VALUES (:reference, :target, :now, :now, :now) ON CONFLICT (reference, target) DO NOTHING"
)
_INSERT_CONTACT = (
    "INSERT INTO submission_contacts (reference, key) VALUES (:reference, :key)"
    " ON CONFLICT DO NOTHING"
)
_DELETE_DRAFT = "DELETE FROM drafts WHERE id = :id"
# A concurrent save with the same key makes this wait for it (PostgreSQL);
# when that one commits, DO NOTHING (no row changed), and the whole save
# rolls back.
_INSERT_KEY = (
    "INSERT INTO idempotency_keys (form, idempotency_key, reference, created_at)"
    " VALUES (:form, :key, :reference, :now) ON CONFLICT DO NOTHING"
)


class _KeyTaken(Exception):
    """Another transaction stored the same idempotency key first."""


async def save(s: Session, new: NewSubmission, data: str, now: dt.datetime) -> SaveResult:
    """Store ``new`` with ``data`` (its answers as JSON text), its files,
    jobs and idempotency key in one transaction; a repeated idempotency key
    returns the first reference and stores nothing.

    Data the database refuses for what it is raises
    :class:`~intakeforms.store.UnstorableSubmission` (without the driver's
    words, which may quote the answers).
    """
    # Twice at most: the key's first owner could roll back (or its
    # submission be erased) between our two looks.
    for _ in range(2):
        try:
            async with s.transaction():
                return await _save(s, new, data, now)
        except _KeyTaken:
            seen = await _seen_key(s, new)
            if seen is not None:
                return SaveResult(seen, created=False)
        except Exception as exc:
            problem = s.unstorable(exc)
            if problem is None:
                raise
            raise problem from None
    raise StoreUnavailable(  # pragma: no cover - needs a race lost twice in a row
        message(s.database, "an idempotency key kept changing hands; retry")
    )


async def save_together(
    s: Session, batch: Sequence[tuple[NewSubmission, str]], now: dt.datetime
) -> list[SaveResult]:
    """Store each ``(new, data)`` of ``batch`` as :func:`save` does, all in
    one transaction and with no savepoint: any failure rolls back the whole
    batch and raises, and the caller saves each one alone (with
    :func:`save`) so that only the one at fault fails. Two of the batch with
    one idempotency key: the second gets the first one's reference."""
    async with s.transaction():
        return [await _save(s, new, data, now) for new, data in batch]


async def _save(s: Session, new: NewSubmission, data: str, now: dt.datetime) -> SaveResult:
    seen = await _seen_key(s, new)
    if seen is not None:
        return SaveResult(seen, created=False)
    reference = await _insert_submission(s, new, data, now)
    if new.files:
        await s.change_many(
            _INSERT_FILE,
            [
                {
                    "reference": reference,
                    "position": position,
                    "field": f.field,
                    "name": f.name,
                    "content_type": f.content_type,
                    "size": f.size,
                    "path": f.path,
                }
                for position, f in enumerate(new.files)
            ],
        )
    if new.contact_keys:  # kept for spam too: a released submission needs them
        keys = dict.fromkeys(new.contact_keys)  # once each, in order
        await s.change_many(_INSERT_CONTACT, [{"reference": reference, "key": k} for k in keys])
    if new.draft is not None:  # the customer continued it: it is done with
        await s.change(_DELETE_DRAFT, {"id": new.draft})
    if not new.spam:  # spam is quarantined: kept for review, never delivered
        await add_jobs(s, reference, new.targets, now)
    if new.idempotency_key is not None:
        values = {"form": new.form, "key": new.idempotency_key, "reference": reference, "now": now}
        if await s.change(_INSERT_KEY, values) == 0:
            raise _KeyTaken
    return SaveResult(reference, created=True)


async def _insert_submission(s: Session, new: NewSubmission, data: str, now: dt.datetime) -> str:
    values: dict[str, object] = {
        "form": new.form,
        "form_version": new.form_version,
        "locale": new.locale,
        "data": data,
        "spam": new.spam,
        "client": new.client,
        "now": now,
        "spam_reason": spam_reason(new),
        "context": encode_context(new),
    }
    for _ in range(REFERENCE_TRIES):
        # Looked up on the module each time, so that tests can replace it.
        values["reference"] = reference = base.new_reference(new.reference_prefix)
        if await s.change(s.sql.insert_submission, values) == 1:
            return reference
    raise StoreUnavailable(
        message(
            s.database,
            f"no free reference for prefix {new.reference_prefix} after "
            f"{REFERENCE_TRIES} tries; the random source repeats itself",
        )
    )


async def _seen_key(s: Session, new: NewSubmission) -> str | None:
    """The reference already stored under the submission's idempotency key."""
    if new.idempotency_key is None:
        return None
    row = await s.row(_SEEN_KEY, {"form": new.form, "key": new.idempotency_key})
    return None if row is None else str(row[0])


async def add_jobs(s: Session, reference: str, targets: Sequence[str], now: dt.datetime) -> None:
    """One ``pending`` job per target of the submission ``reference``, due
    ``now``; a target that has its job already is left alone."""
    if targets:
        await s.change_many(
            _INSERT_JOB, [{"reference": reference, "target": t, "now": now} for t in targets]
        )


async def read(s: Session, references: Collection[str]) -> dict[str, StoredSubmission]:
    """The submissions with these references, with their files, in two
    statements; call it inside a transaction for one snapshot of both."""
    wanted = list(references)
    if not wanted:
        return {}
    if len(wanted) == 1:  # the common case (get, erase), and the quickest lookup
        values: dict[str, object] = {"reference": wanted[0]}
        rows = await s.rows(_SUBMISSION, values)
        file_rows = await s.rows(_FILES, values)
    else:
        values = {"references": wanted}
        rows = await s.rows(s.sql.submissions_in, values)
        file_rows = await s.rows(s.sql.files_in, values)
    files: dict[str, list[StoredFile]] = {}
    for reference, *file in file_rows:
        files.setdefault(reference, []).append(StoredFile(*file))
    return {
        row[0]: StoredSubmission(
            reference=row[0],
            form=row[1],
            form_version=row[2],
            locale=row[3],
            data=s.answers(row[4]),
            files=tuple(files.get(row[0], ())),
            submitted_at=s.moment(row[7]),
            spam=bool(row[5]),
            client=row[6],
            spam_reason=row[8],
            erased_at=None if row[9] is None else s.moment(row[9]),
            context=s.json_value(row[10]),
        )
        for row in rows
    }


async def get(s: Session, reference: str) -> StoredSubmission | None:
    """The submission with this exact reference, or None."""
    async with s.transaction(write=False):  # one snapshot for both reads
        return (await read(s, [reference])).get(reference)


async def count(s: Session, form: str | None, spam: bool | None) -> int:
    """How many submissions, of one form and/or spam flag."""
    # Only the conditions asked for, so that the database can use its indexes.
    where = [
        f"{name} = :{name}" for name, value in (("form", form), ("spam", spam)) if value is not None
    ]
    statement = "SELECT count(*) FROM submissions"
    if where:
        statement += " WHERE " + " AND ".join(where)
    row = await s.row(statement, {"form": form, "spam": spam})
    assert row is not None
    return int(row[0])
