"""The form pages in a real browser: Chromium, driven by Playwright, against
the real app served by uvicorn on a loopback port.

What a customer would notice: questions that appear and go away, the keyboard,
errors and the answers kept with them, the page without JavaScript, the
language switcher, a phone's narrow screen, and axe-core's audit. Screenshots
of the pages go to ``test-artifacts/screenshots`` for a person to look at.

Without Chromium at /usr/bin/chromium the module is skipped, except on CI
(the ``CI`` environment variable is set), where that is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
    Locator,
    Page,
    Response,
    ViewportSize,
    expect,
)
from test_render import CONDITION_CASES, case_condition, server_evaluate
from web_helpers import CAR_ANSWERS, FORMS, REFERENCE, settings_for

from intakeforms import InvalidAnswers
from intakeforms.i18n import gettext_for
from intakeforms.render import UI_TEXTS, condition_text
from intakeforms.web import create_app

require_chromium()

CAR = next(form for form in FORMS if form.id == "car-service")
CAR_PAGE = "/forms/car-service"

#: A complete Finnish booking as a customer types it, in the order of the page.
FINNISH: dict[str, str] = {
    **{name: str(value) for name, value in CAR_ANSWERS.items()},
    "mileage": "120 000",
    "privacy": "true",
}


def ui(key: str, locale: str) -> str:
    return gettext_for(UI_TEXTS[key], locale)


# -- the server, the browser and the pages -----------------------------------------


@dataclass(frozen=True)
class Live:
    url: str
    database: Path


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app with the test forms; no fill-time minimum and no rate limit."""
    folder = tmp_path_factory.mktemp("browser")
    server = LiveServer(create_app(FORMS, settings_for(folder, min_fill_seconds=0)))
    url = server.start()
    try:
        yield Live(url, folder / "intake.db")
    finally:
        server.stop()


@dataclass
class Visitor:
    """Opens pages of the live app, each in a fresh browser context (its own
    cookies and settings), and notes every script error or failed load."""

    browser: Browser
    live: Live
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(
        self,
        path: str,
        *,
        javascript: bool = True,
        viewport: ViewportSize = PHONE,
        without_form_js: bool = False,
        permissions: list[str] | None = None,
    ) -> Page:
        context = self.browser.new_context(
            base_url=self.live.url,
            viewport=viewport,
            java_script_enabled=javascript,
            locale="fi-FI",
            permissions=permissions,
        )
        self.contexts.append(context)
        context.set_default_timeout(5_000)
        if without_form_js:
            # What a browser without JavaScript shows, in a page axe can run in.
            context.route(
                "**/assets/form.js",
                lambda route: route.fulfill(
                    status=200, content_type="text/javascript", body="// left out"
                ),
            )
        page = context.new_page()
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        response = page.goto(path)
        assert response is not None and response.ok, f"GET {path}"
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # Failed loads are judged by _response, which knows what was loaded.
        if message.type in ("error", "warning") and not message.text.startswith(
            "Failed to load resource"
        ):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response: Response) -> None:
        # A form that comes back with errors is a 422 page, by design; and the
        # app has no icon, which is not the page's fault.
        expected = response.status == 422 and response.request.resource_type == "document"
        if response.status >= 400 and not expected and not response.url.endswith("/favicon.ico"):
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


# -- what a customer does ------------------------------------------------------------


def fill_car(page: Page, answers: Mapping[str, str], locale: str = "fi") -> None:
    """Answer car-service questions by their labels, as a customer would."""
    fields = {f["name"]: f for f in CAR.spec(locale)["fields"]}
    for name, value in answers.items():
        spec_field = fields[name]
        if spec_field["type"] == "choice":
            label = next(c["label"] for c in spec_field["choices"] if c["value"] == value)
            page.get_by_label(label, exact=True).check()
        elif spec_field["type"] == "consent":
            page.get_by_label(spec_field["label"]).set_checked(value == "true")
        else:
            page.get_by_label(spec_field["label"]).fill(value)


def send(page: Page, locale: str = "fi") -> None:
    page.get_by_role("button", name=ui("send", locale)).click()


def reference_of(page: Page) -> str:
    """The reference on a thank-you page, once it has loaded."""
    shown = page.locator("#intake-reference")
    expect(shown).to_have_text(REFERENCE)
    return shown.inner_text().strip()


def summary_of(page: Page) -> Locator:
    summary = page.locator("[data-intake-summary]")
    expect(summary).to_be_visible()
    return summary


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width


# -- 1. axe-core --------------------------------------------------------------------


def _fresh(locale: str) -> Callable[[Visitor], Page]:
    return lambda visitor: visitor.open(f"{CAR_PAGE}?lang={locale}")


def _car_with_errors(visitor: Visitor) -> Page:
    page = visitor.open(f"{CAR_PAGE}?lang=fi")
    fill_car(page, {"plate": "12", "model": "Saab 9-3", "service": "repair"})
    send(page)
    summary_of(page)
    return page


def _thanks(visitor: Visitor) -> Page:
    page = visitor.open(f"{CAR_PAGE}?lang=fi")
    fill_car(page, FINNISH)
    send(page)
    reference_of(page)
    return page


def _every_type_with_errors(visitor: Visitor) -> Page:
    page = visitor.open("/forms/every-type?lang=fi")
    page.get_by_label("Car", exact=True).check()
    page.get_by_label("Km").fill("lots")
    page.get_by_role("button", name=ui("send", "fi")).click()
    summary_of(page)
    return page


def _car_without_javascript(visitor: Visitor) -> Page:
    # axe-core needs timers, which do not run in a page with JavaScript off;
    # the page without form.js is what such a browser shows.
    page = visitor.open(f"{CAR_PAGE}?lang=fi", without_form_js=True)
    expect(page.locator("#field-symptoms-when")).to_be_visible()
    return page


SCENARIOS: dict[str, Callable[[Visitor], Page]] = {
    "car-service-fi": _fresh("fi"),
    "car-service-sv": _fresh("sv"),
    "car-service-en": _fresh("en"),
    "car-service-errors": _car_with_errors,
    "thanks": _thanks,
    "every-type": lambda visitor: visitor.open("/forms/every-type?lang=en"),
    "every-type-errors": _every_type_with_errors,
    "car-service-no-js": _car_without_javascript,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_axe_finds_nothing_serious(visitor: Visitor, scenario: str) -> None:
    page = SCENARIOS[scenario](visitor)
    screenshots(page, scenario)
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        assert not violations, (
            f"axe-core on {scenario} at {size['width']} px:\n{describe_violations(violations)}"
        )


# -- 2. with JavaScript, in Finnish --------------------------------------------------


def test_finnish_booking_with_javascript(visitor: Visitor, live: Live) -> None:
    page = visitor.open(f"{CAR_PAGE}?lang=fi", permissions=["clipboard-read", "clipboard-write"])
    symptoms = page.locator("[data-field=symptoms]")
    textarea = page.get_by_label("Kuvaile vika")
    # The question applies only to a repair; the script drops the
    # "answer only if" note that a page without JavaScript needs.
    expect(symptoms).to_be_hidden()
    expect(page.locator(".intake-when")).to_have_count(0)
    assert "Vastaa vain" not in page.locator("main").inner_text()

    page.get_by_label("Korjaus", exact=True).check()
    expect(symptoms).to_be_visible()
    expect(textarea).to_be_enabled()
    textarea.focus()
    expect(textarea).to_be_focused()
    page.get_by_label("Määräaikaishuolto", exact=True).check()
    expect(symptoms).to_be_hidden()
    expect(textarea).to_be_disabled()

    fill_car(page, FINNISH)
    expect(textarea).to_have_value(FINNISH["symptoms"])
    button = page.get_by_role("button", name="Lähetä")
    button.focus()
    page.keyboard.press("Enter")

    reference = reference_of(page)
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.get_by_role("heading", level=1)).to_have_text(ui("thanks", "fi"))
    expect(page.get_by_text(ui("received", "fi"))).to_be_visible()
    copy = page.get_by_role("button", name=ui("copy_button", "fi"))
    copy.click()
    expect(page.get_by_role("status")).to_have_text(ui("copied_status", "fi"))
    assert page.evaluate("() => navigator.clipboard.readText()") == reference

    row = stored(live.database, reference)
    assert row["form"] == "car-service" and row["locale"] == "fi"
    assert row["spam"] == 0, "a person's submission was taken for spam"
    assert row["data"]["plate"] == "ABC-123"
    assert row["data"]["mileage"] == 120000
    assert row["data"]["service"] == "repair"
    assert row["data"]["symptoms"] == FINNISH["symptoms"]
    assert row["data"]["privacy"] is True


# -- 3. errors in the browser --------------------------------------------------------


def test_errors_are_linked_focused_finnish_and_keep_the_answers(visitor: Visitor) -> None:
    page = visitor.open(f"{CAR_PAGE}?lang=fi")
    typed = {
        "plate": "12",
        "model": 'Saab 9-3 "Aero"',
        "mileage": "120 000",
        "service": "repair",
        "email": "matti@",
        "phone": "040 123 4567",
    }
    fill_car(page, typed)
    send(page)

    summary = summary_of(page)
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(page).to_have_title(ui("error_title", "fi").format(title="Huoltovaraus"))
    expect(summary.get_by_role("heading")).to_have_text(ui("problem", "fi"))

    # The server's own verdict on what the browser posted, in Finnish.
    posted = dict.fromkeys(CAR.fields, "") | typed
    del posted["privacy"]  # an unticked box posts nothing
    with pytest.raises(InvalidAnswers) as finnish:
        CAR.validate(posted, locale="fi")
    with pytest.raises(InvalidAnswers) as english:
        CAR.validate(posted, locale="en")
    expected = {e.field: e.message for e in finnish.value.errors}
    assert {"plate", "symptoms", "name", "email", "privacy"} <= set(expected)
    for error in english.value.errors:
        assert expected[error.field] != error.message, "not translated"

    links = summary.get_by_role("link")
    expect(links).to_have_count(len(expected))
    labels = {f["name"]: f["label"] for f in CAR.spec("fi")["fields"]}
    for link in links.all():
        href = link.get_attribute("href") or ""
        name = href.removeprefix("#field-")
        assert name in expected, href
        # A message that names its question ("Täytä kohta ”Nimi”.") stands alone.
        label = labels[name]
        shown = (
            expected[name]
            if label in expected[name]
            else f"{label.rstrip(' .:')} – {expected[name]}"
        )
        expect(link).to_have_text(shown)
        control = page.locator(href)
        expect(control).to_have_attribute("aria-invalid", "true")
        message = page.locator(f"#field-{name}-error")
        expect(message).to_be_visible()
        expect(message).to_contain_text(expected[name])
        described = control.get_attribute("aria-describedby") or page.locator(
            f"[data-field={name}] fieldset"
        ).get_attribute("aria-describedby")
        assert f"field-{name}-error" in (described or "").split(), name

    # Following a link puts the customer in the field, its label in view.
    summary.get_by_role("link", name=re.compile("^Rekisterinumero")).click()
    expect(page.locator("#field-plate")).to_be_focused()
    expect(page.locator("label[for=field-plate]")).to_be_in_viewport()

    # Every answer is still there, the chosen radio too.
    expect(page.get_by_label("Rekisterinumero")).to_have_value("12")
    expect(page.get_by_label("Merkki ja malli")).to_have_value('Saab 9-3 "Aero"')
    expect(page.get_by_label("Mittarilukema")).to_have_value("120 000")
    expect(page.get_by_label("Korjaus", exact=True)).to_be_checked()
    expect(page.get_by_label("Sähköposti")).to_have_value("matti@")
    expect(page.get_by_label("Puhelin")).to_have_value("040 123 4567")
    expect(page.get_by_label("Kuvaile vika")).to_be_visible()
    screenshots(page, "car-service-errors-after-link")

    # Put right, the same page sends.
    fill_car(page, {k: FINNISH[k] for k in ("plate", "symptoms", "name", "email", "privacy")})
    send(page)
    reference_of(page)


# -- 4. without JavaScript --------------------------------------------------------


def test_without_javascript(visitor: Visitor, live: Live) -> None:
    page = visitor.open(f"{CAR_PAGE}?lang=fi", javascript=False)
    spec = CAR.spec("fi")
    (when,) = [f["when"] for f in spec["fields"] if f["name"] == "symptoms"]
    expect(page.locator("[data-field=symptoms]")).to_be_visible()
    note = page.locator("#field-symptoms-when")
    expect(note).to_be_visible()
    expect(note).to_have_text(condition_text(when, spec))
    expect(page.get_by_label("Kuvaile vika")).to_be_enabled()

    fill_car(page, FINNISH)
    send(page)
    row = stored(live.database, reference_of(page))
    assert row["spam"] == 0
    assert row["data"]["plate"] == "ABC-123" and row["data"]["mileage"] == 120000
    assert row["data"]["symptoms"] == FINNISH["symptoms"]

    # An answer to a question that does not apply is not kept.
    page.goto(f"{CAR_PAGE}?lang=fi")
    fill_car(page, {**FINNISH, "service": "annual", "symptoms": "Ei koske huoltoa."})
    send(page)
    row = stored(live.database, reference_of(page))
    assert row["data"]["service"] == "annual"
    assert "symptoms" not in row["data"]


# -- 5. the language switcher ---------------------------------------------------


def test_language_switcher(visitor: Visitor) -> None:
    page = visitor.open(f"{CAR_PAGE}?lang=fi")
    nav = page.get_by_role("navigation", name=ui("languages", "fi"))
    expect(nav.get_by_role("link", name="Suomi")).to_have_attribute("aria-current", "true")
    nav.get_by_role("link", name="Svenska").click()

    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Servicebokning")
    expect(page.get_by_label("Registreringsnummer")).to_be_visible()
    expect(page.get_by_label("Reparation", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name=ui("languages", "sv"))
    expect(nav.get_by_role("link", name="Svenska")).to_have_attribute("aria-current", "true")
    # The form keeps the language: its messages come back in Swedish.
    send(page, "sv")
    expect(summary_of(page).get_by_role("heading")).to_have_text(ui("problem", "sv"))
    expect(page.locator("html")).to_have_attribute("lang", "sv")


# -- 6. form.js's conditions in Chromium ----------------------------------------------

# Reads the posted strings the way form.js reads the page (data-type, data-min
# and data-max of each question), then evaluates each case's condition.
EVALUATE_CASES = """
cases => {
  const { evaluate, parseAnswer } = globalThis.intakeforms;
  const bound = (text) => (text === undefined ? undefined : Number(text));
  const fields = Array.from(document.querySelectorAll("[data-field]"), (w) => w.dataset);
  return cases.map(([when, posted]) => {
    const answers = {};
    for (const f of fields) {
      const answer = parseAnswer(f.type, posted[f.field] || [], bound(f.min), bound(f.max));
      if (answer !== undefined) answers[f.field] = answer;
    }
    return evaluate(when, answers);
  });
}
"""

# Sets the page's controls to what each case posts and reports whether the
# question is shown and its controls enabled.
SHOWN_FOR_CASES = """
cases => {
  const form = document.querySelector("form.intake-form");
  return cases.map(([name, posted]) => {
    form.reset();
    for (const [field, texts] of Object.entries(posted)) {
      for (const el of form.querySelectorAll(`[name="${field}"]`)) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = texts.includes(el.value);
        else el.value = texts[0] ?? "";
      }
    }
    form.dispatchEvent(new Event("change", { bubbles: true }));
    const wrapper = form.querySelector(`[data-field="${name}"]`);
    const controls = Array.from(wrapper.querySelectorAll("input, select, textarea"));
    return [!wrapper.hidden, controls.every((c) => c.disabled === wrapper.hidden)];
  });
}
"""


def test_condition_cases_have_the_expected_shape() -> None:
    assert CONDITION_CASES
    for case in CONDITION_CASES:
        name, own, posted, asked = case
        assert isinstance(name, str) and isinstance(own, dict) and isinstance(asked, bool)
        assert bool(name) != bool(own), case
        assert all(
            isinstance(v, list) and all(isinstance(t, str) for t in v) for v in posted.values()
        )


def test_form_js_evaluates_conditions_like_the_server(visitor: Visitor) -> None:
    page = visitor.open("/forms/every-type?lang=en")
    cases = [[case_condition(c), c[2]] for c in CONDITION_CASES]
    browser = page.evaluate(EVALUATE_CASES, cases)
    server = [server_evaluate(case_condition(c), c[2]) for c in CONDITION_CASES]
    differ = [
        (c[0] or c[1], c[2], f"browser {b}, server {s}")
        for c, b, s in zip(CONDITION_CASES, browser, server, strict=True)
        if b is not s
    ]
    assert not differ, differ


def test_form_js_shows_questions_like_the_server(visitor: Visitor) -> None:
    page = visitor.open("/forms/every-type?lang=en")
    named = [c for c in CONDITION_CASES if c[0]]
    shown = page.evaluate(SHOWN_FOR_CASES, [[c[0], c[2]] for c in named])
    differ = []
    for case, (visible, disabled_when_hidden) in zip(named, shown, strict=True):
        asked = server_evaluate(case_condition(case), case[2])
        if visible is not asked or not disabled_when_hidden:
            differ.append((case[0], case[2], f"shown {visible}, asked {asked}"))
    assert not differ, differ


# -- 7. a 320 px wide phone ------------------------------------------------------


def test_narrow_phone(visitor: Visitor) -> None:
    page = visitor.open(f"{CAR_PAGE}?lang=fi", viewport=NARROW)
    assert scroll_width(page) <= NARROW["width"]
    page.get_by_label("Korjaus", exact=True).check()
    assert scroll_width(page) <= NARROW["width"]

    button = page.get_by_role("button", name="Lähetä")
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport()
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], box
    assert box["height"] >= 44, "a touch target is at least 44 px high"
    button.click()  # Playwright clicks only what is visible and not covered
    summary_of(page)
    assert scroll_width(page) <= NARROW["width"], "the error page scrolls sideways"


# -- 8. the keyboard ---------------------------------------------------------------

# The focused element, and whether it shows a focus indicator. When the focus
# is on a browser-made part of a control (the calendar button of a date input)
# the control itself is not :focus, and the browser draws its own ring there.
FOCUSED = """
() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const ring =
    !el.matches(":focus") ||
    (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ||
    style.boxShadow !== "none";
  return [el.id || `${el.tagName.toLowerCase()}:${el.textContent.trim()}`, ring];
}
"""


def tab_through(page: Page, key: str, until: str, limit: int = 40) -> list[str]:
    """Press ``key`` until ``until`` has focus; the distinct stops on the way.
    Every stop must show where the focus is."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        here, ring = page.evaluate(FOCUSED)
        assert ring, f"{here} shows no focus indicator"
        if not stops or stops[-1] != here:  # a date input has a stop per part
            stops.append(here)
        if here == until:
            return stops
    raise AssertionError(f"{until} never got the focus; stops: {stops}")


def test_keyboard_order(visitor: Visitor) -> None:
    page = visitor.open(f"{CAR_PAGE}?lang=fi", viewport=DESKTOP)
    send_button = f"button:{ui('send', 'fi')}"
    stops = tab_through(page, "Tab", send_button)
    languages = ["a:Suomi", "a:Svenska", "a:English"]
    asked = [f"field-{f['name']}" for f in CAR.spec("fi")["fields"] if f["name"] != "symptoms"]
    assert stops == [*languages, *asked, send_button]
    assert "intake-honeypot" not in stops

    # Back to the radios; an arrow key picks "Korjaus" and the next Tab
    # goes to the question that appeared.
    tab_through(page, "Shift+Tab", "field-service")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Korjaus", exact=True)).to_be_checked()
    assert tab_through(page, "Tab", "field-symptoms") == ["field-symptoms"]
    rest = tab_through(page, "Tab", send_button)
    assert rest == [*asked[asked.index("field-service") + 1 :], send_button]
    assert "intake-honeypot" not in rest
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") != "intake-honeypot"
