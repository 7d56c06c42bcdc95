"""Continuity in the store, on both backends (SQLite and PostgreSQL, see
test_store_backends.py): single-use links, drafts to continue later, and a
customer's earlier contacts found by their contact keys.

A single-use link is used once: the first submission through it is
recorded, and every later one learns which reference it went to. A draft
reads back as saved until it expires, is mailed once, and is gone when the
submission continuing it is stored, when retention finds it expired, or
when its customer asks. Earlier contacts are the same customer's (same
keys) and nobody else's, newest first, without spam or erased ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from test_store_backends import T0, Backend, StillClock, backend, clock, submission

from intakeforms.privacy import purge
from intakeforms.settings import Settings
from intakeforms.store import (
    MAX_DRAFT_DAYS,
    ContactQuery,
    DraftRecord,
    EarlierContact,
    PurgeResult,
    SqliteStore,
    Store,
    UnstorableSubmission,
    postgres_schema,
    sqlite_schema,
)

__all__ = ["backend", "clock"]  # the fixtures, shared with test_store_backends

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)
LATER = T0.replace(year=2100)
MATTI = ("email:" + "a" * 58, "phone:" + "b" * 58)  # as intake's HMAC keys look
LIISA = ("email:" + "c" * 58,)
ANSWERS = {"plate": "ABC-123", "email": "Matti.Meikalainen@Example.com", "notes": "Jarrut ✓"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # psycopg's async connections run on asyncio


@pytest.fixture
async def store(backend: Backend, clock: StillClock) -> AsyncIterator[Store]:
    opened = backend.make(clock=clock)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def draft(email: str = "Matti.Meikalainen@Example.com", **changes: Any) -> DraftRecord:
    """A draft made at T0 (or ``created_at``), valid a week, with a fresh id."""
    created = changes.get("created_at", T0)
    record = DraftRecord(
        id=secrets.token_hex(16),
        form="car-service",
        locale="fi",
        data={"plate": "ABC-123", "notes": "Jarrut kitisevät ✓", "nested": {"a": [1, None]}},
        email=email,
        created_at=created,
        expires_at=created + MAX_DRAFT_DAYS * DAY,
    )
    return dataclasses.replace(record, **changes)


async def contact(store: Store, keys: tuple[str, ...], **changes: Any) -> str:
    new = submission(contact_keys=keys, data=ANSWERS, **changes)
    return (await store.save(new)).reference


# -- single-use links -----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_link_is_used_once_and_later_uses_learn_the_first_reference(
    store: Store,
) -> None:
    jti = secrets.token_hex(16)
    assert await store.link_use(jti) is None
    assert await store.record_link_use(jti, "car-service", "CAR-AAAAAA", T0) is None
    assert await store.link_use(jti) == "CAR-AAAAAA"
    assert await store.record_link_use(jti, "car-service", "CAR-BBBBBB", T0 + HOUR) == "CAR-AAAAAA"
    assert await store.record_link_use(jti, "booking", "BOO-CCCCCC", T0) == "CAR-AAAAAA"
    assert await store.link_use(jti) == "CAR-AAAAAA"
    other = "portal-" + secrets.token_hex(8)  # a portal's JWT id may be any text
    assert await store.record_link_use(other, "car-service", "CAR-DDDDDD", T0) is None
    for never in ("", "x" * 201, "a\x00b", "\ud800"):
        assert await store.link_use(never) is None


@pytest.mark.anyio
async def test_of_uses_racing_on_many_connections_exactly_one_is_first(
    backend: Backend,
) -> None:
    jti = secrets.token_hex(16)
    stores = [backend.make() for _ in range(6)]
    answers: dict[str, str | None] = {}
    try:
        for opened in stores:
            await opened.open()

        async def use(opened: Store, reference: str) -> None:
            answers[reference] = await opened.record_link_use(jti, "car-service", reference, T0)

        async with anyio.create_task_group() as group:
            for n, opened in enumerate(stores):
                for m in range(3):
                    group.start_soon(use, opened, f"CAR-{n}{m}AAAA")
    finally:
        for opened in stores:
            await opened.close()
    [first] = [reference for reference, answer in answers.items() if answer is None]
    assert len(answers) == 18
    assert {answer for answer in answers.values() if answer is not None} == {first}


@pytest.mark.anyio
async def test_a_bad_link_use_is_refused_before_anything_is_stored(store: Store) -> None:
    jti = secrets.token_hex(16)
    bad: list[tuple[tuple[Any, ...], str]] = [
        (("", "car-service", "CAR-AAAAAA", T0), "jti is empty"),
        (("x" * 201, "car-service", "CAR-AAAAAA", T0), "jti is not a text a store can keep"),
        ((jti, "", "CAR-AAAAAA", T0), "form is empty"),
        ((jti, "car-service", "", T0), "reference is empty"),
        ((jti, "car-service", "CAR-\x00", T0), "reference is not a text"),
        ((jti, "car-service", "CAR-AAAAAA", T0.replace(tzinfo=None)), "aware"),
    ]
    for args, message in bad:
        with pytest.raises(ValueError, match=message) as caught:
            await store.record_link_use(*args)
        assert "xxxx" not in str(caught.value)
    assert await store.link_use(jti) is None


# -- drafts ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_draft_reads_back_as_saved_and_nothing_of_it_is_in_its_repr(
    store: Store,
) -> None:
    helsinki = dt.timezone(dt.timedelta(hours=2))
    record = draft(created_at=T0.astimezone(helsinki))
    await store.save_draft(record)
    found = await store.get_draft(record.id)
    assert found == record
    assert found is not None and found.created_at.tzinfo == dt.UTC
    assert found.expires_at.tzinfo == dt.UTC and found.mail_sent_at is None
    shown = repr(found)
    assert "Meikalainen" not in shown and "ABC-123" not in shown and "Jarrut" not in shown
    assert record.id in shown  # what the logs may name
    assert await store.get_draft(secrets.token_hex(16)) is None
    for never in ("", "not-a-draft", record.id.upper(), "a\x00b"):
        assert await store.get_draft(never) is None
        assert await store.delete_draft(never) is False


@pytest.mark.anyio
async def test_saving_a_draft_again_replaces_it_and_its_mail_is_sent_again(
    store: Store,
) -> None:
    record = draft()
    await store.save_draft(record)
    assert [d.id for d in await store.claim_draft_mails(10)] == [record.id]
    assert await store.mark_draft_mail_sent(record.id, T0)
    changed = dataclasses.replace(record, data={"plate": "XYZ-999"}, locale="sv")
    await store.save_draft(changed)
    assert await store.get_draft(record.id) == changed
    assert await store.claim_draft_mails(10) == [changed]


@pytest.mark.anyio
async def test_an_expired_draft_is_neither_read_nor_mailed_and_retention_deletes_it(
    store: Store, clock: StillClock
) -> None:
    short = draft(expires_at=T0 + HOUR)
    week = draft()
    for record in (short, week):
        await store.save_draft(record)
    clock.now = T0 + HOUR  # the moment it expires
    assert await store.get_draft(short.id) is None
    assert await store.get_draft(week.id) == week
    assert await store.claim_draft_mails(10) == [week]
    result = await store.purge(delivered_before=None, spam_before=T0, clients_before=T0)
    assert result == PurgeResult(drafts_deleted=1)
    assert await store.drafts_of(short.email) == [week]  # gone, not only hidden
    clock.now = T0 + MAX_DRAFT_DAYS * DAY
    assert await store.get_draft(week.id) is None
    again = await store.purge(delivered_before=None, spam_before=T0, clients_before=T0)
    assert again.drafts_deleted == 1
    assert await store.drafts_of(week.email) == []


@pytest.mark.anyio
async def test_the_hourly_retention_deletes_expired_drafts(
    store: Store, clock: StillClock, tmp_path: Path
) -> None:
    record = draft()
    await store.save_draft(record)
    clock.now = T0 + 8 * DAY
    done = await purge(store, Settings(upload_dir=tmp_path), now=clock.now)
    assert done.result.drafts_deleted == 1
    assert await store.drafts_of(record.email) == []


@pytest.mark.anyio
async def test_storing_the_submission_that_continues_a_draft_deletes_it(store: Store) -> None:
    continued, other = draft(), draft()
    for record in (continued, other):
        await store.save_draft(record)
    # A save that fails stores nothing, and the draft stays.
    with pytest.raises(UnstorableSubmission):
        await store.save(submission(draft=continued.id, data={"notes": "a\x00b"}))
    assert await store.get_draft(continued.id) == continued
    reference = (await store.save(submission(draft=continued.id))).reference
    assert await store.get(reference) is not None
    assert await store.get_draft(continued.id) is None
    assert await store.get_draft(other.id) == other
    # A draft already gone (submitted twice, or expired and purged) is no matter.
    assert (await store.save(submission(draft=continued.id))).created
    assert await store.delete_draft(other.id) is True
    assert await store.delete_draft(other.id) is False
    with pytest.raises(ValueError, match="draft must be a draft's id"):
        submission(draft="../../etc")


@pytest.mark.anyio
async def test_draft_mails_are_claimed_once_oldest_first_until_sent(
    store: Store, clock: StillClock
) -> None:
    first = draft(created_at=T0 - 2 * HOUR)
    second = draft(created_at=T0 - HOUR)
    sent = draft(mail_sent_at=T0 - HOUR)
    for record in (second, sent, first):
        await store.save_draft(record)
    assert await store.claim_draft_mails(1) == [first]
    assert await store.claim_draft_mails(10) == [second]  # first is held
    assert await store.claim_draft_mails(10) == []
    assert await store.mark_draft_mail_sent(first.id, T0 + SECOND)
    # The worker holding second crashed: after the lease another takes it.
    clock.now = T0 + 301 * SECOND
    assert await store.claim_draft_mails(10) == [second]
    mailed = await store.get_draft(first.id)
    assert mailed is not None and mailed.mail_sent_at == T0 + SECOND
    # A mail that keeps failing is tried five times in all.
    for _ in range(3):
        clock.now += 301 * SECOND
        assert await store.claim_draft_mails(10, lease_seconds=300) == [second]
    clock.now += 301 * SECOND
    assert await store.claim_draft_mails(10) == []
    assert await store.mark_draft_mail_sent(secrets.token_hex(16), T0) is False
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        await store.claim_draft_mails(0)
    with pytest.raises(ValueError, match="lease_seconds must be more than 0"):
        await store.claim_draft_mails(1, lease_seconds=float("inf"))
    with pytest.raises(ValueError, match="aware"):
        await store.mark_draft_mail_sent(first.id, T0.replace(tzinfo=None))


@pytest.mark.anyio
async def test_workers_claiming_draft_mails_at_once_never_share_one(backend: Backend) -> None:
    records = [draft(created_at=T0 - n * dt.timedelta(seconds=1)) for n in range(40)]
    stores = [backend.make(clock=lambda: T0) for _ in range(4)]
    claimed: list[str] = []
    try:
        for opened in stores:
            await opened.open()
        for record in records:
            await stores[0].save_draft(record)

        async def worker(opened: Store) -> None:
            while batch := await opened.claim_draft_mails(3):
                claimed.extend(d.id for d in batch)

        async with anyio.create_task_group() as group:
            for opened in stores:
                group.start_soon(worker, opened)
    finally:
        for opened in stores:
            await opened.close()
    assert sorted(claimed) == sorted(r.id for r in records)


@pytest.mark.anyio
async def test_a_customers_drafts_are_found_and_erased_by_address_whatever_its_case(
    store: Store,
) -> None:
    older = draft("matti.meikalainen@example.com", created_at=T0 - HOUR)
    newer = draft(" MATTI.Meikalainen@EXAMPLE.com")
    expired = draft(created_at=T0 - 9 * DAY, expires_at=T0 - 2 * DAY)  # kept until purged
    others = draft("liisa@example.com")
    for record in (newer, others, expired, older):
        await store.save_draft(record)
    assert await store.drafts_of("Matti.Meikalainen@example.COM") == [expired, older, newer]
    assert await store.drafts_of("matti@example.com") == []
    assert await store.erase_drafts("MATTI.MEIKALAINEN@example.com ") == 3
    assert await store.drafts_of("matti.meikalainen@example.com") == []
    assert await store.drafts_of("liisa@example.com") == [others]
    assert await store.erase_drafts("matti.meikalainen@example.com") == 0
    for bad in ("", "   "):
        with pytest.raises(ValueError, match="address is empty"):
            await store.drafts_of(bad)
        with pytest.raises(ValueError, match="address is empty"):
            await store.erase_drafts(bad)
    with pytest.raises(ValueError, match="not one a store can keep") as caught:
        await store.erase_drafts("matti\x00@example.com")
    assert "matti" not in str(caught.value)


@pytest.mark.anyio
async def test_a_bad_draft_is_refused_before_anything_is_stored_naming_no_value(
    store: Store,
) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"id": "ABC"}, "32 lowercase hex"),
        ({"form": ""}, "form is empty"),
        ({"locale": "f\x00"}, "locale is empty or not a text"),
        ({"email": ""}, "address is empty"),
        ({"email": "m" * 321}, "at most 320 characters"),
        ({"created_at": T0.replace(tzinfo=None)}, "created_at must be an aware"),
        ({"expires_at": T0}, "expires_at must be after its created_at"),
        ({"expires_at": T0 + 8 * DAY}, "more than 7 days after"),
        ({"mail_sent_at": T0.replace(tzinfo=None)}, "mail_sent_at must be an aware"),
        ({"data": {"notes": "Salainen\x00teksti"}}, "'notes' holds a NUL"),
        ({"data": {"mileage": float("nan")}}, "not JSON a store can keep"),
        ({"data": {"notes": "x" * 300_000}}, "a draft may take 262144"),
        ({"data": ["Salainen"]}, "must be a JSON object"),
    ]
    for changes, message in bad:
        with pytest.raises(ValueError, match=message) as caught:
            await store.save_draft(draft(**changes))
        shown = str(caught.value)
        assert "Salainen" not in shown and "Meikalainen" not in shown and "mmmm" not in shown
    assert await store.drafts_of("Matti.Meikalainen@Example.com") == []


@pytest.mark.anyio
async def test_erased_drafts_are_in_none_of_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    mark = f"MARK{secrets.token_hex(8)}"
    async with SqliteStore(path, clock=lambda: T0) as store:
        await store.save_draft(draft(f"{mark}@example.com"))
        await store.save_draft(draft("kept@example.com", data={"notes": f"{mark} kept"}))
        assert await store.erase_drafts(f"{mark}@EXAMPLE.com") == 1
        for side in ("", "-wal", "-shm"):
            file = Path(f"{path}{side}")
            if file.exists():
                assert f"{mark}@".encode() not in file.read_bytes(), file.name


# -- earlier contacts ------------------------------------------------------------------


@pytest.mark.anyio
async def test_earlier_contacts_are_the_same_customers_newest_first_without_spam(
    store: Store, clock: StillClock
) -> None:
    by_email = await contact(store, MATTI[:1])
    clock.now += HOUR
    other = await contact(store, LIISA)  # another customer: never listed
    clock.now += HOUR
    await contact(store, MATTI, spam=True)  # spam: never listed
    clock.now += HOUR
    by_phone = await contact(store, MATTI[1:], form="booking", reference_prefix="BOO")
    clock.now += HOUR
    plain = await contact(store, ())  # no contact details: nobody's
    clock.now += HOUR
    now = await contact(store, MATTI)
    clock.now += HOUR
    later = await contact(store, MATTI)  # after the one asked about

    found = await store.earlier_contacts(MATTI, before_reference=now, since=T0)
    assert [(c.reference, c.form, c.submitted_at) for c in found] == [
        (by_phone, "booking", T0 + 3 * HOUR),
        (by_email, "car-service", T0),
    ]
    assert all(not c.erased and c.data == ANSWERS for c in found)
    assert "Meikalainen" not in repr(found) and "ABC-123" not in repr(found)
    assert await store.earlier_contacts(LIISA, before_reference=later, since=T0) == [
        EarlierContact(other, "car-service", T0 + HOUR, data=ANSWERS)
    ]
    # Without a submission to look back from: everything up to now.
    everything = await store.earlier_contacts(MATTI, before_reference=None, since=T0)
    assert [c.reference for c in everything] == [later, now, by_phone, by_email]
    assert [
        c.reference
        for c in await store.earlier_contacts(MATTI[:1], before_reference=None, since=T0)
    ] == [later, now, by_email]
    assert await store.earlier_contacts(("nobody",), before_reference=None, since=T0) == []
    assert await store.earlier_contacts((), before_reference=now, since=T0) == []
    assert await store.earlier_contacts(MATTI, before_reference=plain, since=T0) != []
    assert await store.earlier_contacts(MATTI, before_reference="CAR-ZZZZZZ", since=T0) == []


@pytest.mark.anyio
async def test_earlier_contacts_since_and_limit(store: Store, clock: StillClock) -> None:
    references = []
    for _ in range(5):
        references.append(await contact(store, MATTI))
        clock.now += DAY
    last = references[-1]
    since = T0 + 2 * DAY  # the start counts
    found = await store.earlier_contacts(MATTI, before_reference=last, since=since)
    assert [c.reference for c in found] == [references[3], references[2]]
    limited = await store.earlier_contacts(MATTI, before_reference=last, since=T0, limit=2)
    assert [c.reference for c in limited] == [references[3], references[2]]
    with pytest.raises(ValueError, match="limit must be 1 to 1000"):
        await store.earlier_contacts(MATTI, before_reference=last, since=T0, limit=0)
    with pytest.raises(ValueError, match="aware"):
        await store.earlier_contacts(MATTI, before_reference=last, since=T0.replace(tzinfo=None))
    with pytest.raises(TypeError, match="not one text"):
        await store.earlier_contacts(MATTI[0], before_reference=last, since=T0)
    with pytest.raises(ValueError, match="a contact key must be"):
        await store.earlier_contacts(("",), before_reference=last, since=T0)
    with pytest.raises(ValueError, match="before_reference must be"):
        await store.earlier_contacts(MATTI, before_reference="CAR-\x00", since=T0)


@pytest.mark.anyio
async def test_a_batch_look_up_finds_what_each_look_up_finds(
    store: Store, clock: StillClock
) -> None:
    made: list[tuple[str, tuple[str, ...], dt.datetime]] = []
    for keys in (MATTI, LIISA, MATTI[:1], (), MATTI[1:], LIISA, MATTI):
        made.append((await contact(store, keys), keys, clock.now))
        clock.now += HOUR
    await contact(store, MATTI, spam=True)
    queries = [
        ContactQuery(keys, reference, moment - 4 * HOUR, moment) for reference, keys, moment in made
    ]
    batch = await store.earlier_contacts_many(queries, limit=2)
    one_by_one = [
        await store.earlier_contacts(
            keys, before_reference=reference, since=moment - 4 * HOUR, limit=2
        )
        if keys
        else []
        for reference, keys, moment in made
    ]
    assert batch == one_by_one
    assert [c.reference for c in batch[-1]] == [made[4][0], made[2][0]]
    assert await store.earlier_contacts_many([]) == []


@pytest.mark.anyio
async def test_a_submission_keeps_its_contact_keys_once_each(store: Store) -> None:
    reference = await contact(store, (MATTI[1], MATTI[0], MATTI[1]))
    assert await store.contact_keys_of(reference) == tuple(sorted(MATTI))
    assert await store.contact_keys_of(await contact(store, ())) == ()
    assert await store.contact_keys_of("CAR-ZZZZZZ") == ()
    assert await store.contact_keys_of("") == ()
    assert "aaaa" not in repr(submission(contact_keys=MATTI))
    with pytest.raises(TypeError, match="not one text"):
        submission(contact_keys=MATTI[0])
    with pytest.raises(ValueError, match="a contact key must be"):
        submission(contact_keys=("",))
    with pytest.raises(UnstorableSubmission) as caught:
        await store.save(submission(contact_keys=("a\x00b",)))
    assert caught.value.field == "contact_keys"


@pytest.mark.anyio
async def test_erasure_unties_a_submission_from_its_customer(
    store: Store, clock: StillClock
) -> None:
    by_request = await contact(store, MATTI)
    clock.now += HOUR
    by_retention = await contact(store, MATTI, targets=[])  # nothing to deliver: erasable
    clock.now += HOUR
    kept = await contact(store, MATTI)
    clock.now += HOUR
    now = await contact(store, MATTI)
    before = await store.earlier_contacts(MATTI, before_reference=now, since=T0)
    assert [c.reference for c in before] == [kept, by_retention, by_request]

    await store.erase(by_request)
    result = await store.purge(
        delivered_before=T0 + HOUR + dt.timedelta(seconds=1), spam_before=T0, clients_before=T0
    )
    assert result.erased == 1

    after = await store.earlier_contacts(MATTI, before_reference=now, since=T0)
    assert [c.reference for c in after] == [kept]
    for reference in (by_request, by_retention):
        assert await store.contact_keys_of(reference) == ()
        erased = await store.get(reference)
        assert erased is not None and erased.erased


@pytest.mark.anyio
async def test_released_spam_is_an_earlier_contact_and_deleted_spam_leaves_no_keys(
    store: Store, clock: StillClock, backend: Backend
) -> None:
    released = await contact(store, MATTI, spam=True)
    deleted = await contact(store, MATTI, spam=True)
    clock.now += HOUR
    now = await contact(store, MATTI)
    assert await store.earlier_contacts(MATTI, before_reference=now, since=T0) == []
    assert await store.release(released, ["email:0"])
    found = await store.earlier_contacts(MATTI, before_reference=now, since=T0)
    assert [c.reference for c in found] == [released]
    assert await store.delete_spam(deleted) is not None
    assert backend.rows(
        f"SELECT count(*) FROM submission_contacts WHERE reference = '{deleted}'"
    ) == [(0,)]


# -- an older database -------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_database_of_the_previous_version_is_upgraded_and_keeps_its_rows(
    backend: Backend, clock: StillClock
) -> None:
    made = "2025-01-02T03:04:05+00:00"
    insert = (
        "INSERT INTO submissions (reference, form, form_version, locale, data, spam,"
        " client, submitted_at, context) VALUES ('CAR-AAAAAA', 'car-service', 'v1', 'fi',"
        ' \'{"plate": "ABC-123"}\', FALSE, NULL, MADE, \'{"faq": null}\')'
    )
    search = (
        "INSERT INTO faq_searches (id, language, form, channel, query, query_key, results,"
        " result_count, top_score, searched_at) VALUES ('" + "0" * 32 + "', 'fi', NULL,"
        " 'chat', 'renkaat', 'renkaat', '[]', 0, NULL, MADE)"
    )
    sqlite = backend.path is not None
    backend.at_version(
        len(sqlite_schema.MIGRATIONS) - 1,
        len(postgres_schema.MIGRATIONS) - 1,
        [
            (insert.replace("FALSE", "0" if sqlite else "false").replace("MADE", "?"), (made,)),
            (search.replace("MADE", "?"), (made,)),
        ],
    )
    store = backend.make(clock=clock)
    await store.open()
    try:
        old = await store.get("CAR-AAAAAA")
        assert old is not None and old.data == {"plate": "ABC-123"}
        assert old.context == {"faq": None}
        assert (await store.faq_search("0" * 32)).query == "renkaat"  # type: ignore[union-attr]
        assert await store.contact_keys_of("CAR-AAAAAA") == ()
        now = await contact(store, MATTI)
        assert await store.earlier_contacts(MATTI, before_reference=now, since=T0) == []
        record = draft()
        await store.save_draft(record)
        assert await store.get_draft(record.id) == record
        assert await store.record_link_use("j" * 32, "car-service", now, T0) is None
        await store.check()  # the schema is this release's
    finally:
        await store.close()
