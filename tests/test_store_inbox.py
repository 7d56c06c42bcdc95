"""The staff's inbox on both backends (SQLite and PostgreSQL, see
test_store_backends.py): submissions found by reference or its beginning,
form, time and spam, newest first, a page at a time without gaps or repeats,
and read back whole for an export.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from test_store_backends import T0, Backend, StillClock, backend, submission

from intakeforms.store import Store
from intakeforms.store.inbox import MAX_INBOX_PAGE, InboxQuery, reference_search

__all__ = ["backend"]  # the fixture, shared with test_store_backends

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # psycopg's async connections run on asyncio


@pytest.fixture
def clock() -> StillClock:
    return StillClock(T0)


@pytest.fixture
async def store(backend: Backend, clock: StillClock) -> AsyncIterator[Store]:
    opened = backend.make(clock)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def save_at(store: Store, clock: StillClock, at: dt.datetime, **changes: object) -> str:
    clock.now = at
    return (await store.save(submission(**changes))).reference


async def every_page(store: Store, query: InboxQuery) -> list[list[str]]:
    """The references of each page, following the cursors to the end."""
    pages = []
    while True:
        page = await store.find_submissions(query)
        pages.append([entry.reference for entry in page.entries])
        if page.next is None:
            return pages
        query = dataclasses.replace(query, after=page.next)


@pytest.mark.anyio
async def test_newest_first_a_page_at_a_time(store: Store, clock: StillClock) -> None:
    saved = [await save_at(store, clock, T0 + n * HOUR) for n in range(5)]
    # Two stored in the same moment are told apart by reference.
    twins = [await save_at(store, clock, T0 + 9 * HOUR) for _ in range(2)]
    newest_first = sorted(twins, reverse=True) + saved[::-1]
    pages = await every_page(store, InboxQuery(limit=3))
    assert pages == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    # A page that ends exactly at the end has no next.
    assert await every_page(store, InboxQuery(limit=7)) == [newest_first]


@pytest.mark.anyio
async def test_a_submission_stored_while_paging_shifts_nothing(
    store: Store, clock: StillClock
) -> None:
    saved = [await save_at(store, clock, T0 + n * HOUR) for n in range(4)]
    first = await store.find_submissions(InboxQuery(limit=2))
    await save_at(store, clock, T0 + 10 * HOUR)
    second = await store.find_submissions(InboxQuery(limit=2, after=first.next))
    assert [e.reference for e in second.entries] == [saved[1], saved[0]]
    assert second.next is None


@pytest.mark.anyio
async def test_an_entry_says_what_a_listing_shows_and_no_answers(
    store: Store, clock: StillClock
) -> None:
    reference = await save_at(store, clock, T0, spam=True, spam_reason="honeypot filled")
    [entry] = (await store.find_submissions(InboxQuery())).entries
    assert entry.reference == reference
    assert (entry.form, entry.locale, entry.submitted_at) == ("car-service", "fi", T0)
    assert (entry.spam, entry.spam_reason, entry.erased) == (True, "honeypot filled", False)
    assert not hasattr(entry, "data")
    await store.erase(reference)
    [erased] = (await store.find_submissions(InboxQuery())).entries
    assert erased.erased and erased.erased_at is not None


@pytest.mark.anyio
async def test_found_by_reference_or_its_beginning(store: Store, clock: StillClock) -> None:
    car = await save_at(store, clock, T0)
    other = await save_at(store, clock, T0 + HOUR, reference_prefix="RET")
    assert await every_page(store, InboxQuery(reference=car)) == [[car]]
    assert await every_page(store, InboxQuery(reference=car[:6])) == [[car]]
    assert await every_page(store, InboxQuery(reference="RET")) == [[other]]
    assert await every_page(store, InboxQuery(reference="C")) == [[car]]
    assert await every_page(store, InboxQuery(reference="CAR-ZZZZZZ")) == [[]]


def test_a_reference_search_is_made_of_what_staff_typed() -> None:
    assert reference_search("  car-4f7k2q ") == "CAR-4F7K2Q"
    assert reference_search("car-4f") == "CAR-4F"
    # Nothing that could be a LIKE wildcard, or not begin a reference.
    for typed in ("", "CAR%", "CAR_1", "-CAR", "matti@example.com", "x" * 40):
        assert reference_search(typed) is None


@pytest.mark.anyio
async def test_found_by_form_time_and_spam(store: Store, clock: StillClock) -> None:
    early = await save_at(store, clock, T0)
    spam = await save_at(store, clock, T0 + HOUR, spam=True, targets=[])
    other = await save_at(store, clock, T0 + 2 * HOUR, form="product-return")
    late = await save_at(store, clock, T0 + 3 * HOUR)

    async def found(**query: object) -> list[str]:
        return (await every_page(store, InboxQuery(**query)))[0]  # type: ignore[arg-type]

    assert await found(form="car-service") == [late, spam, early]
    assert await found(form="product-return") == [other]
    assert await found(spam=True) == [spam]
    assert await found(spam=False) == [late, other, early]
    # since is included, until is not.
    assert await found(since=T0 + HOUR, until=T0 + 3 * HOUR) == [other, spam]
    assert await found(since=T0 + 3 * HOUR) == [late]
    assert await found(until=T0 + HOUR) == [early]
    assert await found(form="car-service", spam=False, since=T0 + HOUR) == [late]
    # A time in another zone means the same moment.
    helsinki = dt.timezone(dt.timedelta(hours=2))
    assert await found(since=(T0 + 3 * HOUR).astimezone(helsinki)) == [late]


@pytest.mark.anyio
async def test_paging_keeps_the_conditions(store: Store, clock: StillClock) -> None:
    cars = [await save_at(store, clock, T0 + n * HOUR) for n in range(5)]
    for n in range(5):
        await save_at(store, clock, T0 + n * HOUR + dt.timedelta(minutes=1), form="x")
    pages = await every_page(store, InboxQuery(form="car-service", limit=2))
    assert pages == [cars[:2:-1], cars[2:0:-1], cars[:1]]


@pytest.mark.anyio
async def test_a_callers_mistake_is_refused_before_the_database(store: Store) -> None:
    mistakes = [
        (InboxQuery(reference="car-4f"), "reference must be"),
        (InboxQuery(reference="CAR%"), "reference must be"),
        (InboxQuery(limit=0), "limit must be"),
        (InboxQuery(limit=MAX_INBOX_PAGE + 1), "limit must be"),
        (InboxQuery(since=dt.datetime(2025, 1, 1)), "aware"),
        (InboxQuery(until=dt.datetime(2025, 1, 1)), "aware"),
        (InboxQuery(after="not-a-cursor"), "cursor"),
        (InboxQuery(after="MjAyNXxDQVI"), "cursor"),  # "2025|CAR": no time
    ]
    for query, words in mistakes:
        with pytest.raises(ValueError, match=words):
            await store.find_submissions(query)


@pytest.mark.anyio
async def test_get_many_reads_whole_submissions_in_the_order_asked(
    store: Store, clock: StillClock
) -> None:
    first = await save_at(store, clock, T0)
    second = await save_at(store, clock, T0 + HOUR, form="product-return")
    found = await store.get_many([second, "CAR-ZZZZZZ", first, second])
    assert [s.reference for s in found] == [second, first]
    assert found[1] == await store.get(first)
    assert found[1].data["model"] == "Škoda Octavia" and found[1].files[0].name == "kuva ä.png"
    assert await store.get_many([]) == []
    with pytest.raises(ValueError, match="at most"):
        await store.get_many([f"CAR-{n:06d}" for n in range(MAX_INBOX_PAGE + 1)])
