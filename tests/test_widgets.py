"""The embeddable widgets in a real browser: Chromium, driven by Playwright.

The service runs on ``localhost`` and the page that embeds a widget on
``127.0.0.1``: another origin, allowed by the ``allowed_origins`` setting, so
every request the widgets make crosses origins as on a customer's site. The
host page has a strict Content-Security-Policy and unkind CSS of its own (see
``widget_helpers``). The widgets are the served files, minified and gzipped.

What is checked: a whole booking through the chat in Finnish (a refused
plate, a question that does not apply, going back, a reload in the middle),
topic picking, the switch to the full form, the inline form, the keyboard,
axe-core, a 320 px wide phone, the size of the files, and the widget's
condition and validation rules against the server's on tables of cases.
Screenshots go to ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser import (
    DESKTOP,
    NARROW,
    PHONE,
    LiveServer,
    axe_violations,
    describe_violations,
    require_chromium,
    screenshots,
    stored,
)
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    FilePayload,
    Locator,
    Page,
    Request,
    Response,
    Route,
    ViewportSize,
    expect,
)
from starlette.testclient import TestClient
from test_render import (
    CONDITION_CASES,
    case_condition,
    condition_from_json,
    server_answers,
    server_evaluate,
)
from web_helpers import FORMS, REFERENCE, settings_for
from widget_helpers import host_app

from intakeforms.delivery import deliver_in_process
from intakeforms.language.conditions import evaluate
from intakeforms.validate import check_answers
from intakeforms.web import create_app
from intakeforms.web.widget_texts import widget_texts
from intakeforms.web.widgets import widget_asset

require_chromium()

ROOT = Path(__file__).resolve().parent.parent

CAR = next(form for form in FORMS if form.id == "car-service")
EVERY = next(form for form in FORMS if form.id == "every-type")
FI = widget_texts("fi")
#: What a widget says when it cannot reach the service (built in: no texts then).
OFF_EN = "The contact form is not available right now."
OFF_FI = "Yhteydenottolomake ei ole juuri nyt käytettävissä."
OFF_SV = "Kontaktformuläret är inte tillgängligt just nu."
#: The goal for widget.js and widget.css together, minified and gzipped
#: (benchmarks/bench_widgets.py's). widget-faq.js comes only when needed.
SIZE_GOAL = 12_000


def server_error(form_id: str, answers: Mapping[str, Any], name: str) -> tuple[str, str] | None:
    """(code, Finnish message) of the server's error for ``name``, if any."""
    form = next(form for form in FORMS if form.id == form_id)
    _, errors = check_answers(form, dict(answers), locale="fi")
    found = [(e.code, e.message) for e in errors if e.field == name]
    return found[0] if found else None


# -- the servers, the browser and the pages -------------------------------------


@dataclass(frozen=True)
class Site:
    host: str
    service: str
    database: Path
    mail: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The service (with its delivery worker writing .eml files) and a host
    site on another origin that the service allows."""
    folder = tmp_path_factory.mktemp("widgets")
    where: dict[str, str] = {}
    host = LiveServer(host_app(lambda: where["service"]))
    settings = settings_for(folder, allowed_origins=(host.url,), retry_base_seconds=0.1)
    service = LiveServer(create_app(FORMS, settings, background=[deliver_in_process]))
    # Another host name for the same loopback server: another origin.
    where["service"] = service.url.replace("127.0.0.1", "localhost")
    service.start()
    try:
        host.start()
        try:
            yield Site(host.url, where["service"], folder / "intake.db", folder / "mail")
        finally:
            host.stop()
    finally:
        service.stop()


@dataclass
class Guest:
    """Opens host pages, each in a fresh browser context, and notes every
    script error, CSP refusal or failed request."""

    browser: Browser
    site: Site
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(
        self,
        tag: str,
        *,
        host: str | None = None,
        viewport: ViewportSize = PHONE,
        reduced_motion: bool = False,
        **attributes: str,
    ) -> Page:
        context = self.browser.new_context(
            viewport=viewport,
            locale="fi-FI",
            reduced_motion="reduce" if reduced_motion else "no-preference",
        )
        self.contexts.append(context)
        context.set_default_timeout(5_000)
        page = context.new_page()
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        query = "&".join(f"{k}={v}" for k, v in {"tag": tag, **attributes}.items())
        response = page.goto(f"{host or self.site.host}/page?{query}")
        assert response is not None and response.ok
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and not message.text.startswith(
            "Failed to load resource"
        ):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response: Response) -> None:
        # A refused answer is a 422 by design; the host site has no icon.
        expected = response.status == 422 or response.url.endswith("/favicon.ico")
        if response.status >= 400 and not expected:
            self.problems.append(f"{response.status} for {response.url}")

    def audit(self, page: Page) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations. axe sets inline styles
        while it measures, which the host page's CSP refuses: that noise is
        axe's, not the widget's."""
        before = len(self.problems)
        violations = axe_violations(page)
        self.problems[before:] = [
            p for p in self.problems[before:] if "Applying inline style violates" not in p
        ]
        return violations

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def guest(browser: Browser, site: Site) -> Iterator[Guest]:
    visiting = Guest(browser, site)
    try:
        yield visiting
    finally:
        visiting.close()
    assert visiting.problems == [], "the pages had script errors or failed loads"


# -- what a customer does in the chat ------------------------------------------------


def open_chat(page: Page, name: str = "Huoltovaraus", launcher: str = FI["open"]) -> Locator:
    """Open the chat with its launcher; the dialog."""
    page.get_by_role("button", name=launcher).click()
    dialog = page.get_by_role("dialog", name=name)
    expect(dialog).to_be_visible()
    return dialog


def log_of(dialog: Locator) -> Locator:
    return dialog.get_by_role("log")


def asked(dialog: Locator, label: str) -> Locator:
    """The control of the question on screen, once ``label`` is asked."""
    expect(log_of(dialog).locator(".b:not(.bad)").last).to_contain_text(label)
    control = dialog.locator(".cmp").get_by_label(label, exact=True).first
    # Quick replies: the focus is on the first of them.
    group = control.get_attribute("role") == "group"
    expect(control.get_by_role("button").first if group else control).to_be_focused()
    return control


def answer(dialog: Locator, label: str, text: str) -> None:
    asked(dialog, label).fill(text)
    dialog.page.keyboard.press("Enter")


def reply(dialog: Locator, label: str, choice: str) -> None:
    """Picks ``choice``; a consent is a box to tick (``FI["yes"]``) and Next."""
    control = asked(dialog, label)
    if control.get_attribute("type") == "checkbox":
        control.set_checked(choice == FI["yes"])
        dialog.locator(".cmp").get_by_role("button", name=FI["next"]).click()
        return
    dialog.locator(".cmp").get_by_role("button", name=choice, exact=True).click()


def expect_question(dialog: Locator, label: str, number: int, total: int) -> None:
    asked(dialog, label)
    progress = FI["progress"].format(n=number, total=total)
    expect(dialog.locator(".prog")).to_have_text(progress)


def session(page: Page) -> dict[str, Any]:
    """The widget's state kept in sessionStorage, by key."""
    kept: dict[str, Any] = page.evaluate(
        "() => Object.fromEntries(Object.entries(sessionStorage)"
        ".filter(([k]) => k.startsWith('intake|')).map(([k, v]) => [k, JSON.parse(v)]))"
    )
    return kept


def events_of(page: Page) -> list[dict[str, str]]:
    events: list[dict[str, str]] = page.evaluate("() => window.submitted")
    return events


def mail_for(site: Site, reference: str) -> email.message.EmailMessage:
    """The agent email the delivery worker writes for ``reference``."""
    path = site.mail / f"{reference}.0.eml"
    deadline = time.monotonic() + 15
    while not path.exists():
        assert time.monotonic() < deadline, f"no agent email for {reference}"
        time.sleep(0.1)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width


# -- 1. the chat, start to end, in Finnish ------------------------------------------------


def test_chat_booking_in_finnish(guest: Guest, site: Site) -> None:
    # The element's lang wins over the page's.
    page = guest.open("intake-chat", form="car-service", lang="fi", html_lang="en")
    launcher = page.get_by_role("button", name=FI["open"])
    expect(launcher).to_have_css("position", "fixed")
    dialog = open_chat(page)
    expect(dialog).to_have_attribute("aria-modal", "true")
    log = log_of(dialog)
    expect(log).to_contain_text(CAR.spec("fi")["description"])
    # This service cannot mail a link (no public address): no "continue later".
    expect(dialog.get_by_role("button", name=FI["person"])).to_be_visible()
    expect(dialog.get_by_role("button", name=FI["later"])).to_be_hidden()

    # Nine questions apply before "what do you need" is answered.
    expect_question(dialog, "Rekisterinumero", 1, 9)
    answer(dialog, "Rekisterinumero", "12")
    refused = server_error("car-service", {"plate": "12"}, "plate")
    assert refused is not None and refused[0] == "invalid_plate"
    error = log.locator(".bad")
    expect(error).to_have_text(refused[1])
    plate = asked(dialog, "Rekisterinumero")
    expect(plate).to_have_attribute("aria-invalid", "true")
    expect(plate).to_have_value("12")
    answer(dialog, "Rekisterinumero", "abc123")
    expect(error).to_have_count(0)

    answer(dialog, "Merkki ja malli", "Toyota Corolla 2018")
    expect(dialog.locator(".cmp")).to_contain_text("km")
    answer(dialog, "Mittarilukema", "184 000")
    reply(dialog, "Mitä tarvitset?", "Määräaikaishuolto")
    # A service needs no description of a fault: that question is never asked.
    expect_question(dialog, "Toivottu päivä", 5, 9)
    expect(log).not_to_contain_text("Kuvaile vika")
    date = asked(dialog, "Toivottu päivä")
    expect(date).to_have_attribute("type", "date")
    expect(date).to_have_attribute("min", CAR.spec("fi")["fields"][5]["min"])
    dialog.get_by_role("button", name=FI["skip"]).click()
    answer(dialog, "Nimi", "Matti Meikäläinen")
    expect_question(dialog, "Sähköposti", 7, 9)

    # A reload in the middle: the conversation goes on where it was, with the
    # token and the idempotency key first given.
    (before,) = session(page).values()
    page.reload()
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    expect(dialog).to_be_visible()
    log = log_of(dialog)
    expect_question(dialog, "Sähköposti", 7, 9)
    expect(log).to_contain_text("Matti Meikäläinen")
    (after,) = session(page).values()
    assert (after["t"], after["k"]) == (before["t"], before["k"])

    # Back one question: the answer is there to change.
    dialog.locator(".cmp").get_by_role("button", name=FI["back"]).click()
    expect(asked(dialog, "Nimi")).to_have_value("Matti Meikäläinen")
    page.keyboard.press("Enter")
    asked(dialog, "Sähköposti")

    # Changing an earlier answer asks what now applies, and keeps the rest.
    log.get_by_role("button", name=f"{FI['edit']}: Mitä tarvitset?").click()
    reply(dialog, "Mitä tarvitset?", "Korjaus")
    expect_question(dialog, "Kuvaile vika", 5, 10)
    answer_text = "Etupäästä kuuluu kolinaa."
    asked(dialog, "Kuvaile vika").fill(answer_text)
    dialog.get_by_role("button", name=FI["next"]).click()
    expect_question(dialog, "Sähköposti", 8, 10)
    answer(dialog, "Sähköposti", "matti@example.com")
    answer(dialog, "Puhelin", "040 123 4567")
    reply(dialog, "Hyväksyn, että tietojani käytetään huollon varaamiseen.", FI["yes"])

    # The summary, then the reference.
    summary = log.locator(".b").last
    expect(summary).to_contain_text(FI["review"])
    # As the service keeps them (normalised), one per line.
    for text in ("ABC-123", "184 000 km", "Korjaus", answer_text, FI["skipped"], FI["yes"]):
        expect(summary).to_contain_text(text)
    expect(summary.get_by_role("button", name=f"{FI['edit']}: Nimi")).to_be_visible()
    send = dialog.locator(".cmp").get_by_role("button", name=FI["send"])
    expect(send).to_be_focused()
    send.click()
    shown = dialog.locator(".ref")
    expect(shown).to_have_text(REFERENCE)
    reference = shown.inner_text()
    expect(log).to_contain_text(FI["received"])
    assert events_of(page) == [{"reference": reference, "form": "car-service"}]
    assert session(page) == {}, "a sent conversation is forgotten"

    row = stored(site.database, reference)
    assert row["spam"] == 0, "the widget's post was taken for spam"
    assert row["locale"] == "fi"
    assert row["data"] == {
        "plate": "ABC-123",
        "model": "Toyota Corolla 2018",
        "mileage": 184000,
        "service": "repair",
        "symptoms": answer_text,
        "name": "Matti Meikäläinen",
        "email": "matti@example.com",
        "phone": "+358401234567",
        "privacy": True,
    }
    mail = mail_for(site, reference)
    assert mail["X-Intake-Reference"] == reference
    assert f"[{reference}]" in str(mail["Subject"])
    assert mail["Reply-To"].addresses[0].addr_spec == "matti@example.com"

    # Closing returns to the launcher; the next conversation is a new one.
    dialog.get_by_role("button", name=FI["close"]).last.click()
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    open_chat(page)
    expect_question(dialog, "Rekisterinumero", 1, 9)
    expect(log_of(dialog)).not_to_contain_text(reference)


#: The smallest PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_chat_with_files_and_several_answers(guest: Guest, site: Site) -> None:
    """A form with a file question is sent as multipart; several picks are
    toggled and confirmed; yes/no opens a question that depends on it."""
    page = guest.open("intake-chat", form="product-return", lang="fi")
    dialog = open_chat(page, "Tuotteen palautus")
    answer(dialog, "Tilausnumero", "W-482913")
    answer(dialog, "Tuote", "Sauvasekoitin BX-200")
    answer(dialog, "Ostopäivä", "2025-03-14")
    reply(dialog, "Palautuksen syy", "Tuote on viallinen")
    asked(dialog, "Kuvaile vika").fill("Moottori pysähtyy.")
    dialog.get_by_role("button", name=FI["next"]).click()

    files = asked(dialog, "Valokuvat")
    expect(files).to_have_attribute("accept", "image/jpeg,image/png")
    files.set_input_files(
        FilePayload(name="kuitti.pdf", mimeType="application/pdf", buffer=b"%PDF")
    )
    dialog.get_by_role("button", name=FI["next"]).click()
    wrong_type = server_error(
        "product-return",
        {"photos": [{"name": "kuitti.pdf", "type": "application/pdf", "size": 4}]},
        "photos",
    )
    assert wrong_type is not None
    expect(log_of(dialog).locator(".bad")).to_have_text(wrong_type[1])
    asked(dialog, "Valokuvat").set_input_files(
        FilePayload(name="sekoitin.png", mimeType="image/png", buffer=PIXEL)
    )
    dialog.get_by_role("button", name=FI["next"]).click()

    picks = asked(dialog, "Mitä paketissa on mukana?")
    for choice in ("Tuote", "Kuitti", "Lisävarusteet", "Lisävarusteet"):
        picks.get_by_role("button", name=choice, exact=True).click()
    expect(picks.get_by_role("button", name="Kuitti")).to_have_attribute("aria-pressed", "true")
    expect(picks.get_by_role("button", name="Lisävarusteet")).to_have_attribute(
        "aria-pressed", "false"
    )
    dialog.get_by_role("button", name=FI["confirm"]).click()
    reply(dialog, "Mitä toivot?", "Uusi tuote tilalle")
    reply(dialog, "Ostin tuotteen yrityksen nimissä", FI["yes"])
    answer(dialog, "Y-tunnus", "1572860-0")
    answer(dialog, "Nimi", "Laura Nieminen")
    answer(dialog, "Sähköposti", "laura.nieminen@example.com")
    summary = log_of(dialog).locator(".b").last
    expect(summary).to_contain_text("sekoitin.png")
    # Several picks, one per line.
    expect(summary.locator("dd > span", has_text="Kuitti")).to_have_js_property(
        "innerText", "Tuote\nKuitti"
    )
    dialog.get_by_role("button", name=FI["send"]).click()
    shown = dialog.locator(".ref")
    expect(shown).to_have_text(re.compile(r"^RET-[0-9A-Z]{6}$"))
    row = stored(site.database, shown.inner_text())
    assert row["spam"] == 0
    assert row["data"]["photos"] == [
        {"name": "sekoitin.png", "type": "image/png", "size": len(PIXEL)}
    ]
    assert row["data"]["included"] == ["product", "receipt"]
    assert row["data"]["is_company"] is True
    assert row["data"]["purchase_date"] == "2025-03-14"


def test_a_send_retried_after_a_lost_answer_makes_one_submission(guest: Guest) -> None:
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    for label, text in (
        ("Rekisterinumero", "abc123"),
        ("Merkki ja malli", "Saab 9-3"),
        ("Mittarilukema", "99 000"),
    ):
        answer(dialog, label, text)
    reply(dialog, "Mitä tarvitset?", "Renkaanvaihto")
    dialog.get_by_role("button", name=FI["skip"]).click()
    answer(dialog, "Nimi", "Maija Meikäläinen")
    answer(dialog, "Sähköposti", "maija@example.com")
    dialog.get_by_role("button", name=FI["skip"]).click()
    reply(dialog, "Hyväksyn, että tietojani käytetään huollon varaamiseen.", FI["yes"])

    # The service stores the submission, but its answer never arrives.
    lost: dict[str, Any] = {}

    def lose_the_answer(route: Route) -> None:
        lost.update(route.fetch().json())
        route.abort()

    page.route("**/submissions?*", lose_the_answer, times=1)
    send = dialog.locator(".cmp").get_by_role("button", name=FI["send"])
    send.click()
    expect(log_of(dialog).locator(".bad")).to_have_text(FI["network"])
    assert REFERENCE.match(lost["reference"])
    send.click()
    expect(dialog.locator(".ref")).to_have_text(lost["reference"])
    assert events_of(page) == [{"reference": lost["reference"], "form": "car-service"}]


def test_sensitive_answers_are_not_kept(guest: Guest) -> None:
    page = guest.open("intake-form", form="every-type", lang="fi")
    form = page.locator("intake-form form")
    form.locator("#f-name").fill("Matti")
    form.get_by_label("Id", exact=True).fill("131052-308T")
    expect(form.get_by_label("Id", exact=True)).to_have_value("131052-308T")
    (kept,) = session(page).values()
    assert kept["a"] == {"name": "Matti"}


def test_the_element_content_stands_in_when_the_service_is_out_of_reach(
    guest: Guest, site: Site
) -> None:
    spec = f"{site.service}/elsewhere/forms/car-service/spec.json?lang=en"
    for tag in ("intake-chat", "intake-form"):
        page = guest.open(tag, form="car-service", endpoint=f"{site.service}/elsewhere")
        expect(page.get_by_role("link", name="Book a service")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text(OFF_EN)
        expect(page.get_by_role("button")).to_have_count(0)
    said = f"console error: intakeforms: {spec} answered 404; check the endpoint attribute"
    assert guest.problems == [f"404 for {spec}", said] * 2
    guest.problems.clear()


def test_a_site_that_is_not_allowed_sees_not_available(guest: Guest, site: Site) -> None:
    # A host page on an origin the service does not allow.
    stranger = LiveServer(host_app(lambda: site.service))
    origin = stranger.start()
    try:
        for tag, lang, text in (("intake-chat", "fi-FI", OFF_FI), ("intake-form", "sv", OFF_SV)):
            page = guest.open(tag, host=origin, form="car-service", html_lang=lang)
            # Visible where the launcher would be, and read out by screen readers.
            note = page.get_by_role("status")
            expect(note).to_have_text(text)
            if tag == "intake-chat":
                expect(note).to_have_css("position", "fixed")
            expect(page.get_by_role("link", name="Book a service")).to_be_visible()
            expect(page.get_by_role("button")).to_have_count(0)
            screenshots(page, f"{tag}-not-available")
    finally:
        stranger.stop()
    told = [p for p in guest.problems if p.startswith("console error: intakeforms:")]
    assert len(told) == 2
    for message in told:
        assert f"add {origin} to INTAKE_ALLOWED_ORIGINS" in message
    # Everything else is the browser's own report of the refused fetch.
    others = [p for p in guest.problems if p not in told]
    assert others and all("CORS" in p or "403 for" in p for p in others), others
    guest.problems.clear()


# -- 2. picking the topic -----------------------------------------------------------


def test_chat_without_a_form_asks_the_topic(guest: Guest) -> None:
    page = guest.open("intake-chat", html_lang="fi-FI")
    dialog = open_chat(page, FI["open"])
    # The customer's own words are asked first, the topics listed below them
    # (test_web_browser_faq.py follows the words).
    expect(log_of(dialog)).to_contain_text(FI["words"])
    expect(dialog.locator(".cmp").get_by_label(FI["words"])).to_be_focused()
    topics = dialog.locator(".cmp").get_by_role("group", name=FI["other"]).get_by_role("button")
    expect(topics).to_have_text([form.title("fi") for form in FORMS])

    topics.filter(has_text="Huoltovaraus").click()
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    expect(dialog).to_be_visible()
    expect(log_of(dialog)).to_contain_text("Huoltovaraus")
    expect_question(dialog, "Rekisterinumero", 1, 9)
    answer(dialog, "Rekisterinumero", "abc123")
    asked(dialog, "Merkki ja malli")

    # Another topic starts over.
    log_of(dialog).get_by_role("button", name=f"{FI['edit']}: {FI['topic']}").click()
    dialog = page.get_by_role("dialog", name=FI["open"])
    expect(log_of(dialog)).not_to_contain_text("Rekisterinumero")
    dialog.locator(".cmp").get_by_role("button", name="Kaikki kenttätyypit").click()
    dialog = page.get_by_role("dialog", name="Kaikki kenttätyypit")
    expect(dialog).to_be_visible()
    asked(dialog, "Topic")


# -- 3. the switch to the full form ---------------------------------------------------


def test_full_form_switch_keeps_the_answers(guest: Guest, site: Site) -> None:
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    answer(dialog, "Rekisterinumero", "abc123")
    answer(dialog, "Merkki ja malli", "Saab 9-3")
    answer(dialog, "Mittarilukema", "120 000")
    reply(dialog, "Mitä tarvitset?", "Korjaus")
    asked(dialog, "Kuvaile vika").fill("Kolisee.")
    dialog.get_by_role("button", name=FI["next"]).click()
    asked(dialog, "Toivottu päivä")

    dialog.get_by_role("button", name=FI["full"]).click()
    form = dialog.locator("form")
    expect(form.get_by_label("Rekisterinumero")).to_have_value("abc123")
    expect(form.get_by_label("Merkki ja malli")).to_have_value("Saab 9-3")
    expect(form.get_by_label("Mittarilukema")).to_have_value("120 000")
    expect(form.get_by_label("Korjaus", exact=True)).to_be_checked()
    expect(form.get_by_label("Kuvaile vika")).to_have_value("Kolisee.")
    expect(form.get_by_label("Rekisterinumero")).to_be_focused()
    expect(dialog.locator(".prog")).to_be_hidden()

    # The mode is kept too, through a reload.
    page.reload()
    form = page.get_by_role("dialog", name="Huoltovaraus").locator("form")
    expect(form.get_by_label("Kuvaile vika")).to_have_value("Kolisee.")
    form.get_by_label("Nimi").fill("Maija Meikäläinen")
    form.get_by_label("Sähköposti").fill("maija@example.com")
    form.get_by_label("Hyväksyn").check()
    form.get_by_role("button", name=FI["send"]).click()
    shown = page.get_by_role("dialog").locator(".ref")
    expect(shown).to_have_text(REFERENCE)
    reference = shown.inner_text()
    assert events_of(page) == [{"reference": reference, "form": "car-service"}]
    row = stored(site.database, reference)
    assert row["data"]["plate"] == "ABC-123" and row["data"]["mileage"] == 120000
    assert row["data"]["symptoms"] == "Kolisee." and row["spam"] == 0


# -- 4. the inline form -------------------------------------------------------------


def test_inline_form_booking(guest: Guest, site: Site) -> None:
    page = guest.open("intake-form", form="car-service", lang="fi")
    tokens: list[str] = []

    def note_token(request: Request) -> None:
        if "/submissions" in request.url:
            tokens.append(json.loads(request.post_data or "{}").get("_token"))

    page.on("request", note_token)
    form = page.locator("intake-form form")
    expect(page.locator("intake-form").get_by_role("heading", name="Huoltovaraus")).to_be_visible()
    symptoms = form.get_by_label("Kuvaile vika")

    # A question that applies only to a repair appears and goes with it.
    expect(symptoms).to_be_hidden()
    form.get_by_label("Korjaus", exact=True).check()
    expect(symptoms).to_be_visible()
    form.get_by_label("Määräaikaishuolto", exact=True).check()
    expect(symptoms).to_be_hidden()
    expect(symptoms).to_be_disabled()
    form.get_by_label("Korjaus", exact=True).check()

    # Errors next to each field: the browser's own and the server's.
    mileage = form.get_by_label("Mittarilukema")
    mileage.fill("paljon")
    mileage.press("Tab")
    expect(mileage).to_have_attribute("aria-invalid", "true")
    not_a_number = server_error("car-service", {"mileage": "paljon"}, "mileage")
    assert not_a_number == ("not_integer", FI["e_not_integer"])
    expect(form.locator("#f-mileage-e")).to_have_text(not_a_number[1])
    plate = form.get_by_label("Rekisterinumero")
    plate.fill("12")
    plate.press("Tab")
    refused = server_error("car-service", {"plate": "12"}, "plate")
    assert refused is not None
    expect(form.locator("#f-plate-e")).to_have_text(refused[1])
    plate.fill("abc123")
    plate.press("Tab")
    expect(form.locator("#f-plate-e")).to_be_hidden()
    expect(plate).not_to_have_attribute("aria-invalid", "true")

    # Sending with problems: a summary that links to each question.
    form.get_by_role("button", name=FI["send"]).click()
    summary = form.locator(".sum")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text(FI["problem"])
    links = summary.get_by_role("link")
    expect(links).to_have_text(
        [
            FI["e_required"].format(label="Merkki ja malli"),
            f"Mittarilukema – {FI['e_not_integer']}",
            FI["e_required"].format(label="Kuvaile vika"),
            FI["e_required"].format(label="Nimi"),
            FI["e_required"].format(label="Sähköposti"),
            f"Hyväksyn, että tietojani käytetään huollon varaamiseen. – {FI['e_consent_required']}",
        ]
    )
    links.filter(has_text="Nimi").click()
    expect(form.get_by_label("Nimi")).to_be_focused()

    # What only the server can tell comes back from it (422), by its field.
    form.get_by_label("Merkki ja malli").fill("Saab 9-3")
    mileage.fill("120 000")
    symptoms.fill("Kolisee.")
    form.get_by_label("Nimi").fill("Maija Meikäläinen")
    form.get_by_label("Sähköposti").fill("maija@example.com")
    form.get_by_label("Hyväksyn").check()
    phone = form.get_by_label("Puhelin")
    phone.fill("123456")
    unknown = server_error("car-service", {"phone": "123456"}, "phone")
    assert unknown is not None
    form.get_by_role("button", name=FI["send"]).click()
    expect(summary.get_by_role("link")).to_have_text([f"Puhelin – {unknown[1]}"])
    expect(form.locator("#f-phone-e")).to_have_text(unknown[1])

    phone.fill("040 123 4567")
    form.get_by_role("button", name=FI["send"]).click()
    shown = page.locator("intake-form .ref")
    expect(shown).to_have_text(REFERENCE)
    expect(page.locator("intake-form .done")).to_be_focused()
    reference = shown.inner_text()
    assert events_of(page) == [{"reference": reference, "form": "car-service"}]
    row = stored(site.database, reference)
    assert row["spam"] == 0
    assert row["data"]["plate"] == "ABC-123" and row["data"]["phone"] == "+358401234567"
    assert row["data"]["service"] == "repair" and row["data"]["privacy"] is True
    # The send after the 422 carried the token the form was first given: the
    # service's time-trap counts from there, not from the correction.
    assert len(tokens) == 2 and tokens[0] == tokens[1] and tokens[0]


# -- 5. the keyboard ------------------------------------------------------------------


def test_keyboard_only(guest: Guest) -> None:
    page = guest.open("intake-chat", form="car-service", lang="fi", viewport=DESKTOP)
    launcher = page.get_by_role("button", name=FI["open"])
    expect(launcher).to_be_visible()
    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    log = log_of(dialog)
    expect(log).to_have_attribute("role", "log")

    asked(dialog, "Rekisterinumero")
    page.keyboard.type("abc123")
    page.keyboard.press("Enter")
    asked(dialog, "Merkki ja malli")
    page.keyboard.type("Saab 9-3")
    page.keyboard.press("Enter")
    asked(dialog, "Mittarilukema")
    page.keyboard.type("99x")
    page.keyboard.press("Enter")
    # The error is said in the log, which screen readers follow.
    expect(log.locator(".bad")).to_have_text(FI["e_not_integer"])
    expect(asked(dialog, "Mittarilukema")).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Control+A")
    page.keyboard.type("99000")
    page.keyboard.press("Enter")

    # Quick replies: Tab to one, Enter picks it.
    choices = dialog.locator(".cmp").get_by_role("group", name="Mitä tarvitset?")
    expect(choices.get_by_role("button").first).to_be_focused()
    page.keyboard.press("Tab")
    expect(choices.get_by_role("button", name="Korjaus")).to_be_focused()
    page.keyboard.press("Enter")
    asked(dialog, "Kuvaile vika")
    page.keyboard.type("Kolisee.")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name=FI["next"])).to_be_focused()
    page.keyboard.press("Enter")
    asked(dialog, "Toivottu päivä")
    expect(log.locator(".b").last).to_have_text("Toivottu päivä")

    # Escape closes, and the focus is back on the launcher; Enter reopens
    # where the customer was.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    asked(dialog, "Toivottu päivä")


# -- 6. axe-core, screenshots and a narrow phone ---------------------------------------


def _chat_question(guest: Guest) -> Page:
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    answer(dialog, "Rekisterinumero", "abc123")
    answer(dialog, "Merkki ja malli", "Saab 9-3")
    answer(dialog, "Mittarilukema", "120 000")
    asked(dialog, "Mitä tarvitset?")
    return page


def _chat_error(guest: Guest) -> Page:
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    answer(dialog, "Rekisterinumero", "12")
    expect(log_of(dialog).locator(".bad")).to_be_visible()
    return page


def _form_errors(guest: Guest) -> Page:
    page = guest.open("intake-form", form="car-service", lang="fi")
    form = page.locator("intake-form form")
    form.get_by_label("Korjaus", exact=True).check()
    form.get_by_label("Mittarilukema").fill("paljon")
    form.get_by_role("button", name=FI["send"]).click()
    expect(form.locator(".sum")).to_be_focused()
    return page


def _topics(guest: Guest) -> Page:
    page = guest.open("intake-chat", html_lang="sv")
    open_chat(page, "Kontakta oss", "Kontakta oss")
    return page


def _form(guest: Guest) -> Page:
    page = guest.open("intake-form", form="car-service", lang="fi")
    expect(page.locator("intake-form form")).to_be_visible()
    return page


SCENARIOS = {
    "widget-chat": _chat_question,
    "widget-form": _form,
    "widget-chat-error": _chat_error,
    "widget-chat-topics": _topics,
    "widget-form-errors": _form_errors,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_axe_finds_nothing_serious(guest: Guest, scenario: str) -> None:
    page = SCENARIOS[scenario](guest)
    screenshots(page, scenario)
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        violations = guest.audit(page)
        assert not violations, (
            f"axe-core on {scenario} at {size['width']} px:\n{describe_violations(violations)}"
        )


def test_narrow_phone(guest: Guest) -> None:
    page = guest.open("intake-chat", form="car-service", lang="fi", viewport=NARROW)
    assert scroll_width(page) <= NARROW["width"]
    dialog = open_chat(page)
    box = dialog.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"]) == (0, 0, NARROW["width"]), "not full-screen"
    answer(dialog, "Rekisterinumero", "12")
    expect(log_of(dialog).locator(".bad")).to_be_visible()
    assert scroll_width(page) <= NARROW["width"]
    for button in dialog.get_by_role("button").all():
        if button.is_visible():
            size = button.bounding_box()
            assert size is not None and size["x"] + size["width"] <= NARROW["width"]

    page = guest.open("intake-form", form="car-service", lang="fi", viewport=NARROW)
    form = page.locator("intake-form form")
    form.get_by_label("Korjaus", exact=True).check()
    form.get_by_role("button", name=FI["send"]).click()
    expect(form.locator(".sum")).to_be_focused()
    assert scroll_width(page) <= NARROW["width"], "the form scrolls sideways"


def test_reduced_motion(guest: Guest) -> None:
    animation = "el => getComputedStyle(el).animationName"
    for reduced, expected in ((False, "intake-in"), (True, "none")):
        page = guest.open("intake-chat", form="car-service", lang="fi", reduced_motion=reduced)
        bubble = log_of(open_chat(page)).locator(".b").first
        assert bubble.evaluate(animation) == expected


# -- 7. the files as served -----------------------------------------------------------------


def test_widget_files_are_small() -> None:
    js, css = widget_asset("widget.js"), widget_asset("widget.css")
    assert len(js.gzipped) + len(css.gzipped) <= SIZE_GOAL, (len(js.gzipped), len(css.gzipped))
    # The stylesheet and the FAQ's module are asked for by their content
    # hash, so they may be cached for good.
    faq = widget_asset("widget-faq.js")
    for name, asset in (("widget.css", css), ("widget-faq.js", faq)):
        assert f"{name}?v={asset.etag.strip(chr(34))}".encode() in js.body


def test_the_faq_module_is_served_like_the_stylesheet(tmp_path: Path) -> None:
    """Minified, gzipped, cached for good under its hash, and readable by an
    allowed site's widget (a module is fetched with CORS)."""
    settings = settings_for(tmp_path, allowed_origins=("https://shop.example",))
    faq = widget_asset("widget-faq.js")
    with TestClient(create_app(FORMS, settings)) as client:
        version = faq.etag.strip('"')
        answer = client.get(
            f"/widget-faq.js?v={version}",
            headers={"accept-encoding": "gzip", "origin": "https://shop.example"},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["access-control-allow-origin"] == "https://shop.example"
    assert answer.content == faq.body
    assert len(faq.body) < len((ROOT / "widgets" / "widget-faq.js").read_bytes())


def loaded(page: Page) -> list[str]:
    """The URLs the page has fetched so far."""
    names: list[str] = page.evaluate(
        "() => performance.getEntriesByType('resource').map((entry) => entry.name)"
    )
    return names


def test_the_faq_part_is_downloaded_only_when_needed(guest: Guest) -> None:
    # This service has no FAQ: a chat tied to a form never fetches it.
    page = guest.open("intake-chat", form="car-service", lang="fi")
    asked(open_chat(page), "Rekisterinumero")
    assert not [url for url in loaded(page) if "widget-faq.js" in url]
    # A chat that asks the topic starts with the customer's own words: it does.
    topics = guest.open("intake-chat", lang="fi")
    expect(open_chat(topics, FI["open"]).get_by_role("log")).to_contain_text(FI["words"])
    assert [url for url in loaded(topics) if "/widget-faq.js?v=" in url]


# -- 8. the widget's rules against the server's ----------------------------------------------


def _rules_page(guest: Guest) -> Page:
    page = guest.open("intake-form", form="every-type", lang="fi")
    expect(page.locator("intake-form form")).to_be_visible()
    return page


def test_conditions_like_the_server(guest: Guest) -> None:
    """evaluate() and parseAnswer() on CONDITION_CASES, and asked() on the
    questions of the every-type form, agree with the server."""
    page = _rules_page(guest)
    spec = EVERY.spec("en")
    cases = [[case_condition(c), c[2]] for c in CONDITION_CASES]
    browser: list[list[Any]] = page.evaluate(
        """([fields, cases]) => {
          const { evaluate, parseAnswer, asked } = globalThis.IntakeWidget;
          return cases.map(([when, posted]) => {
            const value = (f) => parseAnswer(f.type, posted[f.name] || [], f.min, f.max);
            const answers = {};
            for (const f of fields) {
              const v = value(f);
              if (v !== undefined) answers[f.name] = v;
            }
            return [evaluate(when, answers), asked(fields, value).map((f) => f.name)];
          });
        }""",
        [spec["fields"], cases],
    )
    differ = []
    for case, (holds, shown) in zip(CONDITION_CASES, browser, strict=True):
        name, _, posted, _ = case
        if holds is not server_evaluate(case_condition(case), posted):
            differ.append((name or case[1], posted, f"evaluate gave {holds}"))
        # The server asks a question when its condition holds on the answers
        # of the questions it asks.
        answers = server_answers(EVERY, posted)
        expected = [f["name"] for f in spec["fields"] if _asked(f, answers)]
        if shown != expected:
            differ.append((name or case[1], posted, f"asked {shown}, server {expected}"))
    assert not differ, differ


#: Runs the shared rules of the script on page global ``name`` on samples of
#: posted strings and on CONDITION_CASES.
SHARED_RULES_RUN = """([name, fields, samples, cases]) => {
  const { evaluate, parseAnswer, asked } = globalThis[name];
  const seen = (v) => (v === undefined ? "absent" : v);
  const parsed = samples.map(([type, texts, min, max]) => seen(parseAnswer(type, texts, min, max)));
  const conditions = cases.map(([when, posted]) => {
    const value = (f) => parseAnswer(f.type, posted[f.name] || [], f.min, f.max);
    const answers = {};
    for (const f of fields) {
      const v = value(f);
      if (v !== undefined) answers[f.name] = v;
    }
    return [evaluate(when, answers), asked(fields, value).map((f) => f.name)];
  });
  return { parsed, conditions };
}"""

#: Posted strings that the number, yes/no and multichoice readers tell apart.
SAMPLE_TEXTS: list[list[str]] = [
    ["12"],
    ["1 000"],
    ["1\u00a0000,5"],
    ["_1_0"],
    ["12.5"],
    ["1e3"],
    ["\u22125"],
    ["-,5"],
    ["9" * 31],
    [" "],
    [],
    ["yes"],
    ["Off"],
    ["maybe"],
    ["wash", "wax"],
    ["wash", "wax", "tyres"],
]


def test_the_hosted_form_and_the_widget_share_one_set_of_rules(guest: Guest, site: Site) -> None:
    """form.js and widget.js (as served: with form.js's shared part spliced
    in) read answers, judge conditions and pick the questions asked alike."""
    widget = _rules_page(guest)
    hosted = widget.context.new_page()
    hosted.goto(f"{site.service}/forms/every-type?lang=fi")
    expect(hosted.locator("form.intake-form")).to_be_visible()
    types = ("integer", "number", "boolean", "consent", "text", "multichoice")
    bounds = ((None, None), (0, 100), (2, 2))
    samples = [[t, x, low, high] for t in types for x in SAMPLE_TEXTS for low, high in bounds]
    cases = [[case_condition(c), c[2]] for c in CONDITION_CASES]
    fields = EVERY.spec("en")["fields"]
    run = {
        name: page.evaluate(SHARED_RULES_RUN, [name, fields, samples, cases])
        for name, page in (("intakeforms", hosted), ("IntakeWidget", widget))
    }
    hosted_run, widget_run = run["intakeforms"], run["IntakeWidget"]
    differ = [
        (sample, h, w)
        for sample, h, w in zip(samples, hosted_run["parsed"], widget_run["parsed"], strict=True)
        if h != w
    ]
    assert not differ, differ
    assert hosted_run["conditions"] == widget_run["conditions"]
    # The samples are read in more than one way: the comparison means something.
    seen = {json.dumps(v) for v in hosted_run["parsed"]}
    assert {"1000", "1000.5", "10", '"absent"', "true", "false", '["wash", "wax"]'} <= seen


def _asked(spec_field: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    when = spec_field["when"]
    return when is None or evaluate(condition_from_json(when), answers)


#: (form, question, answer as the widget holds it, other answers it needs,
#: the server's error code or None, whether the browser finds it too).
RULE_CASES: list[tuple[str, str, Any, dict[str, Any], str | None, bool]] = [
    ("every-type", "name", "Matti", {}, None, True),
    ("every-type", "name", "", {}, "required", True),
    ("every-type", "name", "   ", {}, "required", True),
    ("every-type", "name", "a" * 41, {}, "too_long", True),
    ("every-type", "name", "😀" * 40, {}, None, True),
    ("every-type", "name", " Matti\u0007 ", {}, "control_characters", True),
    ("every-type", "name", "Matti\u202e", {}, "control_characters", True),
    ("every-type", "code", "AB12", {}, None, True),
    ("every-type", "code", " AB1234 ", {}, None, True),
    ("every-type", "code", "ab12", {}, "pattern", True),
    ("every-type", "code", "AB1", {}, "too_short", True),
    ("every-type", "code", "AB12345", {}, "too_long", True),
    ("every-type", "code", "", {}, None, True),
    ("every-type", "story", "Rivi\nToinen\trivi", {"topic": "car"}, None, True),
    ("every-type", "story", "a\u0001b", {"topic": "car"}, "control_characters", True),
    ("every-type", "email", "matti@example.com", {}, None, True),
    ("every-type", "email", "matti@", {}, "invalid_email", True),
    ("every-type", "email", "a@b@c", {}, "invalid_email", True),
    ("every-type", "email", "m" * 250 + "@example.com", {}, "invalid_email", True),
    ("every-type", "email", "matti@localhost", {}, "invalid_email", False),
    ("every-type", "phone", "040 123 4567", {}, None, True),
    ("every-type", "phone", "+358 40 123 4567", {}, None, True),
    ("every-type", "phone", "12", {}, "invalid_phone", True),
    ("every-type", "phone", "123456", {}, "invalid_phone", False),
    ("every-type", "site", "https://example.com/a?b", {}, None, True),
    ("every-type", "site", "example.com", {}, "invalid_url", True),
    ("every-type", "km", "120 000", {"topic": "car"}, None, True),
    ("every-type", "km", " 100_000 ", {"topic": "car"}, None, True),
    ("every-type", "km", 120000, {"topic": "car"}, None, True),
    ("every-type", "km", "", {"topic": "car"}, "required", True),
    ("every-type", "km", "12.5", {"topic": "car"}, "not_integer", True),
    ("every-type", "km", "lots", {"topic": "car"}, "not_integer", True),
    ("every-type", "km", "-1", {"topic": "car"}, "too_small", True),
    ("every-type", "km", "3 000 000", {"topic": "car"}, "too_large", True),
    ("every-type", "amount", "12,5", {}, None, True),
    ("every-type", "amount", "-,5", {}, None, True),
    ("every-type", "amount", "-100,6", {}, "too_small", True),
    ("every-type", "amount", "1000.01", {}, "too_large", True),
    ("every-type", "amount", "1e3", {}, "not_number", True),
    ("every-type", "amount", "\u22125", {}, "not_number", True),
    ("every-type", "extras", ["wash", "wax"], {}, None, True),
    ("every-type", "extras", [], {}, None, True),
    ("every-type", "extras", ["wash", "wax", "tyres"], {}, "too_many_choices", True),
    ("every-type", "extras", ["mop"], {}, "invalid_choice", True),
    ("every-type", "extras", ["wax", "wax"], {}, "duplicate_choice", True),
    ("every-type", "topic", "car", {}, None, True),
    ("every-type", "topic", "boat", {}, "invalid_choice", True),
    ("every-type", "urgent", True, {}, None, True),
    ("every-type", "urgent", False, {}, None, True),
    ("every-type", "urgent", "yes", {}, None, True),
    ("every-type", "urgent", "maybe", {}, "not_boolean", True),
    ("every-type", "terms", True, {}, None, True),
    ("every-type", "terms", False, {}, "consent_required", True),
    ("every-type", "terms", None, {}, "required", True),
    ("every-type", "day", "2026-12-01", {}, None, True),
    ("every-type", "day", "2026-02-30", {}, "invalid_date", True),
    ("every-type", "day", "1.12.2026", {}, "invalid_date", True),
    ("every-type", "day", "2019-12-31", {}, "date_too_early", True),
    ("every-type", "day", "2041-01-01", {}, "date_too_late", True),
    ("every-type", "at", "09:30", {}, None, True),
    ("every-type", "at", "07:59", {}, "time_too_early", True),
    ("every-type", "at", "18:00:30", {}, "time_too_late", True),
    ("every-type", "at", "25:00", {}, "invalid_time", True),
    (
        "every-type",
        "photos",
        [{"name": "a.png", "type": "image/png", "size": 1000}],
        {},
        None,
        True,
    ),
    (
        "every-type",
        "photos",
        [{"name": "a.pdf", "type": "application/pdf", "size": 1000}],
        {},
        "file_type",
        True,
    ),
    (
        "every-type",
        "photos",
        [{"name": "a.png", "type": "image/png", "size": 2_500_000}],
        {},
        "file_too_large",
        True,
    ),
    (
        "every-type",
        "photos",
        [{"name": f"{i}.png", "type": "image/png", "size": 1} for i in range(3)],
        {},
        "too_many_files",
        True,
    ),
    ("every-type", "plate", "abc123", {}, None, True),
    ("every-type", "plate", "12", {}, "invalid_plate", True),
    ("every-type", "vin", "1HGCM82633A004352", {}, None, True),
    ("every-type", "vin", "1HGCM82633A00435", {}, "invalid_vin", True),
    ("every-type", "vin", "1HGCM82633A004353", {}, "vin_check_digit", False),
    ("every-type", "iban", "FI21 1234 5600 0007 85", {"topic": "bill"}, None, True),
    ("every-type", "iban", "FI21", {"topic": "bill"}, "invalid_iban", True),
    ("every-type", "iban", "FI22 1234 5600 0007 85", {"topic": "bill"}, "invalid_iban", False),
    ("every-type", "zip", "111 22", {}, None, True),
    ("every-type", "zip", "1112", {}, "invalid_postal_code", True),
    ("every-type", "hetu", "131052-308T", {}, None, True),
    ("every-type", "hetu", "131052-308U", {}, "invalid_national_id", False),
    ("every-type", "hetu", "13105", {}, "invalid_national_id", True),
    ("every-type", "ytunnus", "1572860-0", {}, None, True),
    ("every-type", "ytunnus", "1572860-1", {}, "invalid_business_id", False),
    ("every-type", "ytunnus", "12", {}, "invalid_business_id", True),
    ("car-service", "mileage", "2 000 001", {}, "too_large", True),
    ("car-service", "model", "x" * 81, {}, "too_long", True),
    ("car-service", "privacy", None, {}, "required", True),
]


def test_validation_rules_like_the_server(guest: Guest) -> None:
    """check() finds what the server finds, with the same code, and say()
    words it as the server does; what it leaves to the server is listed."""
    page = _rules_page(guest)
    specs = {form.id: {f["name"]: f for f in form.spec("fi")["fields"]} for form in (EVERY, CAR)}
    browser: list[list[Any]] = page.evaluate(
        """([texts, cases]) => {
          const { check, say } = globalThis.IntakeWidget;
          return cases.map(([f, value]) => {
            const problem = check(f, value);
            return problem ? [problem[0], say(texts, "fi", f, problem)] : null;
          });
        }""",
        [FI, [[specs[c[0]][c[1]], c[2]] for c in RULE_CASES]],
    )
    differ = []
    for case, found in zip(RULE_CASES, browser, strict=True):
        form_id, name, value, context, code, in_browser = case
        server = server_error(form_id, {**context, name: value}, name)
        label = f"{name}={json.dumps(value, ensure_ascii=False)[:40]}"
        if (server and server[0]) != code:
            differ.append(f"{label}: the server gives {server}, the table says {code}")
            continue
        expected_code = code if in_browser else None
        if (found and found[0]) != expected_code:
            differ.append(f"{label}: the browser gives {found}, expected {expected_code}")
        elif found and found[1] and server and found[1] != server[1]:
            differ.append(f"{label}: the browser says {found[1]!r}, the server {server[1]!r}")
    assert not differ, "\n".join(differ)


def test_browser_words_what_it_finds() -> None:
    """Every code check() can give either has a template in the texts or
    is left to the server on purpose (it needs the region's example, or a
    date written the server's way)."""
    by_server = {
        "not_list",
        "not_text",
        "duplicate_choice",
        "invalid_plate",
        "invalid_iban",
        "invalid_postal_code",
        "invalid_business_id",
        "date_too_early",
        "date_too_late",
        "time_too_early",
        "time_too_late",
    }
    codes = {case[4] for case in RULE_CASES if case[4] and case[5]}
    assert codes - by_server <= {key.removeprefix("e_") for key in FI}
