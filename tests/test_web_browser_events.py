"""Visitor events in a real browser: what the hosted form page, the inline
widget and the chat tell ``POST /events`` about a visit, driven by Playwright
in Chromium against the real service on a loopback port with a real SQLite
store; the widgets are embedded in a host page of another origin.

What the statistics get from one visit, in the order it happened: ``view``,
``start``, an ``answer`` per question answered, an ``error`` with its code
(the page's own check, ``/validate``, or the service's refusal), and the
``submit`` the service records itself from the submission's ``_visit``. A
visit begun and left says ``abandon`` with ``navigator.sendBeacon`` as the
page goes. No event carries an answer; the session is 22 random base64url
characters, the chat's the same through a reload. With JavaScript off, the
hosted form still posts (and tells nothing).

A page sends what waits as the visit ends (the answers sent, the chat
closed, the page hidden or left), at once when 50 wait, and otherwise 30 s
after the first of it. Tests end their visit by such means rather than wait;
where the 30 s are what is tested, the page's own clock (Playwright's) is
run on instead of waited for. Each event says how long ago it happened, and
the service dates it then: a view sent late is stored as of when the page
showed it.

The service is wrapped in a listener that notes every ``POST /events`` as
the service got it: a page's last beacon goes as it unloads, where the
browser's own reports of its requests no longer reach Playwright.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from browser import PHONE, LiveServer, require_chromium, stored
from playwright.sync_api import Browser, Locator, Page, Request, expect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from test_widgets import FI, Guest, Site, answer, asked, open_chat, reply
from web_helpers import FORMS, REFERENCE, settings_for
from widget_helpers import host_app

from intakeforms.store import EventRecord, open_store
from intakeforms.web import create_app

require_chromium()

SESSION = re.compile(r"[A-Za-z0-9_-]{22}")
#: What a customer types in these tests; none of it may reach an event.
ANSWERS = (
    "abc123",
    "Saab 9-3",
    "120 000",
    "Kolisee.",
    "Maija Meikäläinen",
    "maija@example.com",
    "040 123 4567",
)
EVENT_KEYS = {"session", "form", "channel", "event", "field", "code", "ago"}
#: The most milliseconds ago an event may have happened (POST /events).
MAX_AGO_MS = 3_600_000
#: Milliseconds the first waiting event of a page waits at most (visit.js,
#: widget.js), by the page's clock.
WAIT_MS = 30_000
#: How long a test waits for what a page sends: a batch, and its writing.
DEADLINE = 15.0


# -- the service, as it hears the pages ----------------------------------------------


@dataclass(frozen=True)
class Heard:
    """One ``POST /events`` as the service got it."""

    content_type: str
    #: Sec-Fetch-Mode: ``no-cors`` for a beacon of text, ``cors`` for fetch().
    mode: str
    body: str

    @property
    def events(self) -> list[dict[str, Any]]:
        data = json.loads(self.body)
        return data if isinstance(data, list) else [data]


class Listener:
    """The service's app, noting each ``POST /events`` it is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.heard: list[Heard] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/events":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def listened() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        await self.app(scope, listened, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = b"".join(chunks).decode()
        self.heard.append(
            Heard(headers.get("content-type", ""), headers.get("sec-fetch-mode", ""), body)
        )


@dataclass(frozen=True)
class EventSite(Site):
    listener: Listener


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventSite]:
    """The service (listened to) and a host site on another origin it allows."""
    folder = tmp_path_factory.mktemp("events")
    where: dict[str, str] = {}
    host = LiveServer(host_app(lambda: where["service"]))
    settings = settings_for(folder, allowed_origins=(host.url,))
    listener = Listener(create_app(FORMS, settings))
    service = LiveServer(listener)
    where["service"] = service.url.replace("127.0.0.1", "localhost")
    service.start()
    try:
        host.start()
        try:
            yield EventSite(
                host.url, where["service"], folder / "intake.db", folder / "mail", listener
            )
        finally:
            host.stop()
    finally:
        service.stop()


@pytest.fixture
def guest(browser: Browser, site: EventSite) -> Iterator[Guest]:
    visiting = Guest(browser, site)
    try:
        yield visiting
    finally:
        visiting.close()
    assert visiting.problems == [], "the pages had script errors or failed loads"


@dataclass
class Visit:
    """What the service heard of one visit, from one test's start on."""

    site: EventSite
    since: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    first: int = 0
    session: str = ""

    def __post_init__(self) -> None:
        self.first = len(self.site.listener.heard)

    @property
    def heard(self) -> list[Heard]:
        """The requests of this visit (all of them before its id is known)."""
        return [
            h
            for h in self.site.listener.heard[self.first :]
            if not self.session or any(e["session"] == self.session for e in h.events)
        ]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for h in self.heard for e in h.events if e["session"] == self.session]

    def find(self, page: Page, channel: str) -> str:
        """The session of the visit whose ``view`` on ``channel`` came first."""
        deadline = time.monotonic() + DEADLINE
        while not self.session:
            views = [
                e["session"]
                for h in self.site.listener.heard[self.first :]
                for e in h.events
                if e["event"] == "view" and e["channel"] == channel
            ]
            if views:
                self.session = views[0]
            else:
                assert time.monotonic() < deadline, "the page told no view"
                page.wait_for_timeout(100)
        return self.session

    def stored(self) -> list[EventRecord]:
        """The visit's events in the store, in order."""
        return [e for e in events_of(self.site, self.since) if e.session == self.session]

    def settled(self, page: Page, extra: int = 0) -> list[EventRecord]:
        """The stored events once every event the page sent (and ``extra``
        ones the service records itself) is written: the service writes
        within a second. Waits with the page, so that its timers run
        meanwhile."""
        deadline = time.monotonic() + DEADLINE
        while True:
            found = self.stored() if self.events else []
            if found and len(found) >= len(self.events) + extra:
                return found
            assert time.monotonic() < deadline, f"stored {found}, heard {self.events}"
            page.wait_for_timeout(100)

    def assert_no_answer(self) -> None:
        """Each event is names and codes only; no typed answer is in any request."""
        assert self.events
        for event in self.events:
            assert set(event) <= EVENT_KEYS
            # A whole number the service takes: anything else is refused.
            assert type(event["ago"]) is int and 0 <= event["ago"] <= MAX_AGO_MS, event
        for heard in self.heard:
            for text in ANSWERS:
                assert text not in heard.body and json.dumps(text)[1:-1] not in heard.body


def events_of(site: Site, since: dt.datetime) -> list[EventRecord]:
    """The stored events of the car-service form since ``since``, in order."""

    async def read() -> list[EventRecord]:
        async with open_store(f"sqlite:///{site.database}") as store:
            later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
            return await store.events_of("car-service", since, later)

    # A thread of its own: Playwright's loop runs in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def steps(events: list[EventRecord]) -> list[tuple[str, ...]]:
    """Each event as (event,), (event, field) or (event, field, code)."""
    return [tuple(x for x in (e.event, e.field, e.code) if x is not None) for e in events]


# -- the pages -------------------------------------------------------------------------


def open_page(
    guest: Guest, url: str, *, javascript: bool = True, script: str = "", clock: bool = False
) -> Page:
    """``url`` in a fresh browser context, with the guest's checks for
    problems; ``script`` runs first in every page of it. With ``clock``, its
    pages' time is Playwright's (it runs on as the test's does, and the test
    may run it on further: ``run_until``)."""
    context = guest.browser.new_context(
        viewport=PHONE, locale="fi-FI", java_script_enabled=javascript
    )
    if script:
        context.add_init_script(script)
    if clock:
        context.clock.install()
    guest.contexts.append(context)
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.on("console", guest._console)
    page.on("response", guest._response)
    page.on("pageerror", lambda error: guest.problems.append(f"uncaught: {error}"))
    response = page.goto(url)
    assert response is not None and response.ok
    return page


def hosted_page(
    guest: Guest, *, javascript: bool = True, script: str = "", clock: bool = False
) -> Page:
    """The service's own page of the car-service form, in Finnish."""
    url = f"{guest.site.service}/forms/car-service?lang=fi"
    return open_page(guest, url, javascript=javascript, script=script, clock=clock)


def widget_page(
    guest: Guest, tag: str, *, script: str = "", clock: bool = False, **attributes: str
) -> Page:
    """A host page of another origin embedding the widget ``tag``."""
    query = "".join(f"&{name}={value}" for name, value in attributes.items())
    url = f"{guest.site.host}/page?tag={tag}&form=car-service&lang=fi{query}"
    return open_page(guest, url, script=script, clock=clock)


def leave(page: Page) -> None:
    """Away to another page: the form's page is hidden and unloaded."""
    page.goto("about:blank")


# -- the hosted form page ------------------------------------------------------------


def test_the_hosted_form_tells_its_visit_and_the_service_its_errors_and_submit(
    guest: Guest, site: EventSite
) -> None:
    visit = Visit(site)
    page = hosted_page(guest)
    form = page.locator("form.intake-form")
    session = form.locator("input[name='_visit']").input_value()
    assert SESSION.fullmatch(session)

    plate = form.get_by_label("Rekisterinumero")
    plate.fill("x")
    plate.press("Tab")
    for label, text in (("Merkki ja malli", "Saab 9-3"), ("Mittarilukema", "120 000")):
        form.get_by_label(label).fill(text)
        form.get_by_label(label).press("Tab")
    form.get_by_label("Korjaus", exact=True).check()
    form.get_by_label("Kuvaile vika").fill("Kolisee.")
    form.get_by_label("Kuvaile vika").press("Tab")
    form.get_by_label("Nimi").fill("Maija Meikäläinen")
    form.get_by_label("Nimi").press("Tab")
    form.get_by_label("Hyväksyn").check()
    form.get_by_role("button", name=FI["send"]).click()

    # The service refused two answers: it recorded them with their codes,
    # and its page goes on with the same visit (no second view).
    expect(page.locator("[data-intake-summary]")).to_be_focused()
    assert visit.find(page, "form") == session
    form = page.locator("form.intake-form")
    assert form.locator("input[name='_visit']").input_value() == session
    form.get_by_label("Rekisterinumero").fill("abc123")
    form.get_by_label("Rekisterinumero").press("Tab")
    form.get_by_label("Sähköposti").fill("maija@example.com")
    form.get_by_label("Sähköposti").press("Tab")
    visit.settled(page, extra=2)
    form.get_by_role("button", name=FI["send"]).click()
    reference = page.locator(".intake-reference__value").inner_text()
    assert REFERENCE.match(reference)

    found = visit.settled(page, extra=3)
    assert {e.channel for e in found} == {"form"}
    told = steps(found)
    # live.js told the plate's refusal as the question was left (where it
    # falls among the next answers depends on when /validate answered); the
    # service told its own two at the send.
    told.remove(("error", "plate", "invalid_plate"))
    assert told == [
        ("view",),
        ("start", "plate"),
        ("answer", "plate"),
        ("answer", "model"),
        ("answer", "mileage"),
        ("answer", "service"),
        ("answer", "symptoms"),
        ("answer", "name"),
        ("answer", "privacy"),
        ("error", "plate", "invalid_plate"),
        ("error", "email", "required"),
        ("answer", "plate"),
        ("answer", "email"),
        ("submit",),
    ]
    visit.assert_no_answer()
    assert "_visit" not in stored(site.database, reference)["data"]


def test_with_javascript_off_the_hosted_form_still_posts(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = hosted_page(guest, javascript=False)
    form = page.locator("form.intake-form")
    expect(form.locator("input[name='_visit']")).to_have_count(0)
    for label, text in (
        ("Rekisterinumero", "abc123"),
        ("Merkki ja malli", "Saab 9-3"),
        ("Mittarilukema", "120 000"),
        ("Kuvaile vika", "Kolisee."),
        ("Nimi", "Maija Meikäläinen"),
        ("Sähköposti", "maija@example.com"),
    ):
        form.get_by_label(label).fill(text)
    form.get_by_label("Korjaus", exact=True).check()
    form.get_by_label("Hyväksyn").check()
    form.get_by_role("button", name=FI["send"]).click()
    reference = page.locator(".intake-reference__value").inner_text()
    assert stored(site.database, reference)["data"]["plate"] == "ABC-123"
    page.wait_for_timeout(1500)
    assert visit.heard == []
    assert [e for e in events_of(site, visit.since) if e.channel == "form"] == []


def test_leaving_a_started_form_says_abandon_with_a_beacon(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = hosted_page(guest)
    plate = page.locator("form.intake-form").get_by_label("Rekisterinumero")
    plate.fill("abc123")
    # On to the next question, then away: the visit was left there.
    plate.press("Tab")
    expect(page.locator("form.intake-form").get_by_label("Merkki ja malli")).to_be_focused()
    leave(page)
    visit.find(page, "form")
    found = visit.settled(page)
    assert steps(found) == [
        ("view",),
        ("start", "plate"),
        ("answer", "plate"),
        ("abandon", "model"),
    ]
    last = visit.heard[-1]
    assert [e["event"] for e in last.events][-1] == "abandon"
    # A beacon of text: no preflight, and the browser sends it as the page goes.
    assert last.content_type.startswith("text/plain") and last.mode == "no-cors"
    visit.assert_no_answer()


def test_a_form_left_unbegun_is_not_abandoned(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = hosted_page(guest)
    page.locator("form.intake-form").get_by_label("Rekisterinumero").focus()
    leave(page)
    visit.find(page, "form")
    page.wait_for_timeout(1000)
    assert steps(visit.settled(page)) == [("view",)]


# -- the inline widget ---------------------------------------------------------------


def test_the_inline_widget_tells_its_visit(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = widget_page(guest, "intake-form")
    form = page.locator("intake-form form")
    expect(form).to_be_visible()

    def fill(label: str, text: str) -> None:
        form.get_by_label(label).fill(text)
        form.get_by_label(label).press("Tab")

    fill("Rekisterinumero", "abc123")
    # The widget's own check refuses a mileage that is not a number.
    fill("Mittarilukema", "paljon")
    expect(form.locator("#f-mileage-e")).to_have_text(FI["e_not_integer"])
    fill("Mittarilukema", "120 000")
    fill("Merkki ja malli", "Saab 9-3")
    form.get_by_label("Korjaus", exact=True).check()
    fill("Kuvaile vika", "Kolisee.")
    fill("Nimi", "Maija Meikäläinen")
    fill("Sähköposti", "maija@example.com")
    form.get_by_label("Hyväksyn").check()
    form.get_by_role("button", name=FI["send"]).click()
    expect(page.locator("intake-form .ref")).to_have_text(REFERENCE)

    assert SESSION.fullmatch(visit.find(page, "inline"))
    found = visit.settled(page, extra=1)
    assert {e.channel for e in found} == {"inline"}
    assert steps(found) == [
        ("view",),
        ("start", "plate"),
        ("answer", "plate"),
        ("error", "mileage", "not_integer"),
        ("answer", "mileage"),
        ("answer", "mileage"),
        ("answer", "model"),
        ("answer", "service"),
        ("answer", "symptoms"),
        ("answer", "name"),
        ("answer", "email"),
        ("answer", "privacy"),
        ("submit",),
    ]
    visit.assert_no_answer()
    # Sent: leaving the page now abandons nothing.
    leave(page)
    page.wait_for_timeout(1500)
    assert steps(visit.stored())[-1] == ("submit",)


def test_the_inline_widget_left_says_abandon(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = widget_page(guest, "intake-form")
    form = page.locator("intake-form form")
    form.get_by_label("Rekisterinumero").fill("abc123")
    # The next question in focus (the plate's answer is settled), then away.
    form.get_by_label("Merkki ja malli").focus()
    leave(page)
    visit.find(page, "inline")
    found = visit.settled(page)
    assert steps(found) == [
        ("view",),
        ("start", "plate"),
        ("answer", "plate"),
        ("abandon", "model"),
    ]
    last = visit.heard[-1]
    assert last.content_type.startswith("text/plain") and last.mode == "no-cors"
    visit.assert_no_answer()


#: A browser with beacons turned off (Firefox's beacon.enabled).
NO_BEACON = "delete Navigator.prototype.sendBeacon;"


@pytest.mark.parametrize("tag", ["intake-form", "hosted"])
def test_without_beacons_fetch_sends_them_and_the_form_still_posts(
    guest: Guest, site: EventSite, tag: str
) -> None:
    visit = Visit(site)
    if tag == "hosted":
        url = f"{site.service}/forms/car-service?lang=fi"
        page = open_page(guest, url, script=NO_BEACON)
        form, channel = page.locator("form.intake-form"), "form"
    else:
        page = widget_page(guest, tag, script=NO_BEACON)
        form, channel = page.locator("intake-form form"), "inline"
    for label, text in (
        ("Rekisterinumero", "abc123"),
        ("Merkki ja malli", "Saab 9-3"),
        ("Mittarilukema", "120 000"),
        ("Nimi", "Maija Meikäläinen"),
        ("Sähköposti", "maija@example.com"),
    ):
        form.get_by_label(label).fill(text)
    form.get_by_label("Määräaikaishuolto", exact=True).check()
    form.get_by_label("Hyväksyn").check()
    form.get_by_role("button", name=FI["send"]).click()
    reference = page.get_by_text(REFERENCE).first
    expect(reference).to_be_visible()
    visit.find(page, channel)
    found = visit.settled(page, extra=1)
    assert steps(found)[0] == ("view",) and steps(found)[-1] == ("submit",)
    # fetch(), not a beacon: the browser's CORS mode.
    assert {heard.mode for heard in visit.heard} == {"cors"}
    assert {heard.content_type.split(";")[0] for heard in visit.heard} == {"text/plain"}


def test_events_off_sends_none_and_no_visit(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = widget_page(guest, "intake-form", events="off")
    posted: list[dict[str, Any]] = []

    def note(request: Request) -> None:
        if "/submissions" in request.url:
            posted.append(json.loads(request.post_data or "{}"))

    page.on("request", note)
    form = page.locator("intake-form form")
    for label, text in (
        ("Rekisterinumero", "abc123"),
        ("Merkki ja malli", "Saab 9-3"),
        ("Mittarilukema", "120 000"),
        ("Nimi", "Maija Meikäläinen"),
        ("Sähköposti", "maija@example.com"),
    ):
        form.get_by_label(label).fill(text)
    form.get_by_label("Määräaikaishuolto", exact=True).check()
    form.get_by_label("Hyväksyn").check()
    form.get_by_role("button", name=FI["send"]).click()
    expect(page.locator("intake-form .ref")).to_have_text(REFERENCE)
    leave(page)
    page.wait_for_timeout(1500)
    assert visit.heard == []
    assert len(posted) == 1 and "_visit" not in posted[0]


# -- the chat ----------------------------------------------------------------------------


def test_the_chat_tells_its_visit_through_a_reload(guest: Guest, site: EventSite) -> None:
    visit = Visit(site)
    page = widget_page(guest, "intake-chat")
    dialog = open_chat(page)
    # The service's check refuses this plate (/validate), with its code.
    answer(dialog, "Rekisterinumero", "12")
    expect(dialog.locator(".bad")).to_be_visible()
    answer(dialog, "Rekisterinumero", "abc123")
    answer(dialog, "Merkki ja malli", "Saab 9-3")
    answer(dialog, "Mittarilukema", "120 000")
    reply(dialog, "Mitä tarvitset?", "Määräaikaishuolto")
    asked(dialog, "Toivottu päivä")
    dialog.get_by_role("button", name=FI["skip"]).click()
    asked(dialog, "Nimi")

    # A reload is the same visit: the page's leaving says where it was, and
    # the conversation goes on without a second view.
    page.reload()
    first = visit.find(page, "chat")
    assert SESSION.fullmatch(first)
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    answer(dialog, "Nimi", "Maija Meikäläinen")
    answer(dialog, "Sähköposti", "maija@example.com")
    asked(dialog, "Puhelin")
    dialog.get_by_role("button", name=FI["skip"]).click()
    reply(dialog, "Hyväksyn, että tietojani käytetään huollon varaamiseen.", FI["yes"])
    visit.settled(page)
    dialog.locator(".cmp").get_by_role("button", name=FI["send"]).click()
    expect(dialog.locator(".ref")).to_have_text(REFERENCE)

    found = visit.settled(page, extra=1)
    assert {e.channel for e in found} == {"chat"}
    assert steps(found) == [
        ("view",),
        ("start", "plate"),
        ("error", "plate", "invalid_plate"),
        ("answer", "plate"),
        ("answer", "model"),
        ("answer", "mileage"),
        ("answer", "service"),
        ("abandon", "name"),
        ("answer", "name"),
        ("answer", "email"),
        ("answer", "privacy"),
        ("submit",),
    ]
    visit.assert_no_answer()

    # The next conversation is another visit (told as the page is left).
    dialog.get_by_role("button", name=FI["close"]).last.click()
    open_chat(page)
    asked(dialog, "Rekisterinumero")
    leave(page)
    after = Visit(site, first=0)
    after.first = visit.first
    deadline = time.monotonic() + DEADLINE
    while True:
        views = {
            e["session"]
            for h in after.heard
            for e in h.events
            if e["event"] == "view" and e["channel"] == "chat"
        }
        if len(views) == 2:
            break
        assert time.monotonic() < deadline, "no view of the next conversation"
        page.wait_for_timeout(100)
    (second,) = views - {first}
    assert SESSION.fullmatch(second)


# -- when a page sends its events ------------------------------------------------------

#: Milliseconds between two answers in these tests: a customer's pace, and
#: longer than the half second after which events used to go.
PACE = 800


def heard(visit: Visit, page: Page, count: int) -> float:
    """When (``time.monotonic()``) the visit's ``count``-th request was
    seen; waits with the page, so that its timers run meanwhile."""
    deadline = time.monotonic() + DEADLINE
    while len(visit.heard) < count:
        assert time.monotonic() < deadline, f"heard {len(visit.heard)} requests: {visit.heard}"
        page.wait_for_timeout(50)
    return time.monotonic()


def told(request: Heard) -> list[tuple[str, ...]]:
    """A request's events as (event,), (event, field) or (event, field, code)."""
    keys = ("event", "field", "code")
    return [tuple(e[k] for k in keys if e.get(k) is not None) for e in request.events]


def page_now(page: Page) -> float:
    """The page's ``performance.now()``: its own clock's milliseconds."""
    return float(page.evaluate("performance.now()"))


def run_until(page: Page, at: float) -> None:
    """Runs the page's installed clock on to ``at`` (its ``performance.now()``),
    firing its timers on the way, without the test waiting."""
    page.clock.run_for(max(0, round(at - page_now(page))))


def quiet(visit: Visit, page: Page, count: int) -> None:
    """The visit's requests are still ``count`` a moment later (a beacon
    reaches the service within milliseconds here)."""
    page.wait_for_timeout(300)
    assert len(visit.heard) == count, visit.heard


#: A visit's events after the first three answers, as told.
FIRST_THREE = [
    ("view",),
    ("start", "plate"),
    ("answer", "plate"),
    ("answer", "model"),
    ("answer", "mileage"),
]


def first_batch(visit: Visit, page: Page, shown: float) -> Heard:
    """The visit's first request, which comes as the wait since the page was
    ``shown`` is up and not before: the page's clock is run on to a second
    short of it (nothing), then past it (one request)."""
    run_until(page, shown + WAIT_MS - 1000)
    quiet(visit, page, 0)
    run_until(page, shown + WAIT_MS + 500)
    heard(visit, page, 1)
    (batch,) = visit.heard
    return batch


def test_an_open_page_sends_its_events_together_every_30_seconds(
    guest: Guest, site: EventSite
) -> None:
    """A page left open in front of someone still reports within half a
    minute: 30 s after the first waiting event, later ones not putting that
    off. The page's clock is run on; the test does not wait."""
    visit = Visit(site)
    page = hosted_page(guest, clock=True)
    # The view was told as the page was shown, before this.
    shown = page_now(page)
    form = page.locator("form.intake-form")
    visit.session = form.locator("input[name='_visit']").input_value()

    def fill(label: str, text: str) -> None:
        page.clock.run_for(PACE)
        form.get_by_label(label).fill(text)
        form.get_by_label(label).press("Tab")

    fill("Rekisterinumero", "abc123")
    fill("Merkki ja malli", "Saab 9-3")
    fill("Mittarilukema", "120 000")
    batch = first_batch(visit, page, shown)
    assert told(batch) == FIRST_THREE
    # The view waited the whole 30 s, and no longer.
    assert WAIT_MS <= batch.events[0]["ago"] < WAIT_MS + 1000, batch.events[0]

    # The page stays open: the next answers go 30 s after the first of them,
    # the later ones not putting that off.
    before = page_now(page)
    fill("Nimi", "Maija Meikäläinen")
    first = page_now(page)
    page.clock.run_for(10_000)
    fill("Sähköposti", "maija@example.com")
    page.clock.run_for(15_000)
    fill("Puhelin", "040 123 4567")
    run_until(page, before + WAIT_MS - 1000)
    quiet(visit, page, 1)
    run_until(page, first + WAIT_MS + 500)
    heard(visit, page, 2)
    second = visit.heard[1]
    assert told(second) == [("answer", "name"), ("answer", "email"), ("answer", "phone")]
    ago = [e["ago"] for e in second.events]
    assert WAIT_MS <= ago[0] < WAIT_MS + 1000 and ago[0] - ago[2] > 25_000, ago

    # Left: what waits goes at once.
    expect(form.get_by_label("Hyväksyn")).to_be_focused()
    leave(page)
    heard(visit, page, 3)
    assert told(visit.heard[2]) == [("abandon", "privacy")]
    visit.assert_no_answer()


def test_the_inline_widget_sends_a_burst_of_events_in_one_request(
    guest: Guest, site: EventSite
) -> None:
    visit = Visit(site)
    page = widget_page(guest, "intake-form", clock=True)
    form = page.locator("intake-form form")
    expect(form).to_be_visible()
    shown = page_now(page)
    for label, text in (
        ("Rekisterinumero", "abc123"),
        ("Merkki ja malli", "Saab 9-3"),
        ("Mittarilukema", "120 000"),
    ):
        page.clock.run_for(PACE)
        form.get_by_label(label).fill(text)
        form.get_by_label(label).press("Tab")
    batch = first_batch(visit, page, shown)
    visit.session = batch.events[0]["session"]
    assert told(batch) == FIRST_THREE
    assert {e["channel"] for e in batch.events} == {"inline"}
    assert WAIT_MS <= batch.events[0]["ago"] < WAIT_MS + 1000, batch.events[0]
    leave(page)
    heard(visit, page, 2)
    assert told(visit.heard[1]) == [("abandon", "service")]
    visit.assert_no_answer()


#: What the car-service form needs sent, in the order of its questions: a
#: text typed, or None for a choice or box to pick.
CAR = (
    ("Rekisterinumero", "abc123"),
    ("Merkki ja malli", "Saab 9-3"),
    ("Mittarilukema", "120 000"),
    ("Määräaikaishuolto", None),
    ("Nimi", "Maija Meikäläinen"),
    ("Sähköposti", "maija@example.com"),
    ("Hyväksyn, että tietojani käytetään huollon varaamiseen.", None),
)


@pytest.mark.parametrize("end", ["send", "leave"])
@pytest.mark.parametrize("kind", ["hosted", "inline"])
def test_a_visit_of_answers_3_s_apart_reaches_the_service_in_one_request(
    guest: Guest, site: EventSite, kind: str, end: str
) -> None:
    """Events wait for the visit's end, not a few seconds: seven answers
    over 21 s of the page's clock go together as the form is sent or the
    page left."""
    # The page's clock runs ahead of the test's: the service dates its
    # events up to 24 s before they reach it.
    visit = Visit(site, since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    page, form, channel = shown_page(guest, kind, clock=True)
    for label, text in CAR:
        page.clock.run_for(3_000)
        if text is None:
            form.get_by_label(label).check()
        else:
            form.get_by_label(label).fill(text)
            form.get_by_label(label).press("Tab")
    page.clock.run_for(3_000)
    if end == "send":
        form.get_by_role("button", name=FI["send"]).click()
        expect(page.get_by_text(REFERENCE).first).to_be_visible()
    else:
        leave(page)
    visit.find(page, channel)
    found = visit.settled(page, extra=1 if end == "send" else 0)
    assert len(visit.heard) == 1, [told(h) for h in visit.heard]
    (batch,) = visit.heard
    answered = ["plate", "model", "mileage", "service", "name", "email", "privacy"]
    assert told(batch) == [
        ("view",),
        ("start", "plate"),
        *[("answer", name) for name in answered],
        *([("abandon", "privacy")] if end == "leave" else []),
    ]
    # Dated by the page's clock, 3 s apart as they happened.
    ago = [e["ago"] for e in batch.events]
    assert ago == sorted(ago, reverse=True)
    assert ago[0] - ago[len(answered) + 1] > 6 * 3_000, ago
    assert steps(found)[-1] == (("submit",) if end == "send" else ("abandon", "privacy"))
    visit.assert_no_answer()


def test_closing_the_chat_sends_what_waits(guest: Guest, site: EventSite) -> None:
    """Closing the chat ends its visit for now: its events go then, not
    30 s after the view."""
    visit = Visit(site)
    page = widget_page(guest, "intake-chat")
    dialog = open_chat(page)
    answer(dialog, "Rekisterinumero", "abc123")
    asked(dialog, "Merkki ja malli")
    dialog.get_by_role("button", name=FI["close"]).click()
    expect(dialog).to_be_hidden()
    heard(visit, page, 1)
    (batch,) = visit.heard
    visit.session = batch.events[0]["session"]
    assert told(batch) == [("view",), ("start", "plate"), ("answer", "plate")]
    assert {e["channel"] for e in batch.events} == {"chat"}
    visit.assert_no_answer()


#: A browser that says only pagehide as a page goes, no visibilitychange
#: (older Safari).
NO_VISIBILITYCHANGE = """
const listen = EventTarget.prototype.addEventListener;
EventTarget.prototype.addEventListener = function (type, ...rest) {
  if (type !== "visibilitychange") listen.call(this, type, ...rest);
};
"""


@pytest.mark.parametrize("kind", ["hosted", "inline"])
def test_a_page_left_sends_what_waits_where_only_pagehide_is_said(
    guest: Guest, site: EventSite, kind: str
) -> None:
    visit = Visit(site)
    page, form, channel = shown_page(guest, kind, script=NO_VISIBILITYCHANGE)
    form.get_by_label("Rekisterinumero").fill("abc123")
    form.get_by_label("Rekisterinumero").press("Tab")
    expect(form.get_by_label("Merkki ja malli")).to_be_focused()
    leave(page)
    visit.find(page, channel)
    assert steps(visit.settled(page)) == [
        ("view",),
        ("start", "plate"),
        ("answer", "plate"),
        ("abandon", "model"),
    ]
    assert len(visit.heard) == 1


def test_the_inline_widget_sends_50_events_at_once_and_loses_none(
    guest: Guest, site: EventSite
) -> None:
    """The service takes at most 50 events a request, and refuses a longer
    list whole."""
    visit = Visit(site)
    page = widget_page(guest, "intake-form")
    form = page.locator("intake-form form")
    mileage = form.get_by_label("Mittarilukema")
    # Each a refused answer: its error and the answer, told at once.
    for number in range(25):
        mileage.fill("paljon" if number % 2 else "monta")
        mileage.press("Tab")
    # The 50th event went at once, not 30 s after the view (heard() waits
    # half that at most); the last two wait for the rest of the visit.
    assert DEADLINE < WAIT_MS / 1000
    heard(visit, page, 1)
    assert [len(h.events) for h in visit.heard] == [50]
    leave(page)
    visit.find(page, "inline")
    heard(visit, page, 2)
    assert [len(h.events) for h in visit.heard] == [50, 3]
    assert steps(visit.settled(page)) == [
        ("view",),
        ("start", "mileage"),
        *[("error", "mileage", "not_integer"), ("answer", "mileage")] * 25,
        ("abandon", "service"),
    ]


# -- when each event happened ----------------------------------------------------------

#: How far a stored time may be from the test's own: the service and the
#: test read the same machine's clock, and the page rounds to 1 ms.
SLACK = dt.timedelta(milliseconds=100)
#: Seconds a page is left open before it is left, its events waiting.
LATE = 3.0


def shown_page(
    guest: Guest, kind: str, *, script: str = "", clock: bool = False
) -> tuple[Page, Locator, str]:
    """The hosted page or the inline widget, its form shown; and its channel."""
    if kind == "hosted":
        page = hosted_page(guest, script=script, clock=clock)
        form, channel = page.locator("form.intake-form"), "form"
    else:
        page = widget_page(guest, "intake-form", script=script, clock=clock)
        form, channel = page.locator("intake-form form"), "inline"
    expect(form).to_be_visible()
    return page, form, channel


@pytest.mark.parametrize("kind", ["hosted", "inline"])
def test_a_view_sent_late_is_dated_when_the_page_showed_it(
    guest: Guest, site: EventSite, kind: str
) -> None:
    """Else the time from a view to its submit would read short by as long
    as the view waited."""
    visit = Visit(site)
    opened = time.monotonic()
    before = dt.datetime.now(dt.UTC)
    page, _, channel = shown_page(guest, kind)
    after = dt.datetime.now(dt.UTC)
    assert time.monotonic() - opened < LATE - 1, "too slow to show the page"
    # The view waits alone, and reaches the service as the page is left.
    page.wait_for_timeout(LATE * 1000)
    leave(page)
    visit.find(page, channel)
    (stored,) = visit.settled(page)
    assert stored.event == "view"
    assert before - SLACK <= stored.at <= after + dt.timedelta(seconds=1), (before, after)
    ((view,),) = [h.events for h in visit.heard]
    assert view["ago"] >= LATE * 1000 - 100, view


@pytest.mark.parametrize("kind", ["hosted", "inline"])
def test_the_events_of_a_batch_are_dated_in_the_order_they_happened(
    guest: Guest, site: EventSite, kind: str
) -> None:
    visit = Visit(site)
    before = dt.datetime.now(dt.UTC)
    page, form, channel = shown_page(guest, kind)
    answered: list[dt.datetime] = []
    for label, text in (
        ("Rekisterinumero", "abc123"),
        ("Merkki ja malli", "Saab 9-3"),
        ("Mittarilukema", "120 000"),
    ):
        page.wait_for_timeout(PACE)
        form.get_by_label(label).fill(text)
        form.get_by_label(label).press("Tab")
        answered.append(dt.datetime.now(dt.UTC))
    leave(page)
    visit.find(page, channel)
    found = visit.settled(page)
    assert len(visit.heard) == 1, "the answers went in more than one request"
    assert steps(found) == [
        ("view",),
        ("start", "plate"),
        ("answer", "plate"),
        ("answer", "model"),
        ("answer", "mileage"),
        ("abandon", "service"),
    ]
    times = [e.at for e in found]
    assert times == sorted(times) and len(set(times)) == len(times), times
    assert before - SLACK <= times[0]
    # Each answer dated as the test gave it, a customer's pace apart.
    for at, seen in zip(times[2:5], answered, strict=True):
        assert seen - dt.timedelta(seconds=1) <= at <= seen + SLACK, (at, seen)
    for earlier, later in itertools.pairwise(times[2:5]):
        assert later - earlier > dt.timedelta(milliseconds=PACE / 2)
    visit.assert_no_answer()
