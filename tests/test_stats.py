"""The figures of a form (``intakeforms.stats``) on both backends: a known
scenario of visits gives exactly the figures docs/insight.md defines, a
day's figures are the same counted from raw events or from its rollup, and
the rollups outlive the raw events the retention deletes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import make_form
from test_store_backends import Backend, backend

from intakeforms.privacy import maintain, purge
from intakeforms.settings import Settings
from intakeforms.stats import form_figures, roll_up
from intakeforms.stats.figures import submit_times
from intakeforms.store import EventRecord, FaqSearchRecord, Store

__all__ = ["backend"]  # the fixture, shared with test_store_backends

DAY = dt.timedelta(days=1)
D0 = dt.date(2025, 3, 2)
D1 = dt.date(2025, 3, 3)
D2 = dt.date(2025, 3, 4)
LATER = dt.datetime(2025, 3, 20, 12, 0, tzinfo=dt.UTC)  # every day of the scenario rolled

#: The form's questions: a hidden one is no question of the funnel.
FIELDS = """
- {name: plate, type: text, label: Plate}
- {name: model, type: text, label: Model}
- {name: source, type: hidden, label: Source, default: web}
- {name: email, type: email, label: Email}
"""
FORM = make_form(FIELDS, form="car-service")


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


def at(day: dt.date, clock: str) -> dt.datetime:
    hour, minute, second = (int(part) for part in f"{clock}:0".split(":")[:3])
    return dt.datetime.combine(day, dt.time(hour, minute, second), dt.UTC)


Step = tuple[dt.datetime, str, str | None, str | None]


def visit(session: str, channel: str, *steps: Step) -> list[EventRecord]:
    return [
        EventRecord(f"visit-{session}", "car-service", channel, kind, field, code, moment)
        for moment, kind, field, code in steps
    ]


def step(moment: dt.datetime, kind: str, field: str | None = None, code: str | None = None) -> Step:
    return (moment, kind, field, code)


SCENARIO = [
    # Begun on D0, going on past midnight: D0's visit, in no figure of D1.
    *visit("z0", "form", step(at(D0, "23:00"), "view"), step(at(D1, "00:30"), "answer", "plate")),
    # D1: submitted after an error and an edited answer (counted once).
    *visit(
        "a1",
        "form",
        step(at(D1, "09:00:00"), "view"),
        step(at(D1, "09:00:10"), "start"),
        step(at(D1, "09:00:20"), "answer", "plate"),
        step(at(D1, "09:00:30"), "answer", "plate"),
        step(at(D1, "09:00:50"), "answer", "model"),
        step(at(D1, "09:01:00"), "error", "email", "invalid_format"),
        step(at(D1, "09:01:10"), "answer", "email"),
        step(at(D1, "09:01:40"), "submit"),
    ),
    # D1: two errors on the model, then left there.
    *visit(
        "a2",
        "form",
        step(at(D1, "10:00:00"), "view"),
        step(at(D1, "10:00:05"), "start"),
        step(at(D1, "10:00:15"), "answer", "plate"),
        step(at(D1, "10:00:20"), "error", "model", "required"),
        step(at(D1, "10:00:25"), "error", "model", "required"),
        step(at(D1, "10:01:00"), "abandon", "model"),
    ),
    # D1: the chat, every answer, submitted in 120 s.
    *visit(
        "a3",
        "chat",
        step(at(D1, "11:00:00"), "view"),
        step(at(D1, "11:00:30"), "answer", "plate"),
        step(at(D1, "11:01:00"), "answer", "model"),
        step(at(D1, "11:01:30"), "answer", "email"),
        step(at(D1, "11:02:00"), "submit"),
    ),
    # D1: the inline widget seen, nothing more.
    *visit("a4", "inline", step(at(D1, "12:00"), "view")),
    # D1: begun before midnight, gone back to the plate, submitted after it.
    *visit(
        "a5",
        "form",
        step(at(D1, "23:50"), "view"),
        step(at(D1, "23:55"), "start"),
        step(at(D1, "23:56"), "answer", "plate"),
        step(at(D1, "23:57"), "answer", "model"),
        step(at(D1, "23:58"), "answer", "plate"),
        step(at(D2, "00:10"), "answer", "model"),
        step(at(D2, "00:20"), "answer", "email"),
        step(at(D2, "00:30"), "submit"),
    ),
    # D1: a page without script: only the server's submit (30 s after the view).
    *visit("a6", "form", step(at(D1, "15:00:00"), "view"), step(at(D1, "15:00:30"), "submit")),
    # D2: an error on the email, then left there.
    *visit(
        "b1",
        "inline",
        step(at(D2, "08:00:00"), "view"),
        step(at(D2, "08:00:05"), "start"),
        step(at(D2, "08:00:10"), "answer", "plate"),
        step(at(D2, "08:01:00"), "error", "email", "invalid_format"),
        step(at(D2, "08:02:00"), "abandon", "email"),
    ),
    # D2: submitted, and the submit recorded twice (page and server).
    *visit(
        "b2",
        "chat",
        step(at(D2, "09:00:00"), "view"),
        step(at(D2, "09:00:20"), "answer", "plate"),
        step(at(D2, "09:01:00"), "submit"),
        step(at(D2, "09:01:01"), "submit"),
    ),
    *visit("b3", "form", step(at(D2, "09:30"), "view")),
    # Another form's visit counts for it only.
    EventRecord("visit-other", "other-form", "form", "submit", None, None, at(D1, "10:00")),
]

EXPECTED: dict[str, Any] = {
    "form": "car-service",
    "from": "2025-03-03",
    "to": "2025-03-04",
    "views": 9,
    "starts": 7,
    "submissions": 5,
    "completion_rate": 0.5556,
    "by_channel": {
        "form": {"views": 5, "starts": 4, "submissions": 3, "completion_rate": 0.6},
        "chat": {"views": 2, "starts": 2, "submissions": 2, "completion_rate": 1.0},
        "inline": {"views": 2, "starts": 1, "submissions": 0, "completion_rate": 0.0},
    },
    "fields": [
        {
            "field": "plate",
            "reached": 6,
            "answered": 6,
            "errors": 0,
            "dropped": 0,
            "codes": {},
        },
        {
            "field": "model",
            "reached": 5,
            "answered": 3,
            "errors": 2,
            "dropped": 1,
            "codes": {"required": 2},
        },
        {
            "field": "email",
            "reached": 4,
            "answered": 3,
            "errors": 2,
            "dropped": 1,
            "codes": {"invalid_format": 2},
        },
    ],
    # 30, 60, 100, 120 and 2400 seconds.
    "time_to_submit_seconds": {"median": 100.0, "p90": 2400.0},
    "faq": {
        "searches": 4,
        "helpful": 2,
        "deflected": 1,
        "no_answer": [{"q": "pizza delivery?", "count": 2}],
    },
    "per_day": [
        {"date": "2025-03-03", "views": 6, "submissions": 4},
        {"date": "2025-03-04", "views": 3, "submissions": 1},
    ],
}


def search(
    number: int, form: str | None, query: str, results: int, moment: dt.datetime
) -> FaqSearchRecord:
    return FaqSearchRecord(
        id=f"{number:032x}",
        language="en",
        form=form,
        channel="form",
        query=query,
        results=(("workshop", "brakes"),) * results,
        top_score=0.9 if results else None,
        at=moment,
    )


async def seed(store: Store) -> None:
    await store.save_events(SCENARIO)
    searches = [
        search(1, "car-service", "brake noise", 1, at(D1, "08:00")),  # helpful: deflected
        search(2, "car-service", "oil change", 1, at(D1, "08:10")),  # helpful, then the form
        search(3, "car-service", "Pizza delivery?", 0, at(D2, "08:00")),
        search(4, "car-service", "pizza  DELIVERY?", 0, at(D2, "08:05")),
        search(5, "other-form", "pizza delivery?", 0, at(D2, "08:05")),  # another form's
        search(6, "car-service", "too late", 0, at(D2 + DAY, "00:00")),  # after the period
    ]
    for record in searches:
        await store.save_faq_search(record)
    for number, event in ((1, "helpful"), (2, "helpful"), (2, "continued")):
        entry = None if event == "continued" else "brakes"
        assert await store.save_faq_event(f"{number:032x}", entry, event, at(D1, "09:00"))


@pytest.mark.anyio
async def test_a_known_scenario_gives_exactly_its_figures(store: Store) -> None:
    await seed(store)
    figures = await form_figures(store, FORM, D1, D2, now=LATER)
    assert figures.as_json() == EXPECTED
    assert (figures.views, figures.starts, figures.submissions) == (9, 7, 5)
    assert figures.completion_rate == 0.5556


@pytest.mark.anyio
async def test_a_day_counts_the_same_from_raw_events_and_from_its_rollup(store: Store) -> None:
    await seed(store)
    # Before D1 is finished (its visits go on counting until 02:00): both days raw.
    live = await form_figures(store, FORM, D1, D2, now=at(D2, "01:00"))
    assert await store.rolled_days("car-service", D0, D2) == frozenset()
    # At noon D1 is finished: rolled on the way, D2 still raw.
    half = await form_figures(store, FORM, D1, D2, now=at(D2, "12:00"))
    assert await store.rolled_days("car-service", D0, D2) == {D1}
    rolled = await form_figures(store, FORM, D1, D2, now=LATER)
    assert await store.rolled_days("car-service", D0, D2) == {D1, D2}
    assert live.as_json() == half.as_json() == rolled.as_json() == EXPECTED


@pytest.mark.anyio
async def test_the_rollups_outlive_the_raw_events(store: Store, tmp_path: Path) -> None:
    await seed(store)
    settings = Settings(upload_dir=tmp_path, event_retention_days=3)
    done = await purge(store, settings, now=LATER, forms={"car-service": FORM})
    # D0 (its first event) to the last finished day, 2025-03-19.
    assert done.days_rolled == 18
    assert done.result.events_deleted == len(SCENARIO)  # the other form's too
    assert await store.events_of("car-service", at(D0, "00:00"), LATER) == []
    figures = await form_figures(store, FORM, D1, D2, now=LATER)
    assert figures.as_json() == EXPECTED


@pytest.mark.anyio
async def test_roll_up_rolls_each_finished_day_once(store: Store) -> None:
    await seed(store)
    assert await roll_up(store, {"car-service": FORM}, now=at(D2, "02:04")) == 1  # D0
    assert await roll_up(store, {"car-service": FORM}, now=at(D2, "02:05")) == 1  # D1
    assert await roll_up(store, {"car-service": FORM}, now=at(D2, "12:00")) == 0
    assert await roll_up(store, {"car-service": FORM}, now=at(D2 + DAY, "03:00")) == 1
    assert await store.rolled_days("car-service", D0, D2 + DAY) == {D0, D1, D2}
    # A form given without events has nothing to roll; another form's events wait for it.
    other = make_form("- {name: q, type: text, label: Q}", form="other-form")
    assert await roll_up(store, {"other-form": other}, now=at(D2 + DAY, "03:00")) == 2
    empty = make_form("- {name: q, type: text, label: Q}", form="empty-form")
    assert await roll_up(store, {"empty-form": empty}, now=LATER) == 0


@pytest.mark.anyio
async def test_every_day_of_the_period_is_listed_with_zeros(store: Store) -> None:
    await seed(store)
    figures = await form_figures(store, FORM, D0 - DAY, D2 + 2 * DAY, now=at(D2, "12:00"))
    assert [(d.date, d.views, d.submissions) for d in figures.per_day] == [
        (D0 - DAY, 0, 0),
        (D0, 1, 0),
        (D1, 6, 4),
        (D2, 3, 1),
        (D2 + DAY, 0, 0),  # the future: nothing yet
        (D2 + 2 * DAY, 0, 0),
    ]
    assert figures.views == 10


@pytest.mark.anyio
async def test_a_form_without_visits_has_zero_figures(store: Store) -> None:
    figures = (await form_figures(store, FORM, D1, D1, now=LATER)).as_json()
    assert figures["views"] == figures["submissions"] == 0
    assert figures["completion_rate"] == 0.0
    assert figures["by_channel"]["chat"] == {
        "views": 0,
        "starts": 0,
        "submissions": 0,
        "completion_rate": 0.0,
    }
    assert figures["time_to_submit_seconds"] == {"median": None, "p90": None}
    assert [f["field"] for f in figures["fields"]] == ["plate", "model", "email"]
    assert figures["faq"] == {"searches": 0, "helpful": 0, "deflected": 0, "no_answer": []}


@pytest.mark.anyio
async def test_a_period_must_be_dates_in_order(store: Store) -> None:
    with pytest.raises(ValueError, match="before start"):
        await form_figures(store, FORM, D2, D1)
    with pytest.raises(TypeError, match=r"datetime\.date"):
        await form_figures(store, FORM, at(D1, "00:00"), D2)
    with pytest.raises(ValueError, match="aware"):
        await form_figures(store, FORM, D1, D2, now=dt.datetime(2025, 3, 5))


@pytest.mark.parametrize(
    ("times", "median", "p90"),
    [
        ({}, None, None),
        ({42: 1}, 42.0, 42.0),
        ({10: 1, 20: 1}, 15.0, 20.0),
        ({1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1}, 5.5, 9.0),
        ({5: 3, 7: 0, 100: 1}, 5.0, 100.0),
    ],
)
def test_median_and_nearest_rank_p90(
    times: dict[int, int], median: float | None, p90: float | None
) -> None:
    found = submit_times(times)
    assert (found.median, found.p90) == (median, p90)


@pytest.mark.anyio
async def test_the_hourly_retention_rolls_up_before_it_deletes(
    store: Store, tmp_path: Path
) -> None:
    await seed(store)
    settings = Settings(upload_dir=tmp_path, event_retention_days=3)
    stop = anyio.Event()

    def clock() -> dt.datetime:
        stop.set()  # one round
        return LATER

    await maintain(store, settings, stop, clock=clock, forms={"car-service": FORM})
    assert await store.events_of("car-service", at(D0, "00:00"), LATER) == []
    assert (await form_figures(store, FORM, D1, D2, now=LATER)).as_json() == EXPECTED


@pytest.mark.anyio
async def test_the_faq_figures_are_the_forms_own_in_the_period(store: Store) -> None:
    await seed(store)
    day = (at(D2, "00:00"), at(D2 + DAY, "00:00"))
    for number, text in enumerate(("zebra", "äiti", "Apple", "zebra"), 10):
        await store.save_faq_search(search(number, "car-service", text, 0, at(D2, "09:00")))
    expected = [("pizza delivery?", 2), ("zebra", 2), ("apple", 1), ("äiti", 1)]
    assert await store.faq_gaps(day[0], form="car-service", until=day[1]) == expected
    assert await store.faq_gaps(day[0], 2, form="car-service", until=day[1]) == expected[:2]
    assert await store.faq_gaps(day[0], until=day[1]) == [("pizza delivery?", 3), *expected[1:]]
    assert await store.faq_gaps(day[0], form="other-form") == [("pizza delivery?", 1)]
    assert await store.faq_deflected(at(D1, "00:00"), day[0], "car-service") == 1
    assert await store.faq_deflected(at(D1, "00:00"), day[0]) == 1
    assert await store.faq_deflected(*day, "car-service") == 0
    with pytest.raises(ValueError, match="form is empty"):
        await store.faq_gaps(day[0], form="")
    with pytest.raises(ValueError, match="form is empty"):
        await store.faq_deflected(*day, "")
    with pytest.raises(ValueError, match="is before since"):
        await store.faq_deflected(day[1], day[0])
