"""Continuity on the hosted form page, in a real browser: Chromium, driven by
Playwright, against the real service on a loopback port.

What a customer would notice: a prefilled link's token leaves the address
bar once the page has loaded (the answers stay, and are sent); "Continue by
email later" asks for an address, says what is wrong with a bad one, and
says where the link went, while the store holds the answers so far; a hidden
question answered by the address goes with the submission, marked as given
by the page. axe-core audits the form with the disclosure open.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import (
    PHONE,
    LiveServer,
    axe_violations,
    describe_violations,
    require_chromium,
    screenshots,
)
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, expect
from web_helpers import FORMS, settings_for

from intakeforms import load_form_text
from intakeforms.links import make_draft_token, make_token
from intakeforms.store import open_store
from intakeforms.web import create_app

require_chromium()

SECRET = "test-secret"
SHOP = load_form_text(
    """\
form: order-question
title: {fi: Kysymys tilauksesta, en: Order question}
locales: [fi, en]
fields:
  - {name: order, type: hidden, label: Tilausnumero, pattern: "[0-9]{4,10}"}
  - {name: campaign, type: hidden, label: Kampanja}
  - {name: question, type: textarea, label: Kysymyksesi, required: true}
  - {name: email, type: email, role: reply_to, label: Sähköposti, required: true}
""",
    "order-question.yaml",
)


@dataclass(frozen=True)
class Live:
    url: str
    database: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The service with a public address, so that drafts can be mailed."""
    folder = tmp_path_factory.mktemp("continuity-browser")
    settings = settings_for(folder, public_url="https://forms.example.com")
    server = LiveServer(create_app([*FORMS, SHOP], settings))
    url = server.start()
    try:
        yield Live(url, folder / "intake.db")
    finally:
        server.stop()


@dataclass
class Visitor:
    """Opens pages in fresh browser contexts; notes script errors and
    failed loads (a 422 the test asks for is expected)."""

    browser: Browser
    live: Live
    expected: set[int] = field(default_factory=set)
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        context = self.browser.new_context(base_url=self.live.url, viewport=PHONE, locale="fi-FI")
        self.contexts.append(context)
        context.set_default_timeout(5_000)
        page = context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)
        response = page.goto(path)
        assert response is not None and response.ok, f"GET {path}"
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # Failed loads are judged by _response, which knows what was expected.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Response) -> None:
        expected = response.status in self.expected or response.url.endswith("/favicon.ico")
        if response.status >= 400 and not expected:
            self.problems.append(f"{response.status} for {response.url}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def visitor(browser: Browser, live: Live) -> Iterator[Visitor]:
    visiting = Visitor(browser, live)
    try:
        yield visiting
    finally:
        visiting.close()
    assert visiting.problems == [], "the pages had script errors or failed loads"


def in_store(live: Live, call: Callable[[Any], Any]) -> Any:
    """``call(store)`` on the service's own database, in a thread of its own
    (Playwright's loop runs in this one)."""

    async def run() -> Any:
        async with open_store(f"sqlite:///{live.database}") as store:
            return await call(store)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def reference_of(page: Page) -> str:
    shown = page.locator("#intake-reference")
    expect(shown).to_have_text(re.compile(r"^ORD-[0-9A-Z]{6}$"))
    return shown.inner_text().strip()


# -- the token leaves the address bar -----------------------------------------------


def test_a_link_token_leaves_the_address_bar_and_its_answers_stay(
    visitor: Visitor, live: Live
) -> None:
    token = make_token("car-service", {"plate": "abc123"}, secret=SECRET, lock=["plate"])
    page = visitor.open(f"/forms/car-service?lang=fi&t={token}")
    expect(page.get_by_label("Rekisterinumero")).to_have_value("ABC-123")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('t')")
    assert query_of(page) == {"lang": ["fi"]}
    assert token not in page.url
    # The form still holds it, to send with the answers.
    assert page.locator("input[name='_link']").input_value() == token
    # The address was replaced, not added to: back and forth never show it.
    page.go_back()
    assert page.url == "about:blank"
    page.go_forward()
    expect(page.locator("form.intake-form")).to_be_visible()
    assert token not in page.url and query_of(page) == {"lang": ["fi"]}


def test_a_draft_token_leaves_the_address_bar(visitor: Visitor, live: Live) -> None:
    saved = visitor.open("/forms/car-service?lang=fi").request.post(
        f"{live.url}/forms/car-service/drafts?lang=fi",
        data={"data": {"model": "Volvo V70"}, "email": "draft@example.com"},
    )
    assert saved.status == 202
    (record,) = in_store(live, lambda store: store.drafts_of("draft@example.com"))
    token = make_draft_token(record.id, "car-service", secret=SECRET)
    page = visitor.open(f"/forms/car-service?d={token}&lang=fi")
    expect(page.get_by_label("Merkki ja malli")).to_have_value("Volvo V70")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('d')")
    assert query_of(page) == {"lang": ["fi"]}


# -- continue by email later ----------------------------------------------------------


def test_continue_by_email_later_keeps_the_answers_so_far(visitor: Visitor, live: Live) -> None:
    visitor.expected.add(422)  # the address the customer mistypes first
    page = visitor.open("/forms/car-service?lang=fi")
    page.get_by_label("Rekisterinumero").fill("abc123")
    page.get_by_label("Merkki ja malli").fill("Toyota Corolla")
    page.get_by_label("Korjaus", exact=True).check()
    toggle = page.get_by_role("button", name="Jatka myöhemmin sähköpostilinkillä")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    address = page.get_by_label("Sähköpostiosoitteesi")
    expect(address).to_be_focused()

    violations = axe_violations(page)
    assert not violations, describe_violations(violations)
    screenshots(page, "form-continue-later")

    address.fill("matti@")
    page.get_by_role("button", name="Lähetä linkki").click()
    error = page.locator("#intake-drafts-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("sähköpostiosoite")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_be_focused()
    assert "intake-drafts-error" in (address.get_attribute("aria-describedby") or "")
    screenshots(page, "form-continue-later-error")
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)

    address.fill("matti.later@example.com")
    page.keyboard.press("Enter")
    status = page.get_by_role("status").filter(has_text="Lähetimme")
    expect(status).to_have_text(
        "Lähetimme linkin osoitteeseen matti.later@example.com. Se toimii 7 päivää."
    )
    expect(error).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    (draft,) = in_store(live, lambda store: store.drafts_of("matti.later@example.com"))
    assert draft.form == "car-service" and draft.locale == "fi"
    assert draft.data == {"plate": "abc123", "model": "Toyota Corolla", "service": "repair"}
    # The form itself is untouched: it is still there to be sent.
    assert page.get_by_label("Merkki ja malli").input_value() == "Toyota Corolla"


def test_continue_later_says_when_the_link_could_not_be_sent(visitor: Visitor, live: Live) -> None:
    visitor.expected.add(503)
    page = visitor.open("/forms/car-service?lang=fi")
    page.route(
        "**/forms/car-service/drafts*",
        lambda route: route.fulfill(status=503, json={"errors": []}),
    )
    page.get_by_role("button", name="Jatka myöhemmin sähköpostilinkillä").click()
    page.get_by_label("Sähköpostiosoitteesi").fill("matti@example.com")
    page.get_by_role("button", name="Lähetä linkki").click()
    expect(page.locator("#intake-drafts-status")).to_have_text(
        "Linkkiä ei voitu lähettää. Yritä myöhemmin uudelleen."
    )
    expect(page.locator("#intake-drafts-error")).to_be_hidden()


# -- hidden questions ------------------------------------------------------------------


def test_the_address_answers_a_hidden_question_for_the_agents(visitor: Visitor, live: Live) -> None:
    page = visitor.open("/forms/order-question?lang=fi&order=1234&campaign=kevät")
    expect(page.get_by_text("Tilausnumero")).to_have_count(0)  # never asked
    page.get_by_label("Kysymyksesi").fill("Missä pakettini on?")
    page.get_by_role("textbox", name="Sähköposti (pakollinen)").fill("matti@example.com")
    page.get_by_role("button", name="Lähetä", exact=True).click()
    reference = reference_of(page)
    stored = in_store(live, lambda store: store.get(reference))
    assert stored.data["order"] == "1234" and stored.data["campaign"] == "kevät"
    assert stored.context["page"] == ["order", "campaign"]
