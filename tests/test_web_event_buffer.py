"""The event buffer: accepted events wait in memory and are written in
batches, a burst at once and one write at a time, none lost at shutdown;
a store that cannot keep up costs counted, rarely logged drops; waiting
events give the garbage collector nothing to walk."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import Sequence
from pathlib import Path

import pytest

from intakeforms.store import EventColumns, EventFields, EventRecord, SqliteStore
from intakeforms.web.event_buffer import FLUSH_EVENTS, MAX_WAITING, EventBuffer


def test_a_flood_of_dropped_events_is_one_warning_until_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that cannot keep up under a busy site: every dropped event is
    counted, and the log says so once a minute, not once a request."""

    async def ready() -> None:
        pass

    async def flood() -> EventBuffer:
        buffer = EventBuffer(SqliteStore(tmp_path / "never-opened.db"), ready=ready)
        at = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
        one = [EventRecord("visit-1234", "car-service", "form", "view", None, None, at)]
        # Never waiting, the writer never runs: past MAX_WAITING each is dropped.
        for _ in range(MAX_WAITING + 300):
            buffer.add(one)
        warned = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert [r.getMessage() for r in warned] == [
            "events: dropped 1 visitor event(s): too many events are waiting"
        ]
        buffer._waiting = EventColumns()  # what a store would have written by now
        await buffer.close()
        return buffer

    buffer = asyncio.run(flood())
    assert buffer.dropped == 300
    warned = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warned[1:] == ["events: dropped 299 visitor event(s): since the last warning"]


def test_a_burst_is_written_in_one_write_at_a_time_and_close_waits_for_it(
    tmp_path: Path,
) -> None:
    """Events that come faster than the timer are written as soon as
    FLUSH_EVENTS wait, all that wait in one write, and one write at a time;
    at shutdown close waits for a write under way, so none is lost."""

    async def ready() -> None:
        pass

    async def burst() -> tuple[list[int], int]:
        store = SqliteStore(tmp_path / "events.db")
        await store.open()
        sizes: list[int] = []
        let_go = asyncio.Event()
        write = store.save_events

        async def held(events: Sequence[EventRecord]) -> int:
            sizes.append(len(events))
            await let_go.wait()  # a slow disk
            return await write(events)

        store.save_events = held  # type: ignore[method-assign]
        buffer = EventBuffer(store, ready=ready)
        at = dt.datetime.now(dt.UTC)
        one = [EventRecord("visit-1234", "car-service", "form", "view", None, None, at)]
        for _ in range(FLUSH_EVENTS * 3):  # within one turn of the loop
            buffer.add(one)
        await asyncio.sleep(0.05)
        assert sizes == [FLUSH_EVENTS * 3]
        for _ in range(FLUSH_EVENTS):  # a full batch more while that write is held
            buffer.add(one)
        await asyncio.sleep(0.05)
        assert sizes == [FLUSH_EVENTS * 3]
        closing = asyncio.create_task(buffer.close())
        await asyncio.sleep(0.05)
        assert not closing.done()
        let_go.set()
        await closing
        kept = await store.events_of("car-service", at, at + dt.timedelta(seconds=1))
        await store.close()
        return sizes, len(kept)

    sizes, kept = asyncio.run(burst())
    assert sizes == [FLUSH_EVENTS * 3, FLUSH_EVENTS]
    assert kept == FLUSH_EVENTS * 4


# -- the visit's id on a submission (_visit) ------------------------------------------------


async def _ready() -> None:
    pass


def _visit_events(number: int, at: dt.datetime) -> list[EventFields]:
    """A visit's events as the endpoint takes them (see ``EventFields``)."""
    session = f"visit-{number:06d}"
    return [
        (session, "car-service", "form", "view", None, None, at),
        (session, "car-service", "form", "answer", "plate", None, at),
        (session, "car-service", "form", "error", "plate", "invalid_plate", at),
    ]


def test_waiting_events_bring_no_collection_nearer(tmp_path: Path) -> None:
    """Thousands of events waiting add no object the garbage collector counts:
    a busy stream does not set off collections in the middle of submissions
    (an object an event would, and carry the submissions under way into the
    generation whose collection walks every object of the service)."""

    async def fill() -> tuple[int, list[EventRecord]]:
        buffer = EventBuffer(SqliteStore(tmp_path / "never-opened.db"), ready=_ready)
        at = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
        gc.collect()
        gc.disable()  # so that the count is not reset by a collection
        try:
            before = gc.get_count()[0]
            for number in reversed(range(1000)):
                # Made as a request's are, and let go once taken.
                buffer.add_fields(_visit_events(number, at))
            grown = gc.get_count()[0] - before
        finally:
            gc.enable()
        written: list[EventRecord] = []

        async def save_events(events: Sequence[EventRecord]) -> int:
            written.extend(events)
            return len(events)

        buffer.store.save_events = save_events  # type: ignore[method-assign]
        await buffer.close()
        return grown, written

    grown, written = asyncio.run(fill())
    assert grown < 100  # 3,000 events; a record or tuple each would be 3,000
    assert len(written) == 3000
    first = written[-3:]  # the last request taken was the first visit
    assert [(e.session, e.event, e.field, e.code) for e in first] == [
        ("visit-000000", "view", None, None),
        ("visit-000000", "answer", "plate", None),
        ("visit-000000", "error", "plate", "invalid_plate"),
    ]
