"""A submission's context, and FAQ searches with what came of them, on both
backends (SQLite and PostgreSQL, see test_store_backends.py).

A context (the FAQ answers a customer read before contacting us, the
questions an incomplete contact left open) goes with the submission to the
worker and is erased with the answers. FAQ searches are counted per form and
period, the questions without answers are listed most frequent first, and
the hourly retention blanks what customers typed after 30 days while the
counts stay.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from test_store_backends import T0, Backend, backend, fresh_schema, submission

from intakeforms.privacy import maintain, purge
from intakeforms.settings import Settings
from intakeforms.store import (
    FAQ_EVENTS,
    FAQ_QUERY_DAYS,
    MAX_FAQ_QUERY,
    FaqCounts,
    FaqSearchRecord,
    PostgresStore,
    SqliteStore,
    Store,
    UnstorableSubmission,
    new_worker_id,
)

__all__ = ["backend"]  # the fixture, shared with test_store_backends

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
CONTEXT = {
    "faq": {
        "search": "0123456789abcdef0123456789abcdef",
        "shown": [
            {"faq": "workshop", "entry": "winter-tyres", "question": "Milloin talvirenkaat?"},
            {"faq": "workshop", "entry": "brake-noise", "question": "Miksi jarrut kitisevät?"},
        ],
    },
    "incomplete": {"missing": ["mileage", "plate"]},
}
TYRES = ("workshop", "winter-tyres")
# The schema versions before the one that added contexts and FAQ searches.
BEFORE_FAQ_SQLITE, BEFORE_FAQ_POSTGRES = 4, 3
BRAKES = ("workshop", "brake-noise")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # psycopg's async connections run on asyncio


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = backend.make()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def search(
    query: str = "winter tyres",
    *,
    results: tuple[tuple[str, str], ...] = (TYRES,),
    form: str | None = "car-service",
    at: dt.datetime = T0,
    **changes: Any,
) -> FaqSearchRecord:
    """A search with a fresh id, as the web layer makes one."""
    record = FaqSearchRecord(
        id=secrets.token_hex(16),
        language="fi",
        form=form,
        channel="chat",
        query=query,
        results=results,
        top_score=0.83 if results else None,
        at=at,
    )
    return dataclasses.replace(record, **changes)


async def saved(store: Store, *args: Any, **kwargs: Any) -> str:
    record = search(*args, **kwargs)
    await store.save_faq_search(record)
    return record.id


# -- a submission's context -----------------------------------------------------------


@pytest.mark.anyio
async def test_the_context_goes_with_the_submission_to_the_worker(store: Store) -> None:
    with_context = (await store.save(submission(context=CONTEXT))).reference
    without = (await store.save(submission())).reference
    stored = await store.get(with_context)
    assert stored is not None and stored.context == CONTEXT
    plain = await store.get(without)
    assert plain is not None and plain.context is None
    claimed = await store.claim(new_worker_id(), limit=10, lease_seconds=60)
    contexts = {job.submission.reference: job.submission.context for job in claimed}
    assert contexts == {with_context: CONTEXT, without: None}
    assert "Milloin" not in repr(stored)  # kept out of logs, like the answers


@pytest.mark.anyio
async def test_the_context_is_erased_with_the_answers(store: Store, backend: Backend) -> None:
    by_request = (await store.save(submission(context=CONTEXT))).reference
    by_retention = (await store.save(submission(context=CONTEXT, targets=[]))).reference
    before = await store.erase(by_request)
    assert before is not None and before.context == CONTEXT
    later = T0.replace(year=2100)
    result = await store.purge(delivered_before=later, spam_before=later, clients_before=later)
    assert result.erased == 1
    for reference in (by_request, by_retention):
        after = await store.get(reference)
        assert after is not None and after.erased and after.context is None
    assert backend.rows("SELECT count(*) FROM submissions WHERE context IS NOT NULL") == [(0,)]


@pytest.mark.anyio
async def test_a_context_no_store_can_keep_is_refused_naming_where(store: Store) -> None:
    nul = {"faq": {"search": "x", "shown": [{"question": "a\x00b"}]}}
    with pytest.raises(UnstorableSubmission) as caught:
        await store.save(submission(context=nul))
    assert (caught.value.field, caught.value.code) == (
        "context.faq.shown[0].question",
        "nul_character",
    )
    with pytest.raises(UnstorableSubmission) as caught:
        await store.save(submission(context={"score": float("nan")}))
    assert (caught.value.field, caught.value.code) == ("context", "not_json")
    assert await store.count() == 0


@pytest.mark.anyio
async def test_a_database_of_the_previous_version_is_upgraded_and_keeps_its_rows(
    backend: Backend,
) -> None:
    made = "2025-01-02T03:04:05+00:00"
    backend.at_version(
        BEFORE_FAQ_SQLITE,
        BEFORE_FAQ_POSTGRES,
        [
            (
                "INSERT INTO submissions (reference, form, form_version, locale, data, spam,"
                " client, submitted_at) VALUES ('CAR-AAAAAA', 'car-service', 'v1', 'fi',"
                ' \'{"plate": "ABC-123"}\', ?, NULL, ?)',
                (False, made),
            ),
            (
                "INSERT INTO outbox (reference, target, next_attempt_at, created_at, updated_at)"
                " VALUES ('CAR-AAAAAA', 'email:0', ?, ?, ?)",
                (made, made, made),
            ),
        ],
    )
    store = backend.make()
    await store.open()
    try:
        old = await store.get("CAR-AAAAAA")
        assert old is not None and old.data == {"plate": "ABC-123"} and old.context is None
        [claimed] = await store.claim("w", limit=5, lease_seconds=60)
        assert claimed.submission.reference == "CAR-AAAAAA"
        new = (await store.save(submission(context=CONTEXT))).reference
        assert (await store.get(new)).context == CONTEXT  # type: ignore[union-attr]
        search_id = await saved(store)
        assert await store.faq_search(search_id) is not None
        await store.check()  # the schema is this release's
    finally:
        await store.close()


# -- FAQ searches and events ------------------------------------------------------------


@pytest.mark.anyio
async def test_a_search_reads_back_as_it_was_saved(store: Store) -> None:
    helsinki = dt.timezone(dt.timedelta(hours=2))
    record = search(
        "Milloin  vaihdan NASTARENKAAT? ✓",
        results=(TYRES, BRAKES),
        at=T0.astimezone(helsinki),
        top_score=0.5,
    )
    await store.save_faq_search(record)
    found = await store.faq_search(record.id)
    assert found == record
    assert found is not None and found.at.tzinfo == dt.UTC
    topic = search("", results=(), form=None, channel="api")
    await store.save_faq_search(topic)
    assert await store.faq_search(topic.id) == topic
    assert "NASTARENKAAT" not in repr(found)  # the customer's words stay out of logs


@pytest.mark.anyio
async def test_an_unknown_search_is_none_and_takes_no_event(store: Store) -> None:
    known = await saved(store)
    for unknown in (secrets.token_hex(16), "not-a-search", "", "x" * 5000, "a\x00b"):
        assert await store.faq_search(unknown) is None
        assert await store.save_faq_event(unknown, "winter-tyres", "opened", T0) is False
    assert await store.faq_counts(T0, T0 + DAY) == FaqCounts(searches=1, answered=1)
    assert await store.save_faq_event(known, "winter-tyres", "opened", T0) is True


@pytest.mark.anyio
async def test_events_are_checked_before_they_are_kept(store: Store) -> None:
    known = await saved(store, results=(TYRES, BRAKES))
    assert FAQ_EVENTS == ("opened", "helpful", "not_helpful", "continued")
    with pytest.raises(ValueError, match="not one of opened, helpful"):
        await store.save_faq_event(known, "winter-tyres", "liked", T0)
    with pytest.raises(ValueError, match="name its entry"):
        await store.save_faq_event(known, None, "helpful", T0)
    with pytest.raises(ValueError, match="not among the answers"):
        await store.save_faq_event(known, "oil-change", "opened", T0)
    with pytest.raises(ValueError, match="aware"):
        await store.save_faq_event(known, "winter-tyres", "opened", T0.replace(tzinfo=None))
    assert await store.faq_counts(T0, T0 + DAY) == FaqCounts(searches=1, answered=1)
    assert await store.save_faq_event(known, None, "continued", T0)
    assert await store.save_faq_event(known, "brake-noise", "continued", T0)
    counts = await store.faq_counts(T0, T0 + DAY)
    assert counts == FaqCounts(searches=1, answered=1, continued=1)


@pytest.mark.anyio
async def test_a_bad_search_is_refused_before_anything_is_stored(store: Store) -> None:
    good = search()
    await store.save_faq_search(good)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"id": "ABC"}, "32 lowercase hex"),
        ({"id": good.id}, "stored already"),
        ({"query": "x" * (MAX_FAQ_QUERY + 1)}, f"201 characters; cut it to {MAX_FAQ_QUERY}"),
        ({"at": T0.replace(tzinfo=None)}, "aware"),
        ({"language": ""}, "language"),
        ({"form": "a\x00b"}, "form"),
        ({"results": (("workshop", ""),)}, "entry"),
        ({"top_score": float("nan")}, "finite"),
    ]
    for changes, message in bad:
        record = dataclasses.replace(search(), **changes)
        with pytest.raises(ValueError, match=message) as caught:
            await store.save_faq_search(record)
        assert "xxxxx" not in str(caught.value)  # never the customer's words
    assert await store.faq_counts(T0 - DAY, T0 + DAY) == FaqCounts(searches=1, answered=1)


@pytest.mark.anyio
async def test_text_no_store_can_keep_is_cleaned_from_a_query(store: Store) -> None:
    search_id = await saved(store, "renkaat\x00 \ud800 nyt", results=())
    found = await store.faq_search(search_id)
    assert found is not None and found.query == "renkaat\ufffd \ufffd nyt"
    assert await store.faq_gaps(T0) == [("renkaat\ufffd \ufffd nyt", 1)]


# -- gaps ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_gaps_group_unanswered_queries_most_frequent_first(store: Store) -> None:
    unanswered = [
        "Winter tyres",
        "  winter   TYRES ",
        "WINTER\ttyres\n",
        "Straße",
        "STRASSE",
        "zebra",
        "äiti",  # after "zebra": equal counts go in code point order, on both databases
        "   ",  # nothing left to group: left out
    ]
    for at, text in enumerate(unanswered):
        await saved(store, text, results=(), at=T0 + at * HOUR)
    for _ in range(5):  # answered: not a gap, however often
        await saved(store, "how much is a service", results=(BRAKES,))
    for _ in range(9):  # before the period asked about
        await saved(store, "old question", results=(), at=T0 - dt.timedelta(seconds=1))
    await saved(store, "no form", results=(), form=None, channel="api")
    expected = [
        ("winter tyres", 3),
        ("strasse", 2),
        ("no form", 1),
        ("zebra", 1),
        ("äiti", 1),
    ]
    assert await store.faq_gaps(T0) == expected
    assert await store.faq_gaps(T0, limit=2) == expected[:2]
    assert (await store.faq_gaps(T0 - DAY))[0] == ("old question", 9)
    assert await store.faq_gaps(T0 + DAY) == []
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        await store.faq_gaps(T0, limit=0)


# -- counts --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_counts_per_form_and_period(store: Store) -> None:
    s1 = await saved(store, at=T0)  # the start of the period counts
    s2 = await saved(store, at=T0 + 1 * HOUR)
    s3 = await saved(store, "kytkin", results=(), at=T0 + 2 * HOUR)
    s4 = await saved(store, form="tyre-hotel", at=T0 + 3 * HOUR)
    await saved(store, "aukioloajat", results=(), form=None, at=T0 + 4 * HOUR)
    s6 = await saved(store, at=T0 + DAY)  # the end does not
    s7 = await saved(store, at=T0 - dt.timedelta(seconds=1))
    events = [
        (s1, "winter-tyres", "opened"),
        (s1, "winter-tyres", "opened"),  # one search opened twice counts once
        (s1, "winter-tyres", "helpful"),
        (s2, "winter-tyres", "opened"),
        (s2, "winter-tyres", "not_helpful"),
        (s2, None, "continued"),
        (s3, None, "continued"),
        (s4, "winter-tyres", "opened"),
        (s6, "winter-tyres", "opened"),
        (s7, "winter-tyres", "helpful"),
    ]
    for search_id, entry, event in events:
        assert await store.save_faq_event(search_id, entry, event, T0 + 5 * HOUR)
    # An event long after its search counts in the search's period.
    assert await store.save_faq_event(s1, None, "continued", T0 + 9 * DAY)

    day = (T0, T0 + DAY)
    assert await store.faq_counts(*day) == FaqCounts(
        searches=5, answered=3, no_answer=2, opened=3, helpful=1, not_helpful=1, continued=3
    )
    assert await store.faq_counts(*day, form="car-service") == FaqCounts(
        searches=3, answered=2, no_answer=1, opened=2, helpful=1, not_helpful=1, continued=3
    )
    assert await store.faq_counts(*day, form="tyre-hotel") == FaqCounts(
        searches=1, answered=1, opened=1
    )
    assert await store.faq_counts(*day, form="no-such-form") == FaqCounts()
    assert await store.faq_counts(T0 + DAY, T0 + 2 * DAY) == FaqCounts(
        searches=1, answered=1, opened=1
    )
    assert await store.faq_counts(T0, T0) == FaqCounts()
    with pytest.raises(ValueError, match="before since"):
        await store.faq_counts(T0 + DAY, T0)
    with pytest.raises(ValueError, match="aware"):
        await store.faq_counts(T0.replace(tzinfo=None), T0 + DAY)


# -- retention -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retention_blanks_only_old_query_text_and_keeps_the_counts(
    store: Store, tmp_path: Path
) -> None:
    now = T0 + 100 * DAY
    edge = now - FAQ_QUERY_DAYS * DAY
    old = await saved(store, "Rekisterinumero ABC-123 talvirenkaat", results=(), at=edge - HOUR)
    old_answered = await saved(store, "talvirenkaat", at=edge - 2 * HOUR)
    recent = await saved(store, "kytkin luistaa", results=(), at=edge + HOUR)
    assert await store.save_faq_event(old_answered, "winter-tyres", "helpful", edge)
    period = (now - 60 * DAY, now)
    counted = await store.faq_counts(*period)
    assert counted == FaqCounts(searches=3, answered=1, no_answer=2, helpful=1)
    before = await store.faq_search(old)

    done = await purge(store, Settings(upload_dir=tmp_path), now=now)  # what runs hourly

    assert done.cutoffs.faq_queries_before == edge
    assert done.result.faq_queries_blanked == 2
    blanked = await store.faq_search(old)
    assert before is not None and blanked == dataclasses.replace(before, query="")
    assert (await store.faq_search(old_answered)).query == ""  # type: ignore[union-attr]
    assert (await store.faq_search(recent)).query == "kytkin luistaa"  # type: ignore[union-attr]
    assert await store.faq_counts(*period) == counted
    assert await store.faq_gaps(now - 60 * DAY) == [("kytkin luistaa", 1)]
    again = await purge(store, Settings(upload_dir=tmp_path), now=now)
    assert again.result.faq_queries_blanked == 0


@pytest.mark.anyio
async def test_the_hourly_maintenance_blanks_old_query_text(store: Store, tmp_path: Path) -> None:
    old = await saved(store, "vanha kysymys", at=T0 - (FAQ_QUERY_DAYS + 1) * DAY)
    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(
            lambda: maintain(store, Settings(upload_dir=tmp_path), stop, clock=lambda: T0)
        )
        with anyio.fail_after(10):
            while (await store.faq_search(old)).query:  # type: ignore[union-attr]
                await anyio.sleep(0.01)
        stop.set()


@pytest.mark.anyio
async def test_store_purge_keeps_query_text_unless_asked(store: Store) -> None:
    old = await saved(store, "vanha", at=T0 - 400 * DAY)
    result = await store.purge(delivered_before=None, spam_before=T0, clients_before=T0)
    assert result.faq_queries_blanked == 0
    assert (await store.faq_search(old)).query == "vanha"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_blanked_query_text_is_in_none_of_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    mark = f"MARK{secrets.token_hex(8)}"
    async with SqliteStore(path) as store:
        await saved(store, f"{mark} kept", results=())
        await saved(store, f"{mark} old", results=(), at=T0 - 40 * DAY)
        assert any(
            mark.encode() + b" old" in Path(f"{path}{side}").read_bytes()
            for side in ("", "-wal")
            if Path(f"{path}{side}").exists()
        )
        later = T0 - 30 * DAY
        result = await store.purge(
            delivered_before=None, spam_before=later, clients_before=later, faq_queries_before=later
        )
        assert result.faq_queries_blanked == 1
        for side in ("", "-wal", "-shm"):
            file = Path(f"{path}{side}")
            if file.exists():
                assert mark.encode() + b" old" not in file.read_bytes(), file.name


@pytest.mark.anyio
async def test_blanked_query_text_is_vacuumed_out_of_the_postgres_table() -> None:
    mark = f"MARK{secrets.token_hex(8)}"
    with fresh_schema() as url:
        async with PostgresStore(url) as store:
            await saved(store, f"{mark} old", results=(), at=T0 - 40 * DAY)
            for _ in range(3):
                await saved(store, "kept", results=())

            def holding() -> bool:
                with psycopg.connect(url, autocommit=True) as c:
                    c.execute("CHECKPOINT")  # the changed pages written to the file
                    row = c.execute(
                        "SELECT current_setting('data_directory'),"
                        " pg_relation_filepath('faq_searches'::regclass)"
                    ).fetchone()
                assert row is not None
                file = Path(row[0]) / row[1]
                if not os.access(file, os.R_OK):
                    pytest.skip(f"the PostgreSQL server's files in {row[0]} cannot be read here")
                return mark.encode() in file.read_bytes()

            assert holding()  # the test sees the text while it is there
            later = T0 - 30 * DAY
            await store.purge(
                delivered_before=None,
                spam_before=later,
                clients_before=later,
                faq_queries_before=later,
            )
            assert not holding()


# -- nothing of the client ----------------------------------------------------------------


@pytest.mark.anyio
async def test_nothing_about_the_client_is_stored_with_a_search(
    store: Store, backend: Backend
) -> None:
    await saved(store)
    if backend.path is not None:
        columns = {
            table: {row[1] for row in backend.rows(f"PRAGMA table_info({table})")}
            for table in ("faq_searches", "faq_events")
        }
    else:
        found = backend.rows(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
            " AND table_name IN ('faq_searches', 'faq_events')"
        )
        columns = {}
        for table, column in found:
            columns.setdefault(table, set()).add(column)
    assert columns == {
        "faq_searches": {
            "id",
            "language",
            "form",
            "channel",
            "query",
            "query_key",
            "results",
            "result_count",
            "top_score",
            "searched_at",
        },
        "faq_events": {"id", "search", "entry", "event", "happened_at"},
    }
    fields = {f.name for f in dataclasses.fields(FaqSearchRecord)}
    assert fields == {"id", "language", "form", "channel", "query", "results", "top_score", "at"}
