"""The chat as a chat, and the form language's layout in the widgets, in
Chromium: Enter sends and Shift+Enter makes a new line (with a hint saying
so), consent is a box to tick, and the summary before sending shows each
answer as the service will keep it, one per line; sections are messages of
the chat and headings of the inline form, whose pages are steps with Next,
Back and "Step 2 of 3"; a question's own messages, the form's thanks text and
its accent colour. axe-core audits each of these screens.

The host site is ``test_widgets``'s (another origin, a strict CSP, unkind
host CSS); the widgets are the served, minified files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import DESKTOP, PHONE, LiveServer, describe_violations, require_chromium, screenshots
from playwright.sync_api import Browser, Locator, Page, expect
from test_widgets import FI, Guest, Site, answer, asked, log_of, open_chat, reply
from web_helpers import FORMS, REFERENCE, settings_for
from widget_helpers import host_app

from intakeforms import Form
from intakeforms.load import load_form_text
from intakeforms.web import create_app

require_chromium()

#: Two steps, sections, a question's own message, a thanks text and a theme.
LAYOUT_FORM = """
form: layout
title: {fi: Palautus, en: Return}
locales: [fi, en]
reference_prefix: LAY
thanks: {text: {fi: Kiitos palautuksesta! Vastaamme päivän sisällä., en: Thanks!}}
theme: {accent: "#7a1fa2", logo: "https://shop.example/logo.svg"}
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
    title: {fi: Yhteystiedot, en: How to reach you}
  - type: section
    title: {fi: Sinä, en: You}
  - name: email
    type: email
    label: {fi: Sähköposti, en: Email}
    required: true
"""
LAYOUT: Form = load_form_text(LAYOUT_FORM, "layout.yaml")
OWN_MESSAGE = "Kirjoita tilausnumeron 6 numeroa."
LOGO = "https://shop.example/logo.svg"
THANKS_TEXT = "Kiitos palautuksesta! Vastaamme päivän sisällä."


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The service with the examples and the layout form, and a host site it allows."""
    folder = tmp_path_factory.mktemp("chat-widgets")
    where: dict[str, str] = {}
    host = LiveServer(host_app(lambda: where["service"]))
    settings = settings_for(folder, allowed_origins=(host.url,))
    service = LiveServer(create_app([*FORMS, LAYOUT], settings))
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


@pytest.fixture
def guest(browser: Browser, site: Site) -> Iterator[Guest]:
    visiting = Guest(browser, site)
    try:
        yield visiting
    finally:
        visiting.close()
    # The host page's CSP does not list the logo's host in img-src: the
    # browser leaves the logo out and says so, as docs/widgets.md tells.
    problems = [p for p in visiting.problems if LOGO not in p]
    assert problems == [], "the pages had script errors or failed loads"


CONSENT = "Hyväksyn, että tietojani käytetään huollon varaamiseen."
SYMPTOMS = "Kuvaile vika"


def to_the_symptoms(guest: Guest) -> tuple[Page, Locator]:
    """A chat in Finnish at the car service's free-text question."""
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    answer(dialog, "Rekisterinumero", "abc123")
    answer(dialog, "Merkki ja malli", "Saab 9-3")
    answer(dialog, "Mittarilukema", "120000")
    reply(dialog, "Mitä tarvitset?", "Korjaus")
    asked(dialog, SYMPTOMS)
    return page, dialog


def to_the_consent(guest: Guest) -> tuple[Page, Locator]:
    page, dialog = to_the_symptoms(guest)
    page.keyboard.type("Etupäästä kolisee.")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Varsinkin kylmällä.")
    page.keyboard.press("Enter")
    dialog.get_by_role("button", name=FI["skip"]).click()
    answer(dialog, "Nimi", "Matti Meikäläinen")
    answer(dialog, "Sähköposti", "matti@example.com")
    answer(dialog, "Puhelin", "040 123 4567")
    asked(dialog, CONSENT)
    return page, dialog


def test_enter_sends_and_shift_enter_makes_a_new_line(guest: Guest) -> None:
    page, dialog = to_the_symptoms(guest)
    box = asked(dialog, SYMPTOMS)
    hint = dialog.locator(".cmp").get_by_text(FI["keys"])
    expect(hint).to_be_visible()
    # The hint is read with the box, not only seen.
    hint_id = hint.get_attribute("id")
    assert hint_id and hint_id in (box.get_attribute("aria-describedby") or "").split()
    page.keyboard.type("Etupäästä kolisee.")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Varsinkin kylmällä.")
    expect(box).to_have_value("Etupäästä kolisee.\nVarsinkin kylmällä.")
    expect(log_of(dialog)).not_to_contain_text("Varsinkin kylmällä.")
    page.keyboard.press("Enter")
    mine = log_of(dialog).locator(".u").last
    expect(mine).to_contain_text("Varsinkin kylmällä.")
    expect(mine.locator("span").first).to_have_js_property(
        "innerText", "Etupäästä kolisee.\nVarsinkin kylmällä."
    )
    # A one-line answer has no hint: Enter sending it goes without saying.
    asked(dialog, "Toivottu päivä")
    expect(dialog.locator(".cmp").get_by_text(FI["keys"])).to_have_count(0)


def test_consent_is_a_box_to_tick(guest: Guest) -> None:
    page, dialog = to_the_consent(guest)
    composer = dialog.locator(".cmp")
    box = composer.get_by_role("checkbox", name=CONSENT)
    expect(box).to_be_focused()
    expect(box).not_to_be_checked()
    # No yes-or-no buttons to answer with "tick the box".
    expect(composer.get_by_role("button", name=FI["yes"], exact=True)).to_have_count(0)
    # Keyboard only: Tab to Next, Enter; unticked, the service's own words.
    page.keyboard.press("Tab")
    expect(composer.get_by_role("button", name=FI["next"])).to_be_focused()
    page.keyboard.press("Enter")
    expect(log_of(dialog).locator(".bad")).to_have_text(FI["e_consent_required"])
    box = composer.get_by_role("checkbox", name=CONSENT)
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(log_of(dialog).locator(".bad")).to_have_count(0)
    expect(log_of(dialog).locator(".b").last).to_contain_text(FI["review"])


def test_summary_shows_normalised_values_one_per_line(guest: Guest) -> None:
    _, dialog = to_the_consent(guest)
    reply(dialog, CONSENT, FI["yes"])
    summary = log_of(dialog).locator(".b").last
    expect(summary).to_contain_text(FI["review"])
    value = {
        term: summary.locator("dt", has_text=term).locator("+ dd > span")
        for term in ("Rekisterinumero", "Mittarilukema", SYMPTOMS, "Puhelin", CONSENT)
    }
    # As the service keeps them, not as typed (abc123, 040 123 4567).
    expect(value["Rekisterinumero"]).to_have_text("ABC-123")
    expect(value["Puhelin"]).to_have_text("+358401234567")
    expect(value["Mittarilukema"]).to_have_js_property("innerText", "120\u00a0000 km")
    expect(value[CONSENT]).to_have_text(FI["yes"])
    # A long answer keeps its lines.
    expect(value[SYMPTOMS]).to_have_js_property(
        "innerText", "Etupäästä kolisee.\nVarsinkin kylmällä."
    )
    # Each answer on a line of its own: every value starts below its question.
    tops = [v.bounding_box() for v in value.values()]
    assert all(box is not None for box in tops)
    ys = [box["y"] for box in tops if box]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    send = dialog.locator(".cmp").get_by_role("button", name=FI["send"])
    expect(send).to_be_focused()
    send.click()
    expect(dialog.locator(".ref")).to_have_text(REFERENCE)


# -- sections, steps, messages, thanks and theme -----------------------------------


def accent(button: Locator) -> str:
    """The colour ``button`` (a main action, drawn in the accent) has."""
    colour: str = button.evaluate("el => getComputedStyle(el).backgroundColor")
    return colour


def test_inline_steps_with_sections_messages_and_thanks(guest: Guest) -> None:
    page = guest.open("intake-form", form="layout", lang="fi")
    form = page.locator("intake-form form")
    step = form.get_by_role("heading", name="Vaihe 1/2")
    expect(step).to_be_visible()
    expect(form.get_by_role("heading", name="Tilaus", level=4)).to_be_visible()
    expect(form).to_contain_text("Löydät numeron kuitista.")
    # The second step waits; Next, not Send, and no Back on the first.
    expect(form.get_by_label("Sähköposti")).to_be_hidden()
    expect(form.get_by_role("button", name=FI["send"])).to_be_hidden()
    expect(form.get_by_role("button", name=FI["back"])).to_be_hidden()
    # The theme's accent, the site setting none of its own; its logo, decorative.
    assert accent(form.get_by_role("button", name=FI["next"])) == "rgb(122, 31, 162)"
    logo = page.locator("intake-form h2 img")
    expect(logo).to_have_attribute("src", LOGO)
    expect(logo).to_have_attribute("alt", "")

    order = form.get_by_label("Tilausnumero")
    order.fill("12")
    # Leaving the question checks it (the form's own words for the problem);
    # Next checks the step again and takes the focus back to it.
    order.press("Tab")
    expect(form.locator("#f-order-e")).to_have_text(OWN_MESSAGE)
    form.get_by_role("button", name=FI["next"]).click()
    expect(order).to_have_attribute("aria-invalid", "true")
    expect(order).to_be_focused()
    order.fill("123456")
    # Enter in a text box of an earlier step goes on, it does not send.
    order.press("Enter")
    second = form.get_by_role("heading", name="Yhteystiedot Vaihe 2/2")
    expect(second).to_be_focused()
    expect(order).to_be_hidden()
    expect(form.get_by_role("heading", name="Sinä", level=4)).to_be_visible()
    form.get_by_role("button", name=FI["back"]).click()
    expect(step).to_be_focused()
    expect(order).to_have_value("123456")
    form.get_by_role("button", name=FI["next"]).click()
    form.get_by_label("Sähköposti").fill("maija@example.com")
    form.get_by_role("button", name=FI["send"]).click()
    done = page.locator("intake-form .done")
    expect(done.locator(".ref")).to_have_text(re.compile(r"^LAY-[0-9A-Z]{6}$"))
    expect(done).to_contain_text(THANKS_TEXT)


def test_chat_says_sections_and_uses_the_forms_words(guest: Guest) -> None:
    page = guest.open("intake-chat", form="layout", lang="fi")
    dialog = open_chat(page, "Palautus")
    expect(dialog.locator("header h2 img")).to_have_attribute("src", LOGO)
    log = log_of(dialog)
    section = log.locator(".sec")
    expect(section.first).to_contain_text("Tilaus")
    expect(section.first).to_contain_text("Löydät numeron kuitista.")
    answer(dialog, "Tilausnumero", "12")
    expect(log.locator(".bad")).to_have_text(OWN_MESSAGE)
    answer(dialog, "Tilausnumero", "123456")
    # The next section comes before its question; a page is no message.
    expect(section).to_have_count(2)
    expect(section.last).to_contain_text("Sinä")
    answer(dialog, "Sähköposti", "maija@example.com")
    send = dialog.locator(".cmp").get_by_role("button", name=FI["send"])
    assert accent(send) == "rgb(122, 31, 162)"
    send.click()
    expect(dialog.locator(".ref")).to_have_text(re.compile(r"^LAY-[0-9A-Z]{6}$"))
    expect(log).to_contain_text(THANKS_TEXT)


# -- axe-core -----------------------------------------------------------------------


def _keys_hint(guest: Guest) -> Page:
    return to_the_symptoms(guest)[0]


def _consent_refused(guest: Guest) -> Page:
    page, dialog = to_the_consent(guest)
    dialog.locator(".cmp").get_by_role("button", name=FI["next"]).click()
    expect(log_of(dialog).locator(".bad")).to_be_visible()
    return page


def _summary(guest: Guest) -> Page:
    page, dialog = to_the_consent(guest)
    reply(dialog, CONSENT, FI["yes"])
    expect(log_of(dialog).locator(".b").last).to_contain_text(FI["review"])
    return page


def _inline_step_error(guest: Guest) -> Page:
    page = guest.open("intake-form", form="layout", lang="fi")
    form = page.locator("intake-form form")
    form.get_by_label("Tilausnumero").fill("12")
    form.get_by_label("Tilausnumero").press("Tab")
    expect(form.locator("#f-order-e")).to_have_text(OWN_MESSAGE)
    return page


def _inline_second_step(guest: Guest) -> Page:
    page = guest.open("intake-form", form="layout", lang="fi")
    form = page.locator("intake-form form")
    form.get_by_label("Tilausnumero").fill("123456")
    form.get_by_role("button", name=FI["next"]).click()
    expect(form.get_by_label("Sähköposti")).to_be_visible()
    return page


def _chat_sections(guest: Guest) -> Page:
    page = guest.open("intake-chat", form="layout", lang="fi")
    dialog = open_chat(page, "Palautus")
    answer(dialog, "Tilausnumero", "123456")
    asked(dialog, "Sähköposti")
    return page


SCENARIOS = {
    "widget-steps-error": _inline_step_error,
    "widget-steps-second": _inline_second_step,
    "chat-sections": _chat_sections,
    "chat-keys-hint": _keys_hint,
    "chat-consent-refused": _consent_refused,
    "chat-summary": _summary,
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
