"""The chat as a chat, in Chromium: Enter sends and Shift+Enter makes a new
line (with a hint saying so), consent is a box to tick, and the summary
before sending shows each answer as the service will keep it, one per line.
axe-core audits each of these screens.

The service and the host site are those of ``test_widgets`` (another origin,
a strict CSP, unkind host CSS); the widgets are the served, minified files.
"""

from __future__ import annotations

import pytest
from browser import DESKTOP, PHONE, describe_violations, require_chromium, screenshots
from playwright.sync_api import Locator, Page, expect
from test_widgets import FI, Guest, answer, asked, guest, log_of, open_chat, reply, site
from web_helpers import REFERENCE

require_chromium()

__all__ = ["guest", "site"]  # the fixtures, shared with test_widgets

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


SCENARIOS = {
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
