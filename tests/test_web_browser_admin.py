"""The staff's dashboard and inbox in a real browser: Playwright drives the
system's Chromium against the real service on a loopback port.

What a member of staff would notice: signing in with the keyboard lands on
the dashboard with its charts (each a named picture with its words and
numbers); the inbox lists a quarantined submission; with the keyboard alone
they open it and release it, and the store has it queued for delivery.
axe-core finds nothing serious on the sign-in page, the dashboard, the
inbox and a submission, under the same CSP customers get, and no page has
a script error or a refused style.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from browser import DESKTOP, LiveServer, axe_violations, describe_violations, require_chromium
from browser import screenshots as take_screenshots
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms.intake import submit
from intakeforms.store import EventRecord, Store, open_store
from intakeforms.web import create_app
from intakeforms.web.admin_auth import hash_password

require_chromium()

PASSWORD = "correct horse battery staple"
CAR = next(form for form in FORMS if form.id == "car-service")
_T = TypeVar("_T")


@dataclass
class Desk:
    """The service on a loopback port, its store's URL, and what it holds."""

    url: str
    store: str
    spam: str
    accepted: str
    problems: list[str] = field(default_factory=list)


def in_store(url: str, call: Callable[[Store], Awaitable[_T]]) -> _T:
    """``call(store)`` on a store of the service's database, in a thread of
    its own (Playwright's loop runs in this one)."""

    async def run() -> _T:
        async with open_store(url) as store:
            return await call(store)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


async def seed(store: Store) -> tuple[str, str]:
    """A member of staff, a week of visits, an accepted and a spam submission."""
    await store.add_staff("anna", hash_password(PASSWORD))
    now = dt.datetime.now(dt.UTC)
    events = []
    for n in range(12):
        session, at = f"visit-{n:04d}", now - dt.timedelta(days=n % 6, minutes=5)
        channel = ("form", "chat", "inline")[n % 3]
        events.append(EventRecord(session, CAR.id, channel, "view", None, None, at))
        for step, name in enumerate(("plate", "model", "mileage")[: n % 4]):
            moment = at + dt.timedelta(seconds=10 * step + 5)
            events.append(EventRecord(session, CAR.id, channel, "answer", name, None, moment))
        if n % 4 == 1:
            moment = at + dt.timedelta(seconds=8)
            events.append(
                EventRecord(session, CAR.id, channel, "error", "model", "required", moment)
            )
        if n % 4 == 3:
            moment = at + dt.timedelta(seconds=90)
            events.append(EventRecord(session, CAR.id, channel, "submit", None, None, moment))
    await store.save_events(events)
    accepted = await submit(store, CAR, CAR_ANSWERS)
    spam = await submit(store, CAR, CAR_ANSWERS, spam_reason="honeypot filled")
    return spam.reference, accepted.reference


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder: Path = tmp_path_factory.mktemp("admin")
    settings = settings_for(folder)
    spam, accepted = in_store(settings.store, seed)
    server = LiveServer(create_app(FORMS, settings))
    server.start()
    try:
        yield Desk(server.url, settings.store, spam, accepted)
    finally:
        server.stop()


@pytest.fixture
def page(browser: Browser, desk: Desk) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(5_000)
    opened = context.new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # A failed load is told apart below, by its address.
        if message.type in ("error", "warning") and "Failed to load resource" not in message.text:
            problems.append(f"console {message.type}: {message.text}")

    def response(answer: Response) -> None:
        # Chromium asks for /favicon.ico itself; the service has none.
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    opened.on("console", console)
    opened.on("response", response)
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    try:
        yield opened
    finally:
        context.close()
    # A refused inline style or script shows as a console error.
    assert problems == [], problems


def assert_axe_clean(page: Page, what: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{what}:\n{describe_violations(violations)}"


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element ``selector`` names has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def sign_in(page: Page, desk: Desk, path: str = "/admin") -> None:
    """Sign in from the page the staff pages send a stranger to, by keyboard."""
    page.goto(f"{desk.url}{path}")
    expect(page.get_by_role("heading", name="Sign in to the staff pages")).to_be_visible()
    tab_to(page, "#admin-name")
    page.keyboard.type("anna")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{desk.url}{path}")


def test_signing_in_shows_the_dashboards_charts(page: Page, desk: Desk) -> None:
    page.goto(f"{desk.url}/admin")
    assert page.url.startswith(f"{desk.url}/admin/login?next=")
    assert_axe_clean(page, "the sign-in page")
    sign_in(page, desk, "/admin?form=car-service")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    charts = page.get_by_role("img")
    expect(charts).to_have_count(4)
    volume = page.get_by_role("img", name="Submissions per day, by topic")
    expect(volume).to_be_visible()
    # The picture is described by its words; its numbers are a click away.
    summary = page.locator("#volume-summary")
    expect(summary).to_contain_text("3 submissions from")
    assert volume.get_attribute("aria-describedby") == "volume-summary"
    numbers = page.locator("#chart-volume details")
    numbers.locator("summary").click()
    expect(numbers.get_by_role("table")).to_be_visible()
    expect(page.get_by_role("img", name="How far visits got: Car service booking")).to_be_visible()
    expect(page.locator("#errors-summary")).to_have_text(
        "Most errors: “Make and model”, required (3)."
    )
    # The period picker works with the keyboard: choose a week, show it.
    tab_to(page, "#filter-days")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin?days=7*")
    expect(page.get_by_label("Period")).to_have_value("7")
    take_screenshots(page, "admin-dashboard")
    assert_axe_clean(page, "the dashboard")


def test_a_quarantined_submission_is_released_with_the_keyboard_alone(
    page: Page, desk: Desk
) -> None:
    sign_in(page, desk, "/admin/inbox")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    table = page.get_by_role("table", name="Submissions, newest first")
    expect(table.get_by_role("row", name=desk.spam)).to_contain_text("Spam: honeypot filled")
    expect(table.get_by_role("row", name=desk.accepted)).to_contain_text("Accepted")
    take_screenshots(page, "admin-inbox")
    assert_axe_clean(page, "the inbox")

    tab_to(page, f'a[href="/admin/submissions/{desk.spam}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/admin/submissions/{desk.spam}")
    expect(page.get_by_role("heading", name=f"Submission {desk.spam}")).to_be_visible()
    expect(page.get_by_text("Quarantined as spam (honeypot filled)")).to_be_visible()
    mail = page.get_by_role("region", name="As the agent would see it")
    expect(mail.get_by_role("row", name="Rekisterinumero ABC-123")).to_be_visible()
    take_screenshots(page, "admin-submission")
    assert_axe_clean(page, "a submission")

    tab_to(page, "button.intake-button:not(.intake-button--secondary)")
    expect(page.locator(":focus")).to_have_text("Release and deliver")
    page.keyboard.press("Enter")
    page.wait_for_url("**?done=released")
    expect(page.get_by_role("status")).to_have_text(
        f"{desk.spam} was released; its deliveries are queued."
    )

    async def state(store: Store) -> tuple[bool, list[tuple[str, str]]]:
        found = await store.get(desk.spam)
        assert found is not None
        return found.spam, [(job.target, job.status) for job in await store.outbox(desk.spam)]

    assert in_store(desk.store, state) == (False, [("email:0", "pending")])
    expect(page.get_by_role("button", name="Release and deliver")).to_have_count(0)
    assert_axe_clean(page, "a released submission")


def test_the_staff_pages_speak_finnish_when_asked(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/admin/inbox")
    page.get_by_role("link", name="Suomi").click()
    expect(page.get_by_role("heading", name="Saapuneet")).to_be_visible()
    # The choice stays on as staff go on to other pages.
    page.get_by_role("link", name="Yleiskuva").click()
    expect(page.get_by_role("img", name="Lähetykset päivittäin aiheittain")).to_be_visible()
    assert_axe_clean(page, "the dashboard in Finnish")
