"""The hosted form's live checks in a real browser: Chromium, driven by
Playwright, against the real app served by uvicorn on a loopback port.

What a customer would notice: an answer that the server refuses says so next
to its question as soon as the question is left (the server's own words, tied
to the control with aria-invalid and aria-describedby), and the message goes
once the answer is corrected; a question merely passed by is not nagged
about; typing is never held up; axe-core finds nothing serious on a page
showing live errors. Steps, the favicon and the thanks redirect are here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser import (
    DESKTOP,
    PHONE,
    LiveServer,
    axe_violations,
    describe_violations,
    require_chromium,
)
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    Route,
    expect,
)
from web_helpers import settings_for

from intakeforms import Form, InvalidAnswers
from intakeforms.load import load_form_text
from intakeforms.web import create_app

require_chromium()

#: A small form of its own, so that the examples may change freely.
LIVE_FORM = """
form: live-check
title: {fi: Huoltovaraus, en: Car service booking}
locales: [fi, en]
reference_prefix: LIV
fields:
  - name: plate
    type: plate
    region: FI
    label: {fi: Rekisterinumero, en: Registration plate}
    required: true
  - name: mileage
    type: integer
    unit: km
    min: 0
    max: 2000000
    label: {fi: Mittarilukema, en: Mileage}
  - name: service
    type: choice
    label: {fi: "Mitä tarvitset?", en: "What do you need?"}
    required: true
    choices:
      annual: {fi: Määräaikaishuolto, en: Annual service}
      repair: {fi: Korjaus, en: Repair}
  - name: symptoms
    type: textarea
    label: {fi: Kuvaile vika, en: Describe the problem}
    required: true
    min_length: 20
    when: {service: repair}
  - name: email
    type: email
    label: {fi: Sähköposti, en: Email}
    required: true
  - name: privacy
    type: consent
    label: {fi: Hyväksyn tietojen käytön, en: I agree}
"""

FORM: Form = load_form_text(LIVE_FORM, "live-check.yaml")
PAGE = "/forms/live-check?lang=fi"

#: Three steps, a section, a question asked only sometimes, and the form's
#: own thanks page.
STEPS_FORM = """
form: steps
title: {fi: Palautus, en: Return}
locales: [fi, en]
reference_prefix: STP
thanks: {url: "https://shop.example/kiitos"}
theme: {accent: "#7a1fa2"}
fields:
  - type: section
    title: {fi: Tilaus, en: The order}
    text: {fi: Löydät numeron kuitista., en: The number is on the receipt.}
  - name: order
    type: text
    pattern: "[0-9]{6}"
    messages: {pattern: {fi: Kirjoita tilausnumeron 6 numeroa., en: Write the 6 digits.}}
    label: {fi: Tilausnumero, en: Order number}
    required: true
  - type: page
    title: {fi: Syy, en: The reason}
  - name: reason
    type: choice
    label: {fi: Syy, en: Reason}
    required: true
    choices:
      broken: {fi: Rikki, en: Broken}
      other: {fi: Muu, en: Other}
  - name: details
    type: textarea
    label: {fi: Kerro lisää, en: Tell us more}
    required: true
    when: {reason: other}
  - type: page
  - name: email
    type: email
    label: {fi: Sähköposti, en: Email}
    required: true
"""
STEPS: Form = load_form_text(STEPS_FORM, "steps.yaml")


def server_code(answers: dict[str, Any], name: str) -> str:
    try:
        FORM.validate(answers, locale="fi")
    except InvalidAnswers as exc:
        return next(e.code for e in exc.errors if e.field == name)
    raise AssertionError("the answers are valid")


def server_message(answers: dict[str, Any], name: str, form: Form | None = None) -> str:
    """What the server says (in Finnish) of question ``name`` for these answers."""
    try:
        (form or FORM).validate(answers, locale="fi")
    except InvalidAnswers as exc:
        return next(e.message for e in exc.errors if e.field == name)
    raise AssertionError("the answers are valid")


@dataclass(frozen=True)
class Live:
    url: str
    database: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("browser-live")
    server = LiveServer(create_app([FORM, STEPS], settings_for(folder, min_fill_seconds=0)))
    url = server.start()
    try:
        yield Live(url, folder / "intake.db")
    finally:
        server.stop()


@dataclass
class Visitor:
    """Opens pages in fresh contexts; notes script errors, failed loads and
    every request to /validate."""

    browser: Browser
    live: Live
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def open(self, path: str = PAGE, *, javascript: bool = True, clock: bool = False) -> Page:
        """``path`` in a fresh context; with ``clock``, its pages' time is
        Playwright's, which the test may run on (``page.clock.run_for``)."""
        context = self.browser.new_context(
            base_url=self.live.url, viewport=PHONE, java_script_enabled=javascript, locale="fi-FI"
        )
        self.contexts.append(context)
        if clock:
            context.clock.install()
        context.set_default_timeout(5_000)
        page = context.new_page()
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        response = page.goto(path)
        assert response is not None and response.ok, f"GET {path}"
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and not message.text.startswith(
            "Failed to load resource"
        ):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response: Response) -> None:
        if response.url.split("?")[0].endswith("/validate"):
            self.checks.append(response.request.post_data or "")
        expected = response.status == 422 and response.request.resource_type == "document"
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


def error_of(page: Page, name: str) -> str | None:
    """The message shown next to question ``name``, as aria-describedby ties it."""
    found: str | None = page.evaluate(
        """(name) => {
            const wrapper = document.querySelector(`[data-field="${name}"]`);
            const control = wrapper.querySelector("fieldset")
                || document.getElementById(`field-${name}`);
            const ids = (control.getAttribute("aria-describedby") || "").split(/\\s+/);
            const note = ids.map((id) => document.getElementById(id))
                .find((el) => el && el.classList.contains("intake-error-message"));
            return note ? note.textContent : null;
        }""",
        name,
    )
    return found


def expect_error(page: Page, name: str, message: str) -> None:
    note = page.locator(f"#field-{name}-error")
    expect(note).to_have_text(f"Virhe: {message}")
    expect(page.locator(f"#field-{name}")).to_have_attribute("aria-invalid", "true")
    assert error_of(page, name) == f"Virhe: {message}"


def expect_no_error(page: Page, name: str) -> None:
    expect(page.locator(f"#field-{name}-error")).to_have_count(0)
    expect(page.locator(f"#field-{name}")).not_to_have_attribute("aria-invalid", "true")
    assert error_of(page, name) is None
    wrapper = page.locator(f"[data-field='{name}']")
    expect(wrapper).not_to_have_class("intake-field--error")


# -- live checks ------------------------------------------------------------------------


def test_a_refused_answer_says_so_when_the_question_is_left(visitor: Visitor) -> None:
    page = visitor.open()
    plate = page.get_by_label("Rekisterinumero")
    plate.fill("12")
    plate.press("Tab")
    expect_error(page, "plate", server_message({"plate": "12"}, "plate"))
    expect(page.locator("[data-field='plate']")).to_have_class(
        "intake-field intake-field--input intake-field--error"
    )
    # Screen readers hear it once, politely, with the question's label.
    status = page.locator("[data-live-status]")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_contain_text("Rekisterinumero")
    # The focus went on where the customer sent it.
    expect(page.get_by_label("Mittarilukema")).to_be_focused()
    # Corrected, the message goes as the customer types, before leaving.
    plate.fill("abc123")
    expect_no_error(page, "plate")
    expect(plate).to_be_focused()


def test_a_live_error_is_an_error_of_the_visit_for_the_statistics(visitor: Visitor) -> None:
    page = visitor.open(clock=True)
    plate = page.get_by_label("Rekisterinumero")
    plate.fill("12")
    plate.press("Tab")
    expect_error(page, "plate", server_message({"plate": "12"}, "plate"))
    # The page sends its events 30 s after the first of them (the view): its
    # clock is run on rather than waited for.
    with page.expect_request(
        lambda r: r.url.endswith("/events") and '"error"' in (r.post_data or "")
    ) as sent:
        page.clock.run_for(30_000)
    events = json.loads(sent.value.post_data or "[]")
    errors = [e for e in events if e["event"] == "error"]
    # How long before the request it happened, for the service to date it.
    ago = errors[0].pop("ago")
    assert type(ago) is int and 0 <= ago < 30_000
    code = server_code({"plate": "12"}, "plate")
    assert errors == [
        {
            "session": errors[0]["session"],
            "form": "live-check",
            "channel": "form",
            "event": "error",
            "field": "plate",
            "code": code,
        }
    ]


def test_numbers_bounds_and_addresses_are_the_servers_rules(visitor: Visitor) -> None:
    page = visitor.open()
    mileage = page.get_by_label("Mittarilukema")
    mileage.fill("3 000 000")
    mileage.press("Tab")
    expect_error(page, "mileage", server_message({"mileage": "3 000 000"}, "mileage"))
    email = page.get_by_label("Sähköposti")
    email.fill("matti@")
    email.press("Tab")
    expect_error(page, "email", server_message({"email": "matti@"}, "email"))
    # One check a question left: mileage's error stays while email is checked.
    expect_error(page, "mileage", server_message({"mileage": "3 000 000"}, "mileage"))
    mileage.fill("120 000")
    mileage.press("Tab")
    expect_no_error(page, "mileage")


def test_a_question_passed_by_is_not_nagged(visitor: Visitor) -> None:
    page = visitor.open()
    page.get_by_label("Rekisterinumero").focus()
    for _ in range(3):
        page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    assert visitor.checks == []
    expect(page.locator(".intake-error-message")).to_have_count(0)


def test_conditions_see_the_other_answers(visitor: Visitor) -> None:
    """Symptoms are asked only for a repair: its check carries the choice."""
    page = visitor.open()
    page.get_by_label("Korjaus", exact=True).check()
    symptoms = page.get_by_label("Kuvaile vika")
    symptoms.fill("Kolisee")
    symptoms.press("Tab")
    answers = {"service": "repair", "symptoms": "Kolisee"}
    expect_error(page, "symptoms", server_message(answers, "symptoms"))
    assert "service=repair" in visitor.checks[-1]
    # The hidden defences are posted as the form would; files never are.
    assert "_visit=" in visitor.checks[-1]


def test_a_choice_and_a_box_with_an_error_clear_when_picked(visitor: Visitor) -> None:
    page = visitor.open()
    page.get_by_label("Rekisterinumero").fill("abc123")
    page.get_by_role("button", name="Lähetä").click()
    expect(page.locator("[data-intake-summary]")).to_be_visible()
    required = server_message({}, "service")
    expect_error(page, "service", required)
    page.get_by_label("Määräaikaishuolto", exact=True).check()
    expect_no_error(page, "service")
    # The group's fieldset is what aria-describedby sits on.
    fieldset = page.locator("[data-field='service'] fieldset")
    assert "field-service-error" not in (fieldset.get_attribute("aria-describedby") or "")


def test_typing_is_never_held_up(visitor: Visitor) -> None:
    page = visitor.open()
    plate = page.get_by_label("Rekisterinumero")
    plate.fill("1")
    plate.press("Tab")
    expect_error(page, "plate", server_message({"plate": "1"}, "plate"))
    # Every keystroke lands while checks come and go.
    plate.focus()
    plate.press("End")
    page.keyboard.type("23456789", delay=20)
    expect(plate).to_have_value("123456789")


def test_axe_finds_nothing_serious_with_live_errors(visitor: Visitor) -> None:
    page = visitor.open()
    for label, value in (("Rekisterinumero", "12"), ("Sähköposti", "x@")):
        page.get_by_label(label).fill(value)
        page.get_by_label(label).press("Tab")
    expect(page.locator(".intake-error-message")).to_have_count(2)
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        assert not violations, describe_violations(violations)


def test_without_javascript_the_server_checks_on_send(visitor: Visitor) -> None:
    page = visitor.open(javascript=False)
    page.get_by_label("Rekisterinumero").fill("12")
    page.get_by_label("Rekisterinumero").press("Tab")
    expect(page.locator(".intake-error-message")).to_have_count(0)
    page.get_by_role("button", name="Lähetä").click()
    expect_error(page, "plate", server_message({"plate": "12"}, "plate"))


# -- the favicon ------------------------------------------------------------------------------


def test_pages_have_an_icon_and_no_404(visitor: Visitor) -> None:
    page = visitor.open()
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href is not None
    answer = page.request.get(href)
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")


# -- steps ----------------------------------------------------------------------------------

STEPS_PAGE = "/forms/steps?lang=fi"


def steps_shown(page: Page) -> list[str]:
    shown: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll("[data-step]"))
            .filter((s) => !s.hidden).map((s) => s.id)"""
    )
    return shown


def button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def test_steps_show_one_at_a_time_and_check_before_next(visitor: Visitor) -> None:
    page = visitor.open(STEPS_PAGE)
    assert steps_shown(page) == ["intake-step-1"]
    expect(page.get_by_role("heading", name="Tilaus")).to_be_visible()
    expect(button(page, "Lähetä")).to_be_hidden()
    expect(button(page, "Takaisin")).to_be_hidden()
    # Next with a wrong answer: the author's own message, and the step stays.
    page.get_by_label("Tilausnumero").fill("12")
    button(page, "Seuraava").click()
    expect_error(page, "order", "Kirjoita tilausnumeron 6 numeroa.")
    assert steps_shown(page) == ["intake-step-1"]
    expect(page.get_by_label("Tilausnumero")).to_be_focused()
    page.get_by_label("Tilausnumero").fill("123456")
    button(page, "Seuraava").click()
    # On to step 2, its heading focused and saying where the customer is.
    heading = page.locator("#intake-step-2-title")
    expect(heading).to_be_focused()
    expect(heading).to_have_text("Vaihe 2/3 Syy")
    assert steps_shown(page) == ["intake-step-2"]
    # A blank required choice stops Next too.
    button(page, "Seuraava").click()
    expect_error(page, "reason", server_message({}, "reason", STEPS))
    page.get_by_label("Muu", exact=True).check()
    expect_no_error(page, "reason")
    # The question that appears is checked with its step.
    button(page, "Seuraava").click()
    expect(page.locator("#field-details-error")).to_be_visible()
    page.get_by_label("Kerro lisää").fill("Väärä koko")
    button(page, "Seuraava").click()
    expect(page.locator("#intake-step-3-title")).to_be_focused()
    expect(button(page, "Lähetä")).to_be_visible()
    expect(button(page, "Seuraava")).to_be_hidden()
    # Back keeps the answers.
    button(page, "Takaisin").click()
    expect(page.locator("#intake-step-2-title")).to_be_focused()
    expect(page.get_by_label("Kerro lisää")).to_have_value("Väärä koko")


def test_enter_before_the_last_step_goes_on_instead_of_sending(visitor: Visitor) -> None:
    page = visitor.open(STEPS_PAGE)
    page.get_by_label("Tilausnumero").fill("123456")
    page.get_by_label("Tilausnumero").press("Enter")
    expect(page.locator("#intake-step-2-title")).to_be_focused()
    assert "/forms/steps" in page.url and "submissions" not in page.url


def test_an_error_page_opens_on_the_first_step_with_an_error(visitor: Visitor) -> None:
    page = visitor.open(STEPS_PAGE)
    page.get_by_label("Tilausnumero").fill("123456")
    # Sent whole, bypassing Next (as a page without JavaScript would).
    with page.expect_navigation():
        page.evaluate("() => document.querySelector('form.intake-form').submit()")
    expect(page.locator("[data-intake-summary]")).to_be_visible()
    assert steps_shown(page) == ["intake-step-2"]
    # The summary's link to a later step opens it.
    page.locator("[data-intake-summary] a[href='#field-email']").click()
    assert steps_shown(page) == ["intake-step-3"]
    expect(page.get_by_label("Sähköposti")).to_be_focused()


def test_without_javascript_every_step_shows_and_the_form_is_sent_whole(
    visitor: Visitor,
) -> None:
    page = visitor.open(STEPS_PAGE, javascript=False)
    assert steps_shown(page) == ["intake-step-1", "intake-step-2", "intake-step-3"]
    expect(page.get_by_role("heading", name="Vaihe 3/3")).to_be_visible()
    expect(button(page, "Seuraava")).to_have_count(0)
    page.get_by_label("Tilausnumero").fill("123")
    button(page, "Lähetä").click()
    expect_error(page, "order", "Kirjoita tilausnumeron 6 numeroa.")


def test_axe_finds_nothing_serious_in_steps(visitor: Visitor) -> None:
    page = visitor.open(STEPS_PAGE)
    page.get_by_label("Tilausnumero").fill("1")
    button(page, "Seuraava").click()
    expect(page.locator("#field-order-error")).to_be_visible()
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        assert not violations, describe_violations(violations)
    page.get_by_label("Tilausnumero").fill("123456")
    button(page, "Seuraava").click()
    expect(page.locator("#intake-step-2-title")).to_be_focused()
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)


# -- the form's own thanks page and theme ---------------------------------------------------


def test_the_browser_follows_to_the_forms_own_thanks_page(visitor: Visitor) -> None:
    """The page's CSP lets the form go on to thanks.url (form-action)."""
    page = visitor.open(STEPS_PAGE)
    arrived: list[str] = []

    def thanks(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Kiitos</title>")

    page.context.route("https://shop.example/**", thanks)
    page.get_by_label("Tilausnumero").fill("123456")
    button(page, "Seuraava").click()
    page.get_by_label("Rikki", exact=True).check()
    button(page, "Seuraava").click()
    page.get_by_label("Sähköposti").fill("matti@example.com")
    button(page, "Lähetä").click()
    expect(page).to_have_title("Kiitos")
    assert len(arrived) == 1
    assert re.fullmatch(r"https://shop\.example/kiitos\?reference=STP-[0-9A-Z]{6}", arrived[0])


def test_the_theme_colours_the_page(visitor: Visitor) -> None:
    page = visitor.open(STEPS_PAGE)
    colour = page.evaluate(
        "() => getComputedStyle(document.querySelector('.intake-step__next')).backgroundColor"
    )
    assert colour == "rgb(122, 31, 162)"  # #7a1fa2


def test_pressing_send_as_a_question_is_left_sends_the_form(visitor: Visitor) -> None:
    """Pressing Send leaves the question being answered, whose check starts
    then: its error must not appear while the button is held, or it pushes
    the button from under the pointer and the release lands elsewhere, so
    the press sends nothing. The server's error page answers instead."""
    page = visitor.open()
    page.get_by_label("Rekisterinumero").fill("abc123")
    page.get_by_label("Sähköposti").fill("matti@")
    button = page.get_by_role("button", name="Lähetä")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/validate")):
        page.mouse.down()
    # The page has had the answer in its hands; a shown error would move the button now.
    page.wait_for_timeout(300)
    page.mouse.up()
    expect(page.locator("[data-intake-summary]")).to_be_visible()
    expect_error(page, "email", server_message({"email": "matti@"}, "email"))
