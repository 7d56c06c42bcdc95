"""Visitor events on both backends (SQLite and PostgreSQL, see
test_store_backends.py): a batch (a list of records, or the events field by
field as a service holds them, ``EventColumns``) is kept whole or not at
all, reads back as it was saved, holds nothing about a person or a client,
and the hourly retention deletes raw events older than
INTAKE_EVENT_RETENTION_DAYS.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from test_store_backends import T0, Backend, backend

from intakeforms.privacy import purge
from intakeforms.settings import Settings
from intakeforms.store import (
    EventColumns,
    EventRecord,
    Store,
    event_fields,
    postgres_schema,
    sqlite_schema,
)
from intakeforms.store.events import event_hour

__all__ = ["backend"]  # the fixture, shared with test_store_backends

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


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


def event(kind: str = "view", at: dt.datetime = T0, **changes: object) -> EventRecord:
    made = EventRecord(
        session="visit-0001",
        form="car-service",
        channel="form",
        event=kind,
        field=None,
        code=None,
        at=at,
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


VISIT = [
    event("view"),
    event("start", T0 + dt.timedelta(seconds=5), field="plate"),
    event("error", T0 + dt.timedelta(seconds=9), field="plate", code="invalid_plate"),
    event("answer", T0 + dt.timedelta(seconds=12), field="plate"),
    event("submit", T0 + dt.timedelta(seconds=40), channel="chat"),
]


@pytest.fixture(params=["records", "columns"])
def given(request: pytest.FixtureRequest) -> str:
    """How a batch is given: a list of records, or field by field."""
    return str(request.param)


def batch_of(given: str, events: list[EventRecord]) -> Sequence[EventRecord]:
    if given == "records":
        return events
    columns = EventColumns()
    columns.extend(event_fields(event) for event in events)
    return columns


@pytest.mark.anyio
async def test_a_visit_reads_back_as_it_was_saved(store: Store, given: str) -> None:
    assert await store.save_events(batch_of(given, VISIT)) == 5
    assert await store.events_of("car-service", T0, T0 + DAY) == VISIT
    assert await store.events_of("other-form", T0, T0 + DAY) == []
    assert await store.events_of("car-service", T0 + DAY, T0 + 2 * DAY) == []


@pytest.mark.anyio
async def test_a_batch_larger_than_one_insert_is_kept_whole_and_in_order(
    store: Store, given: str
) -> None:
    """Both databases insert a batch a hundred rows a statement: 250 events
    (three statements, the last of 50) all come back, each as it was."""
    batch = [
        event("answer", T0 + dt.timedelta(seconds=i), field=f"q{i}", session=f"visit-{i:04}")
        for i in range(250)
    ]
    assert await store.save_events(batch_of(given, batch)) == 250
    assert await store.events_of("car-service", T0, T0 + DAY) == batch


@pytest.mark.anyio
async def test_a_time_in_another_zone_reads_back_in_utc(store: Store, given: str) -> None:
    helsinki = dt.timezone(dt.timedelta(hours=2))
    await store.save_events(batch_of(given, [event(at=T0.astimezone(helsinki))]))
    [back] = await store.events_of("car-service", T0, T0 + HOUR)
    assert back.at == T0 and back.at.utcoffset() == dt.timedelta(0)


@pytest.mark.anyio
async def test_an_empty_batch_stores_nothing(store: Store) -> None:
    assert await store.save_events([]) == 0


@pytest.mark.anyio
async def test_a_large_batch_is_kept_whole(store: Store) -> None:
    batch = [event("answer", T0 + i * dt.timedelta(seconds=1), field="plate") for i in range(250)]
    assert await store.save_events(batch) == 250
    assert len(await store.events_of("car-service", T0, T0 + DAY)) == 250


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"session": "short"}, "session"),
        ({"session": "has space in it"}, "session"),
        ({"session": "x" * 65}, "session"),
        ({"channel": "api"}, "channel"),
        ({"event": "click"}, "event"),
        ({"form": ""}, "form"),
        ({"field": "a\x00b"}, "field"),
        ({"code": "c" * 201}, "code"),
        ({"field": ["plate"]}, "field"),
        ({"at": dt.datetime(2026, 1, 1)}, "aware"),
    ],
)
@pytest.mark.anyio
async def test_one_bad_event_keeps_none_of_its_batch(
    store: Store, given: str, changes: dict[str, object], named: str
) -> None:
    bad = dataclasses.replace(VISIT[1], **changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=named) as raised:
        await store.save_events(batch_of(given, [VISIT[0], bad]))
    assert "event 1 of the batch" in str(raised.value) or named == "aware"
    assert "a\x00b" not in str(raised.value)
    assert await store.events_of("car-service", T0 - DAY, T0 + DAY) == []


@pytest.mark.anyio
async def test_retention_deletes_only_events_older_than_the_setting(
    store: Store, tmp_path: Path
) -> None:
    now = T0 + 100 * DAY
    edge = now - 7 * DAY
    old = [event("view", edge - HOUR * (i + 1), session=f"old-visit-{i}") for i in range(3)]
    kept = [event("view", edge), event("submit", edge + HOUR)]
    await store.save_events(old + kept)
    settings = Settings(upload_dir=tmp_path, event_retention_days=7)

    done = await purge(store, settings, now=now)  # what runs hourly

    assert done.cutoffs.events_before == edge
    assert done.result.events_deleted == 3
    assert await store.events_of("car-service", T0, now) == kept
    again = await purge(store, settings, now=now)
    assert again.result.events_deleted == 0


@pytest.mark.anyio
async def test_retention_deletes_the_old_events_of_every_form_chunk_by_chunk(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old events are found form by form (their one index is by form and
    time): each form's old ones go, in chunks of ten here that end inside
    one form and begin in the next, and no newer event of any form."""
    monkeypatch.setattr("intakeforms.store.privacy.PURGE_CHUNK", 1)  # ten events a chunk
    now = T0 + 100 * DAY
    edge = now - 7 * DAY
    forms = {"a-billing": 12, "b-only-new": 0, "car-service": 9, "d-returns": 4}
    old = [
        event("view", edge - HOUR * (i + 1), form=form, session=f"old-visit-{i}")
        for form, count in forms.items()
        for i in range(count)
    ]
    kept = {
        form: [event("view", edge, form=form), event("answer", now, form=form)] for form in forms
    }
    await store.save_events(old + [e for pair in kept.values() for e in pair])
    settings = Settings(upload_dir=tmp_path, event_retention_days=7)

    done = await purge(store, settings, now=now)

    assert done.result.events_deleted == 25
    for form, pair in kept.items():
        assert await store.events_of(form, T0, now + HOUR) == pair


@pytest.mark.anyio
async def test_events_have_one_index_by_form_and_hour(backend: Backend, store: Store) -> None:
    """Each index costs every event taken; the figures and retention both go
    by form and hour."""
    if backend.path is not None:
        names = [row[1] for row in backend.rows("PRAGMA index_list(events)")]
    else:
        names = [
            row[0]
            for row in backend.rows(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = 'events' AND indexname <> 'events_pkey'"
            )
        ]
    assert names == ["events_by_hour"]


@pytest.mark.anyio
async def test_events_kept_before_the_upgrade_are_read_counted_and_deleted(
    backend: Backend,
) -> None:
    """Opening a store of the schema before the index by hour fills in each
    kept event's hour: the events read back, count in their day's figures
    (one a microsecond before an hour ends, one as the next begins) and go
    with retention."""
    last_moment = T0 + HOUR - dt.timedelta(microseconds=1)
    kept = [
        event("view", last_moment),
        event("start", T0 + HOUR, field="plate"),
        event("view", T0 - 10 * DAY, session="old-visit-1"),
    ]
    insert = (
        "INSERT INTO events (session, form, channel, event, field, code, happened_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    sqlite = backend.path is not None
    backend.at_version(
        _before_hour(sqlite_schema.MIGRATIONS),
        _before_hour(postgres_schema.MIGRATIONS),
        [
            (
                insert,
                (e.session, e.form, e.channel, e.event, e.field, e.code)
                + ((sqlite_schema.timestamp(e.at),) if sqlite else (e.at,)),
            )
            for e in kept
        ],
    )
    store = backend.make()
    await store.open()
    try:
        assert await store.events_of("car-service", last_moment, T0 + HOUR + HOUR) == kept[:2]
        assert await store.events_of("car-service", T0 + HOUR, T0 + DAY) == kept[1:2]
        tally = await store.count_visits("car-service", T0.date(), ["plate"])
        assert tally.channels["form"].views == 1 and tally.channels["form"].starts == 1
        result = await store.purge(
            delivered_before=None,
            spam_before=T0,
            clients_before=T0,
            events_before=last_moment,
        )
        assert result.events_deleted == 1
        assert await store.events_of("car-service", T0 - 20 * DAY, T0 + DAY) == kept[:2]
    finally:
        await store.close()


def _before_hour(migrations: Sequence[Sequence[str]]) -> int:
    """How many of ``migrations`` came before the one that added ``hour``."""
    return next(
        number
        for number, step in enumerate(migrations)
        if any(" ADD COLUMN " in statement and " hour " in statement for statement in step)
    )


@pytest.mark.anyio
async def test_sqlite_events_made_again_keep_their_rows_and_rules(tmp_path: Path) -> None:
    """The SQLite upgrade that writes the events' rules as comparisons makes
    the table again: every kept event reads back as it was, in its order,
    the next one written goes after them, and a channel or kind of event
    outside the rules is still refused by the database itself."""
    path = tmp_path / "events.db"
    sqlite_backend = Backend("sqlite", f"sqlite:///{path}", path)
    kept = [
        event("view", T0 + HOUR - dt.timedelta(microseconds=1), session=f"visit-{n:04}")
        for n in range(3)
    ]
    insert = (
        "INSERT INTO events (session, form, channel, event, field, code, happened_at, hour)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    sqlite_backend.at_version(
        len(sqlite_schema.MIGRATIONS) - 1,
        0,
        [
            (insert, (*event_fields(e)[:6], sqlite_schema.timestamp(e.at), event_hour(e.at)))
            for e in kept
        ],
    )
    store = sqlite_backend.make()
    await store.open()
    try:
        later = event("answer", T0 + HOUR - dt.timedelta(microseconds=1), field="plate")
        await store.save_events([later])
        assert await store.events_of("car-service", T0, T0 + DAY) == [*kept, later]
    finally:
        await store.close()
    table = sqlite_backend.rows("SELECT sql FROM sqlite_master WHERE name = 'events'")[0][0]
    assert " IN (" not in table  # the rules as comparisons
    assert sqlite_backend.rows("SELECT id FROM events ORDER BY id") == [(1,), (2,), (3,), (4,)]
    for channel, kind in (("api", "view"), ("form", "click")):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            sqlite_backend.rows(
                "INSERT INTO events (session, form, channel, event, happened_at, hour)"
                f" VALUES ('visit-9999', 'car-service', '{channel}', '{kind}',"
                " '2025-01-01T00:00:00.000000+00:00', 1)"
            )


@pytest.mark.anyio
async def test_retention_keeps_30_days_unless_told(store: Store, tmp_path: Path) -> None:
    now = T0 + 100 * DAY
    await store.save_events([event(at=now - 31 * DAY), event(at=now - 29 * DAY)])
    done = await purge(store, Settings(upload_dir=tmp_path), now=now)
    assert done.result.events_deleted == 1
    assert [e.at for e in await store.events_of("car-service", T0, now)] == [now - 29 * DAY]


@pytest.mark.anyio
async def test_store_purge_keeps_events_unless_asked(store: Store) -> None:
    await store.save_events([event(at=T0 - 400 * DAY)])
    result = await store.purge(delivered_before=None, spam_before=T0, clients_before=T0)
    assert result.events_deleted == 0
    assert len(await store.events_of("car-service", T0 - 500 * DAY, T0)) == 1


@pytest.mark.anyio
async def test_nothing_about_a_person_or_client_is_stored_with_an_event(
    store: Store, backend: Backend
) -> None:
    await store.save_events(VISIT)
    if backend.path is not None:
        columns = {row[1] for row in backend.rows("PRAGMA table_info(events)")}
    else:
        columns = {
            row[0]
            for row in backend.rows(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'events'"
            )
        }
    assert columns == {
        "id",
        "session",
        "form",
        "channel",
        "event",
        "field",
        "code",
        "happened_at",
        "hour",
    }


def test_the_retention_setting_must_be_a_day_or_more() -> None:
    from intakeforms.errors import SettingsError
    from intakeforms.settings import load_settings

    assert load_settings({}).event_retention_days == 30
    assert load_settings({"INTAKE_EVENT_RETENTION_DAYS": "3"}).event_retention_days == 3
    with pytest.raises(SettingsError, match="INTAKE_EVENT_RETENTION_DAYS"):
        load_settings({"INTAKE_EVENT_RETENTION_DAYS": "0"})


@pytest.mark.anyio
async def test_a_session_is_checked_unless_it_is_the_one_just_checked(
    store: Store, given: str
) -> None:
    """A batch's first event and each event with another session are checked,
    whatever came before: none of the batch is kept."""
    for batch in (
        [dataclasses.replace(VISIT[0], session=None)],  # type: ignore[arg-type]
        [VISIT[0], dataclasses.replace(VISIT[1], session="visit-0001 ")],
        [VISIT[0], VISIT[1], dataclasses.replace(VISIT[2], session=b"visit-0001")],  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError, match=f"event {len(batch) - 1} of the batch: session"):
            await store.save_events(batch_of(given, batch))
    assert await store.events_of("car-service", T0 - DAY, T0 + DAY) == []


def test_events_field_by_field_take_only_seven_fields_each() -> None:
    """An event of another length is refused naming it, and none of the
    events given with it is added."""
    columns = EventColumns()
    columns.extend([event_fields(VISIT[0])])
    for wrong in (event_fields(VISIT[1])[:6], (*event_fields(VISIT[1]), "extra")):
        with pytest.raises(ValueError, match=r"event 1 has [68] fields; an event is the 7"):
            columns.extend([event_fields(VISIT[2]), wrong])  # type: ignore[list-item]
    assert list(columns) == VISIT[:1]
    assert [len(column) for column in columns.columns] == [1] * 7


def test_events_field_by_field_read_as_the_list_of_their_records() -> None:
    """``EventColumns`` reads as the list of its events' records would: its
    length, by position (from the end too), by slice and in order, as often
    as it is read."""
    columns = EventColumns()
    columns.extend(event_fields(e) for e in VISIT[:2])
    columns.extend([event_fields(e) for e in VISIT[2:]])
    assert len(columns) == 5
    assert columns[0] == VISIT[0] and columns[-1] == VISIT[-1]
    assert columns[1:4] == VISIT[1:4] and columns[::-2] == VISIT[::-2]
    assert list(columns) == VISIT and list(columns) == VISIT
    assert list(columns.fields()) == [event_fields(e) for e in VISIT]
    with pytest.raises(IndexError):
        columns[5]
