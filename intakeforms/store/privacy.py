"""Spam review, erasure and retention, written once for every SQL database.

Coroutines of a :class:`~intakeforms.store.dialect.Session`, run by
:class:`~intakeforms.store.engine.SqlStore` for ``intakeforms spam``,
``erase`` and ``purge`` (the command-line side is ``intakeforms/privacy.py``).

Erased text must not stay readable in the database's files. After an
erasure is committed, the session's ``forget`` does what its database
needs: SQLite zeroes freed space as it goes (``secure_delete``) and then
empties its WAL; PostgreSQL vacuums the tables (see the dialects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from intakeforms.store import submissions
from intakeforms.store.dialect import Session
from intakeforms.store.events import event_hour
from intakeforms.store.records import PurgeResult, SpamEntry, StoredFile, StoredSubmission
from intakeforms.store.staff import DELETE_EXPIRED_SESSIONS

__all__ = [
    "PURGE_CHUNK",
    "PurgeCutoffs",
    "after_purge",
    "delete_spam",
    "erase",
    "purge_step",
    "release",
    "spam_list",
]

#: Submissions one purge transaction handles at most, so that saves (in
#: this process and others) wait for it only briefly.
PURGE_CHUNK = 200


@dataclass(frozen=True, slots=True)
class PurgeCutoffs:
    """The moments of one purge, as :meth:`Store.purge` takes them (in UTC)."""

    delivered_before: dt.datetime | None
    spam_before: dt.datetime
    clients_before: dt.datetime
    faq_queries_before: dt.datetime | None = None
    events_before: dt.datetime | None = None


# Both databases take them. The old events are found form by form through
# events_by_hour (form, hour), the only index events have: the next form is
# one step in it, however many events each form has. The subquery keeps one
# transaction to a chunk.
_NEXT_EVENT_FORM = "SELECT min(form) FROM events WHERE form > :after"
_DELETE_EVENTS = (
    "DELETE FROM events WHERE id IN (SELECT id FROM events"
    " WHERE form = :form AND hour <= :hour AND happened_at < :before LIMIT :chunk)"
)
_DELETE_SUBMISSION = "DELETE FROM submissions WHERE reference = :reference"
_DELETE_EXPIRED_HITS = "DELETE FROM rate_hits WHERE expires_at < :now"


async def spam_list(s: Session, form: str | None, limit: int) -> list[SpamEntry]:
    """Up to ``limit`` quarantined submissions not erased, newest first."""
    rows = await s.rows(s.sql.spam_list, {"form": form, "limit": limit})
    return [SpamEntry(row[0], row[1], s.moment(row[2]), row[3]) for row in rows]


async def release(s: Session, reference: str, targets: Sequence[str], now: dt.datetime) -> bool:
    """No longer spam, with a pending job per target due now; False if it was
    not quarantined spam (or was erased), changing nothing."""
    async with s.transaction():
        if await s.change(s.sql.release, {"reference": reference}) != 1:
            return False
        await submissions.add_jobs(s, reference, targets, now)
    return True


async def delete_spam(s: Session, reference: str) -> StoredSubmission | None:
    """Delete a quarantined submission (its rows go with it); it as it was."""
    async with s.transaction():
        # The row lock makes concurrent erasures and deletions of one
        # submission wait for each other, so each reads what the other left.
        if await s.row(s.sql.lock_spam, {"reference": reference}) is None:
            return None
        found = (await submissions.read(s, [reference]))[reference]
        await s.change(_DELETE_SUBMISSION, {"reference": reference})
    await s.forget()
    return found


async def erase(s: Session, reference: str, now: dt.datetime) -> StoredSubmission | None:
    """Erase one submission's answers (see ``Store.erase``); it as it was.
    Erasing an erased submission changes nothing."""
    async with s.transaction():
        if await s.row(s.sql.lock_submission, {"reference": reference}) is None:
            return None
        found = (await submissions.read(s, [reference]))[reference]
        if found.erased:
            return found
        await _erase(s, [reference], now)
    await s.forget()
    return found


async def _erase(s: Session, references: Sequence[str], now: dt.datetime) -> None:
    values = {"references": list(references), "now": now}
    for statement in s.sql.erase:
        await s.change(statement, values)


async def purge_step(s: Session, cut: PurgeCutoffs, now: dt.datetime) -> tuple[PurgeResult, bool]:
    """One transaction of :meth:`Store.purge`: up to :data:`PURGE_CHUNK`
    submissions erased, else deleted as spam, else cleared of their client
    address, else as many FAQ searches' query texts blanked, else ten times
    as many old visitor events deleted, else as many expired drafts deleted,
    else the expired rate counts and staff sessions deleted; with True when there may be more
    to do."""
    async with s.transaction():
        if cut.delivered_before is not None:
            references = await _references(s, s.sql.purge_erasable, cut.delivered_before)
            if references:
                files = await _files_of(s, references)
                await _erase(s, references, now)
                return PurgeResult(erased=len(references), files=files), True
        references = await _references(s, s.sql.purge_spam, cut.spam_before)
        if references:
            files = await _files_of(s, references)
            await s.change(s.sql.delete_submissions, {"references": references})
            return PurgeResult(deleted_spam=len(references), files=files), True
        values = {"before": cut.clients_before, "chunk": PURGE_CHUNK}
        cleared = await s.change(s.sql.clear_clients, values)
        if cleared:
            return PurgeResult(clients_cleared=cleared), True
        if cut.faq_queries_before is not None:
            values = {"before": cut.faq_queries_before, "chunk": PURGE_CHUNK}
            blanked = await s.change(s.sql.blank_faq_queries, values)
            if blanked:
                return PurgeResult(faq_queries_blanked=blanked), True
        if cut.events_before is not None:
            events = await _delete_events(s, cut.events_before, PURGE_CHUNK * 10)
            if events:
                return PurgeResult(events_deleted=events), True
        drafts = await s.change(s.sql.purge_drafts, {"now": now, "chunk": PURGE_CHUNK})
        if drafts:
            return PurgeResult(drafts_deleted=drafts), True
        await s.change(DELETE_EXPIRED_SESSIONS, {"now": now})
        await s.change(_DELETE_EXPIRED_HITS, {"now": now.timestamp()})
    return PurgeResult(), False


async def after_purge(s: Session, done: PurgeResult) -> None:
    """Make what a purge erased unreadable in the files (see ``forget``)."""
    if (
        s.forget_after_every_purge
        or done.erased
        or done.deleted_spam
        or done.clients_cleared
        or done.faq_queries_blanked
        or done.drafts_deleted
    ):
        await s.forget()


async def _delete_events(s: Session, before: dt.datetime, chunk: int) -> int:
    """Delete up to ``chunk`` events older than ``before``; how many."""
    deleted = 0
    hour = event_hour(before)
    form = ""  # before every form name (they are never empty)
    while deleted < chunk:
        row = await s.row(_NEXT_EVENT_FORM, {"after": form})
        if row is None or row[0] is None:
            break
        form = row[0]
        values = {"form": form, "hour": hour, "before": before, "chunk": chunk - deleted}
        deleted += await s.change(_DELETE_EVENTS, values)
    return deleted


async def _references(s: Session, statement: str, before: dt.datetime) -> list[str]:
    rows = await s.rows(statement, {"before": before, "chunk": PURGE_CHUNK})
    return [row[0] for row in rows]


async def _files_of(s: Session, references: Sequence[str]) -> tuple[StoredFile, ...]:
    rows = await s.rows(s.sql.files_in, {"references": list(references)})
    return tuple(StoredFile(*row[1:]) for row in rows)
