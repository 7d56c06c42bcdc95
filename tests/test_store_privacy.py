"""Spam review, erasure and retention in the store, on SQLite and PostgreSQL.

The same databases as ``test_store_backends.py``: a SQLite file, and a fresh
schema of the test PostgreSQL database. The files themselves (is erased
text still in the bytes on disk?) are looked at in ``test_store_files.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from test_store_backends import T0, Backend, StillClock, backend, clock, seconds, submission

from intakeforms.errors import LeaseLost
from intakeforms.store import PurgeResult, SpamEntry, Store, StoredFile
from intakeforms.store import privacy as postgres_privacy
from intakeforms.store import privacy as sqlite_privacy

DAY = dt.timedelta(days=1)
PAPER = StoredFile("scan", "paper.pdf", "application/pdf", 10, "cd/paper")

__all__ = ["backend", "clock"]  # the fixtures, shared with test_store_backends


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(backend: Backend, clock: StillClock) -> AsyncIterator[Store]:
    opened = backend.make(clock=clock)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def spam(store: Store, reason: str = "honeypot filled", **changes: object) -> str:
    result = await store.save(submission(spam=True, spam_reason=reason, **changes))
    return result.reference


# -- spam review ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_spam_is_listed_newest_first_with_why(store: Store, clock: StillClock) -> None:
    first = await spam(store, "honeypot filled")
    clock.now += seconds(1)
    await store.save(submission())  # not spam: never listed
    second = await spam(store, "time-trap: posted 0.4 s after the page", form="booking")
    clock.now += seconds(1)
    third = await spam(store, "no time-trap token")
    assert await store.spam_list() == [
        SpamEntry(third, "car-service", T0 + seconds(2), "no time-trap token"),
        SpamEntry(second, "booking", T0 + seconds(1), "time-trap: posted 0.4 s after the page"),
        SpamEntry(first, "car-service", T0, "honeypot filled"),
    ]
    assert [e.reference for e in await store.spam_list(form="car-service")] == [third, first]
    assert [e.reference for e in await store.spam_list(limit=1)] == [third]
    assert await store.spam_list(form="nothing") == []
    # An erased one has nothing left to review.
    await store.erase(third)
    assert [e.reference for e in await store.spam_list()] == [second, first]
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        await store.spam_list(limit=0)


@pytest.mark.anyio
async def test_a_reason_is_kept_only_with_spam(store: Store) -> None:
    reference = (await store.save(submission(spam_reason="ignored"))).reference
    stored = await store.get(reference)
    assert stored is not None and (stored.spam, stored.spam_reason) == (False, "")
    # The service's own words: cleaned to fit, never refused.
    stored = await store.get(await spam(store, "honeypot\x00 \ud800filled"))
    assert stored is not None
    assert stored.spam_reason == "honeypot\N{REPLACEMENT CHARACTER} \\ud800filled"


@pytest.mark.anyio
async def test_release_queues_the_deliveries_as_if_accepted(
    store: Store, clock: StillClock
) -> None:
    reference = await spam(store)
    assert await store.outbox(reference) == []
    clock.now += DAY
    assert await store.release(reference, ["email:0", "autoreply"])
    stored = await store.get(reference)
    assert stored is not None
    assert (stored.spam, stored.spam_reason) == (False, "")
    jobs = await store.outbox(reference)
    assert [(j.target, j.status, j.attempts, j.next_attempt_at) for j in jobs] == [
        ("email:0", "pending", 0, T0 + DAY),
        ("autoreply", "pending", 0, T0 + DAY),
    ]
    [claimed, _] = await store.claim("w", limit=5, lease_seconds=60)
    assert claimed.submission.reference == reference
    assert await store.spam_list() == []
    # Released once: a second release changes nothing.
    assert not await store.release(reference, ["webhook:1"])
    assert len(await store.outbox(reference)) == 2


@pytest.mark.anyio
async def test_release_refuses_what_is_not_quarantined(store: Store) -> None:
    accepted = (await store.save(submission())).reference
    erased = await spam(store)
    await store.erase(erased)
    for reference in (accepted, erased, "CAR-000000"):
        assert not await store.release(reference, ["email:0"])
    assert len(await store.outbox(accepted)) == 2
    assert await store.outbox(erased) == []
    quarantined = await spam(store)
    with pytest.raises(ValueError, match="name a target twice"):
        await store.release(quarantined, ["email:0", "email:0"])
    with pytest.raises(ValueError, match="is not a target name"):
        await store.release(quarantined, [""])
    assert await store.release(quarantined, [])  # a form that delivers nowhere
    stored = await store.get(quarantined)
    assert stored is not None and not stored.spam


@pytest.mark.anyio
async def test_delete_spam_forgets_it_and_never_touches_the_rest(
    store: Store, backend: Backend
) -> None:
    accepted = (await store.save(submission())).reference
    reference = await spam(store, files=[PAPER], idempotency_key="k")
    before = backend.table_counts()
    deleted = await store.delete_spam(reference)
    assert deleted is not None
    assert (deleted.reference, deleted.spam_reason, deleted.files) == (
        reference,
        "honeypot filled",
        (PAPER,),
    )
    assert await store.get(reference) is None
    assert backend.table_counts() == {
        "submissions": before["submissions"] - 1,
        "submission_files": before["submission_files"] - 1,
        "outbox": before["outbox"],
        "idempotency_keys": before["idempotency_keys"] - 1,
    }
    assert await store.delete_spam(reference) is None
    assert await store.delete_spam(accepted) is None  # not spam: never deleted this way
    assert await store.get(accepted) is not None


# -- erasure ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_erase_forgets_the_answers_and_keeps_the_record(
    store: Store, backend: Backend, clock: StillClock
) -> None:
    new = submission(
        files=[PAPER], targets=["email:0", "autoreply", "webhook:1"], idempotency_key="k"
    )
    reference = (await store.save(new)).reference
    email, autoreply, webhook = await store.claim("w", limit=3, lease_seconds=60)
    await store.complete(email.job.id, worker="w", receipt="250 OK <matti@example.com>")
    await store.complete_autoreply(
        autoreply.job.id, worker="w", receipt="250 OK", recipient="matti@example.com"
    )
    clock.now += DAY
    before = await store.erase(reference)
    assert before is not None
    assert (before.data, before.files, before.client) == (new.data, (PAPER,), new.client)
    assert before.erased_at is None and not before.erased

    after = await store.get(reference)
    assert after is not None
    assert (after.reference, after.form, after.locale, after.submitted_at) == (
        reference,
        "car-service",
        "fi",
        T0,
    )
    assert (after.data, after.files, after.client, after.erased_at) == ({}, (), None, T0 + DAY)
    assert after.erased
    jobs = {job.target: job for job in await store.outbox(reference)}
    assert {t: (j.status, j.receipt, j.last_error) for t, j in jobs.items()} == {
        "email:0": ("delivered", None, None),
        "autoreply": ("delivered", None, None),
        "webhook:1": ("dead", None, "erased"),  # it was being delivered: never sent now
    }
    assert backend.rows("SELECT count(*) FROM outbox WHERE recipient_hash IS NOT NULL") == [(0,)]
    assert await store.count_autoreplies("matti@example.com", T0) == 0
    with pytest.raises(LeaseLost):
        await store.complete(webhook.job.id, worker="w", receipt="200")
    assert not await store.requeue(webhook.job.id)
    # A job an erasure stopped needs no operator: it is not counted as dead,
    # or the "any dead job" alert would fire for ever.
    assert (await store.counts())["dead"] == 0
    # The key is gone with the answers: the same key makes a new submission.
    assert (await store.save(new)).reference != reference
    files = backend.rows(f"SELECT count(*) FROM submission_files WHERE reference = '{reference}'")
    assert files == [(0,)]

    # Erasing it again changes nothing and says when it was erased.
    clock.now += DAY
    again = await store.erase(reference)
    assert again is not None and again.erased_at == T0 + DAY
    assert await store.erase("CAR-000000") is None


@pytest.mark.anyio
async def test_an_erased_submission_is_never_delivered(store: Store) -> None:
    reference = (await store.save(submission())).reference
    await store.erase(reference)
    assert await store.claim("w", limit=5, lease_seconds=60) == []
    # Stopped, and not counted as dead: nothing for an operator to do.
    assert await store.counts() == {"pending": 0, "claimed": 0, "delivered": 0, "dead": 0}
    assert [job.status for job in await store.outbox(reference)] == ["dead", "dead"]
    assert await store.oldest_pending() is None


# -- retention --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_purge_applies_each_retention_rule(store: Store, clock: StillClock) -> None:
    old_done = (await store.save(submission(files=[PAPER], targets=["email:0"]))).reference
    old_waiting = (await store.save(submission(targets=["email:0"]))).reference
    old_spam = await spam(store, files=[PAPER])
    [done, _] = await store.claim("w", limit=2, lease_seconds=60)
    await store.complete(done.job.id, worker="w", receipt="250 OK")
    clock.now += 10 * DAY
    new_done = (await store.save(submission(targets=[]))).reference
    new_spam = await spam(store)

    cutoff = T0 + 5 * DAY
    result = await store.purge(
        delivered_before=cutoff, spam_before=cutoff, clients_before=T0 + 20 * DAY
    )
    assert result == PurgeResult(erased=1, deleted_spam=1, clients_cleared=3, files=result.files)
    assert sorted(result.files, key=lambda f: f.path) == [PAPER, PAPER]
    gone = await store.get(old_done)
    assert gone is not None and gone.erased and gone.data == {}
    waiting = await store.get(old_waiting)  # a delivery still to make: kept whole
    assert waiting is not None and not waiting.erased and waiting.client is None
    assert await store.get(old_spam) is None
    kept = await store.get(new_done)
    assert kept is not None and not kept.erased and kept.client is None
    assert await store.get(new_spam) is not None

    # Nothing more to do: the same purge again changes nothing.
    again = await store.purge(
        delivered_before=cutoff, spam_before=cutoff, clients_before=T0 + 20 * DAY
    )
    assert again == PurgeResult()


@pytest.mark.anyio
async def test_purge_without_retention_keeps_every_answer(store: Store, clock: StillClock) -> None:
    reference = (await store.save(submission(targets=[]))).reference
    clock.now += 400 * DAY
    result = await store.purge(
        delivered_before=None, spam_before=clock.now, clients_before=T0 - DAY
    )
    assert result == PurgeResult()
    kept = await store.get(reference)
    assert kept is not None and kept.data and kept.client == "203.0.113.5"
    with pytest.raises(ValueError, match="aware datetime"):
        await store.purge(
            delivered_before=None, spam_before=dt.datetime(2025, 1, 1), clients_before=T0
        )


@pytest.mark.anyio
async def test_purge_works_through_many_in_small_transactions(
    store: Store, clock: StillClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_privacy, "PURGE_CHUNK", 2)
    monkeypatch.setattr(postgres_privacy, "PURGE_CHUNK", 2)
    for _ in range(5):
        await store.save(submission(targets=[], files=[PAPER]))
        await spam(store)
    clock.now += DAY
    result = await store.purge(
        delivered_before=clock.now, spam_before=clock.now, clients_before=clock.now
    )
    assert (result.erased, result.deleted_spam, result.clients_cleared) == (5, 5, 0)
    assert len(result.files) == 10  # a paper each erased, a photo each spam
    assert await store.count(spam=True) == 0


# -- the oldest pending job, for metrics --------------------------------------------------


@pytest.mark.anyio
async def test_oldest_pending_is_when_the_oldest_waiting_job_was_made(
    store: Store, clock: StillClock
) -> None:
    assert await store.oldest_pending() is None
    await store.save(submission(targets=["email:0"]))
    clock.now += seconds(30)
    await store.save(submission(targets=["email:0"]))
    assert await store.oldest_pending() == T0
    [first] = await store.claim("w", limit=1, lease_seconds=60)
    assert await store.oldest_pending() == T0 + seconds(30)  # claimed is not waiting
    await store.retry_later(first.job.id, worker="w", error="421", at=clock.now + DAY)
    assert await store.oldest_pending() == T0  # waiting again, made at T0
