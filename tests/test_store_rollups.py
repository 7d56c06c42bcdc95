"""The statistics' store methods on both backends (see test_store_backends.py):
a day's visits counted from raw events, kept once as its rollup, summed over
days, and holding nothing about a person or a client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import anyio
import pytest
from test_store_backends import Backend, backend

from intakeforms.store import EventRecord, Store
from intakeforms.store.rollups import ChannelCounts, FieldCounts, Tally

__all__ = ["backend"]  # the fixture, shared with test_store_backends

DAY = dt.date(2025, 3, 4)
NEXT = DAY + dt.timedelta(days=1)
MIDNIGHT = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
QUESTIONS = ("plate", "model", "email")


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


def event(
    session: str,
    kind: str,
    seconds: float,
    field: str | None = None,
    code: str | None = None,
    channel: str = "form",
) -> EventRecord:
    moment = MIDNIGHT + dt.timedelta(seconds=seconds)
    return EventRecord(f"visit-{session:0>4}", "car-service", channel, kind, field, code, moment)


HOUR = 3600.0
EVENTS = [
    # The day before, but within two hours of midnight: not a visit of DAY.
    event("before", "view", -HOUR),
    event("before", "answer", 60, "plate"),
    # Long before: a session seen again is a new visit of DAY.
    event("again", "view", -5 * HOUR),
    event("again", "answer", 10 * HOUR, "email", channel="inline"),
    event("a", "view", 9 * HOUR),
    event("a", "answer", 9 * HOUR + 10, "plate"),
    event("a", "error", 9 * HOUR + 20, "model", "required"),
    event("a", "error", 9 * HOUR + 21, "model", "required"),
    event("a", "error", 9 * HOUR + 22, "model", "too_long"),
    event("a", "error", 9 * HOUR + 23, "model"),  # an error without a code
    event("a", "answer", 9 * HOUR + 30, "model"),
    event("a", "answer", 9 * HOUR + 31, "model", "required"),  # a code on an answer is no error
    event("a", "submit", 9 * HOUR + 65.9),
    event("b", "view", 23 * HOUR, channel="chat"),
    event("b", "answer", 23 * HOUR + 30, "unknown", channel="chat"),  # not a question any more
    event("b", "submit", 25 * HOUR + 59 * 60, channel="chat"),  # still DAY's visit at 01:59
    event("b", "answer", 26 * HOUR + 1, "email", channel="chat"),  # past 02:00: not counted
    event("c", "view", 12 * HOUR, channel="inline"),
    event("c", "abandon", 12 * HOUR + 5, "model", channel="inline"),
    event("next", "view", 24 * HOUR + 5),  # the next day's
]

DAY_TALLY = Tally(
    channels={
        "form": ChannelCounts(views=1, starts=1, submissions=1),
        "chat": ChannelCounts(views=1, starts=1, submissions=1),
        # "again" began with an answer in the inline widget; "c" only looked.
        "inline": ChannelCounts(views=2, starts=1, submissions=0),
    },
    fields={
        "plate": FieldCounts(answered=1),
        "model": FieldCounts(answered=1, errors=4, furthest=2, dropped=1),
        "email": FieldCounts(answered=1, furthest=1, dropped=1),
        "unknown": FieldCounts(answered=1),
    },
    codes={("model", "required"): 2, ("model", "too_long"): 1},
    times={65: 1, 3 * 3600 - 60: 1},
    days={DAY: (4, 2)},
)


@pytest.mark.anyio
async def test_a_day_is_counted_from_its_visits_events(store: Store) -> None:
    await store.save_events(EVENTS)
    assert await store.count_visits("car-service", DAY, QUESTIONS) == DAY_TALLY
    assert await store.count_visits("other-form", DAY, QUESTIONS) == Tally()
    assert await store.count_visits("car-service", NEXT, QUESTIONS) == Tally(
        channels={"form": ChannelCounts(views=1)}, days={NEXT: (1, 0)}
    )
    # Without questions no visit has a furthest one; the rest is the same.
    bare = await store.count_visits("car-service", DAY, ())
    assert bare.channels == DAY_TALLY.channels and bare.codes == DAY_TALLY.codes
    assert {name: f.furthest for name, f in bare.fields.items()} == dict.fromkeys(bare.fields, 0)


@pytest.mark.anyio
async def test_a_rollup_is_kept_once_and_summed_over_days(store: Store) -> None:
    assert await store.save_rollup("car-service", DAY, DAY_TALLY)
    later = Tally(
        channels={"form": ChannelCounts(3, 2, 1)},
        fields={"model": FieldCounts(2, 1, 1, 0)},
        codes={("model", "required"): 1},
        times={65: 2},
        days={NEXT: (3, 1)},
    )
    assert await store.save_rollup("car-service", NEXT, later)
    assert not await store.save_rollup("car-service", DAY, later)  # rolled already: kept as was
    assert await store.read_rollups("car-service", DAY, DAY) == DAY_TALLY
    assert await store.read_rollups("car-service", DAY, NEXT) == DAY_TALLY + later
    assert (
        await store.read_rollups(
            "car-service", NEXT + dt.timedelta(days=1), NEXT + dt.timedelta(days=5)
        )
        == Tally()
    )
    assert await store.read_rollups("other-form", DAY, NEXT) == Tally()
    assert await store.rolled_days("car-service", DAY - dt.timedelta(days=9), NEXT) == {DAY, NEXT}


@pytest.mark.anyio
async def test_an_empty_day_is_rolled_too(store: Store) -> None:
    assert await store.save_rollup("car-service", DAY, Tally())
    assert await store.rolled_days("car-service", DAY, DAY) == {DAY}
    assert await store.read_rollups("car-service", DAY, DAY) == Tally()


@pytest.mark.anyio
async def test_two_processes_rolling_one_day_keep_it_once(store: Store, backend: Backend) -> None:
    other = backend.make()
    await other.open()
    try:
        outcomes: list[bool] = []

        async def roll(into: Store) -> None:
            outcomes.append(await into.save_rollup("car-service", DAY, DAY_TALLY))

        async with anyio.create_task_group() as group:
            group.start_soon(roll, store)
            group.start_soon(roll, other)
    finally:
        await other.close()
    assert sorted(outcomes) == [False, True]
    assert await store.read_rollups("car-service", DAY, DAY) == DAY_TALLY


@pytest.mark.anyio
async def test_the_oldest_raw_event_day(store: Store) -> None:
    assert await store.first_event_day("car-service") is None
    await store.save_events(EVENTS)
    assert await store.first_event_day("car-service") == DAY - dt.timedelta(days=1)


@pytest.mark.anyio
async def test_days_must_be_dates_in_order(store: Store) -> None:
    with pytest.raises(TypeError, match=r"must be a datetime\.date"):
        await store.count_visits("car-service", MIDNIGHT, QUESTIONS)
    with pytest.raises(TypeError, match=r"must be a datetime\.date"):
        await store.save_rollup("car-service", "2025-03-04", Tally())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is before first"):
        await store.read_rollups("car-service", NEXT, DAY)
    with pytest.raises(ValueError, match="is before first"):
        await store.rolled_days("car-service", NEXT, DAY)
    with pytest.raises(ValueError, match="aware"):
        await store.save_rollup("car-service", DAY, Tally(), at=dt.datetime(2025, 3, 5))


@pytest.mark.anyio
async def test_nothing_about_a_person_or_client_is_in_a_rollup(backend: Backend) -> None:
    store = backend.make()
    async with store:
        await store.save_rollup("car-service", DAY, DAY_TALLY)
    tables = ("stats_days", "stats_channels", "stats_fields", "stats_codes", "stats_times")
    columns = {}
    for table in tables:
        if backend.path is not None:
            names = {row[1] for row in backend.rows(f"PRAGMA table_info({table})")}
        else:
            names = {
                row[0]
                for row in backend.rows(
                    "SELECT column_name FROM information_schema.columns"
                    f" WHERE table_schema = current_schema() AND table_name = '{table}'"
                )
            }
        columns[table] = names - {"form", "day"}
    assert columns == {
        "stats_days": {"rolled_at"},
        "stats_channels": {"channel", "views", "starts", "submissions"},
        "stats_fields": {"field", "answered", "errors", "furthest", "dropped"},
        "stats_codes": {"field", "code", "errors"},
        "stats_times": {"seconds", "visits"},
    }
