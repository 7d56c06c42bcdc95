"""Erasure and retention: what the store forgets, and the uploaded files with it.

The store never touches files: :meth:`Store.erase`, :meth:`Store.delete_spam`
and :meth:`Store.purge` return the files of what they forgot, and the
functions here remove those from the upload folder. The retention rules
(docs/privacy.md)::

    INTAKE_RETENTION_DAYS        unset: keep; else erase delivered submissions older than that
    INTAKE_SPAM_RETENTION_DAYS   30: delete quarantined spam older than that
    client addresses             forgotten once the rate limit no longer needs them
    FAQ search texts             blanked after FAQ_QUERY_DAYS (30); the counts stay
    INTAKE_EVENT_RETENTION_DAYS  30: delete raw visitor events older than that
                                 (rolled up into the statistics first, see stats/)
    drafts                       deleted once expired (MAX_DRAFT_DAYS, 7, at most)

:func:`maintain` applies them every hour beside a delivery worker
(``intakeforms worker``, and ``serve`` with its in-process worker);
``intakeforms purge`` applies them at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import anyio

from intakeforms.errors import IntakeError
from intakeforms.form import Form
from intakeforms.settings import Settings
from intakeforms.stats import roll_up
from intakeforms.store.base import PurgeResult, Store, StoredFile, StoredSubmission
from intakeforms.store.faq import FAQ_QUERY_DAYS

__all__ = [
    "CLIENT_MINIMUM",
    "MAINTENANCE_SECONDS",
    "Cutoffs",
    "Purged",
    "Removed",
    "delete_spam",
    "erase",
    "maintain",
    "purge",
    "remove_uploads",
    "retention_cutoffs",
]

logger = logging.getLogger("intakeforms.privacy")

#: Client addresses are kept at least this long, even with the rate limit
#: off or counted per second: a submission still being answered may need it.
CLIENT_MINIMUM = dt.timedelta(minutes=10)
#: How often :func:`maintain` applies the retention rules.
MAINTENANCE_SECONDS = 3600.0


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """What is older than these moments is forgotten; see :meth:`Store.purge`."""

    delivered_before: dt.datetime | None
    spam_before: dt.datetime
    clients_before: dt.datetime
    faq_queries_before: dt.datetime | None = None
    events_before: dt.datetime | None = None


def retention_cutoffs(settings: Settings, now: dt.datetime) -> Cutoffs:
    """The moments the retention settings give at ``now``."""
    rate = settings.rate()
    client_period = max(CLIENT_MINIMUM, dt.timedelta(seconds=rate[1] if rate else 0))
    delivered = settings.retention_days
    return Cutoffs(
        delivered_before=None if delivered is None else now - dt.timedelta(days=delivered),
        spam_before=now - dt.timedelta(days=settings.spam_retention_days),
        clients_before=now - client_period,
        faq_queries_before=now - dt.timedelta(days=FAQ_QUERY_DAYS),
        events_before=now - dt.timedelta(days=settings.event_retention_days),
    )


def remove_uploads(upload_dir: Path, files: Iterable[StoredFile]) -> int:
    """Remove the stored bytes of ``files`` from ``upload_dir``; how many were
    there. A missing file is not an error (removed before, or never kept)."""
    removed = 0
    for file in files:
        relative = PurePosixPath(file.path)
        # The store names files itself, but a path that leaves the upload
        # folder is never followed, whoever wrote it.
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            logger.warning("privacy: a stored file path leaves the upload folder; not removed")
            continue
        try:
            (upload_dir / relative).unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


@dataclass(frozen=True, slots=True)
class Removed:
    """A submission as it was before :func:`erase` or :func:`delete_spam`,
    and how many of its files were found in the upload folder and removed."""

    submission: StoredSubmission
    files_removed: int


async def erase(store: Store, upload_dir: Path, reference: str) -> Removed | None:
    """Erase one submission's answers and files for good; None when the
    store has no such reference."""
    before = await store.erase(reference)
    if before is None:
        return None
    return Removed(before, remove_uploads(upload_dir, before.files))


async def delete_spam(store: Store, upload_dir: Path, reference: str) -> Removed | None:
    """Delete one quarantined submission with its files; None when there is
    no spam submission with this reference."""
    deleted = await store.delete_spam(reference)
    if deleted is None:
        return None
    return Removed(deleted, remove_uploads(upload_dir, deleted.files))


@dataclass(frozen=True, slots=True)
class Purged:
    """What :func:`purge` did: the store's result, the files removed, and
    the days of visitor events rolled up into the statistics first."""

    cutoffs: Cutoffs
    result: PurgeResult
    files_removed: int
    days_rolled: int = 0


async def purge(
    store: Store,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    forms: Mapping[str, Form] | None = None,
) -> Purged:
    """Apply the retention settings at once, files included. With ``forms``
    (by id), their finished days of visitor events are rolled up into the
    statistics first (:func:`intakeforms.stats.roll_up`), before any raw
    event is deleted; a failed roll-up deletes nothing."""
    moment = now or _utc_now()
    rolled = 0 if forms is None else await roll_up(store, forms, now=moment)
    cutoffs = retention_cutoffs(settings, moment)
    result = await store.purge(
        delivered_before=cutoffs.delivered_before,
        spam_before=cutoffs.spam_before,
        clients_before=cutoffs.clients_before,
        faq_queries_before=cutoffs.faq_queries_before,
        events_before=cutoffs.events_before,
    )
    removed = remove_uploads(settings.upload_dir, result.files)
    return Purged(cutoffs, result, removed, rolled)


async def maintain(
    store: Store,
    settings: Settings,
    stop: anyio.Event,
    *,
    every: float = MAINTENANCE_SECONDS,
    clock: Callable[[], dt.datetime] = _utc_now,
    forms: Mapping[str, Form] | None = None,
) -> None:
    """Apply the retention settings now and then ``every`` seconds until
    ``stop`` is set, rolling up the visitor events of ``forms`` (by id)
    first. A failure is logged and tried again next time."""
    while not stop.is_set():
        try:
            done = await purge(store, settings, now=clock(), forms=forms)
        except (IntakeError, OSError) as exc:
            # Store and file errors name the database or a random file name,
            # never a customer's data.
            logger.error("privacy: retention purge failed, next try in %.0f s: %s", every, exc)
        except Exception as exc:
            # Anything else might carry a value in its message: its kind only.
            logger.error(
                "privacy: retention purge failed (%s), next try in %.0f s",
                type(exc).__name__,
                every,
            )
        else:
            result = done.result
            if (
                result.erased
                or result.deleted_spam
                or result.clients_cleared
                or result.faq_queries_blanked
                or result.drafts_deleted
                or result.events_deleted
            ):
                logger.info(
                    "privacy: erased %d delivered submission(s), deleted %d spam, "
                    "forgot %d client address(es), blanked %d FAQ search text(s), "
                    "deleted %d expired draft(s), deleted %d visitor event(s), "
                    "removed %d file(s)",
                    result.erased,
                    result.deleted_spam,
                    result.clients_cleared,
                    result.faq_queries_blanked,
                    result.drafts_deleted,
                    result.events_deleted,
                    done.files_removed,
                )
        with anyio.move_on_after(every):
            await stop.wait()
