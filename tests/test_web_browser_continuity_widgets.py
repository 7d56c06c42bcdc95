"""Contacts that continue, in the widgets, in a real browser: Chromium driven
by Playwright against the real service on a loopback port, each widget
embedded in a host page of another origin (as in test_widgets.py).

What a customer would notice: a signed link's answers shown in the chat
pop-up and in the inline form, a locked one that cannot be changed (and is
stored as the link gave it, whatever the page tried), a damaged, expired or
used link said in so many words above an empty form, a draft link that
reopens the answers and is erased by the submission, "Continue by email
later" keeping a draft for the address given (a wrong address refused in
the conversation), and questions the page answers (``type: hidden``) never
asked but sent. axe-core audits both widgets with a locked answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from browser import DESKTOP, LiveServer, describe_violations, require_chromium, screenshots
from playwright.sync_api import Browser, Page, expect
from test_widgets import (
    FI,
    Guest,
    Site,
    answer,
    asked,
    expect_question,
    log_of,
    open_chat,
    reply,
)
from web_helpers import FORMS, REFERENCE, settings_for
from widget_helpers import host_app

from intakeforms import load_form_text
from intakeforms.links import make_draft_token, make_token
from intakeforms.store import DraftRecord, StoredSubmission, open_store
from intakeforms.web import create_app

require_chromium()

SECRET = "test-secret"  # settings_for's
#: A form whose first questions the page answers: an order number from the
#: address, a campaign from the element, a source by its default.
CALLBACK = load_form_text(
    """
form: callback
title: {fi: Soittopyyntö}
locales: [fi]
fields:
  - {name: order, type: hidden, label: Tilaus}
  - {name: campaign, type: hidden, label: Kampanja, pattern: '[a-z]+'}
  - {name: source, type: hidden, label: Lähde, default: web}
  - {name: name, type: text, required: true, label: Nimi}
  - {name: coupon, type: text, label: Kuponki}
"""
)
#: What the links below give: the plate locked.
GIVEN = {"plate": "abc123", "model": "Volvo V70", "name": "Matti Meikäläinen"}
#: The answers a customer adds in the chat and the inline form.
REST = {"mileage": "184 000", "email": "matti@example.com"}

#: Any form's reference.
ANY_REFERENCE = re.compile(r"^[A-Z]+-[0-9A-HJKMNP-TV-Z]{6}$")

_T = TypeVar("_T")


def link(values: dict[str, Any] = GIVEN, **options: Any) -> str:
    """A signed link's token for the car service."""
    return make_token("car-service", values, secret=SECRET, lock=["plate"], **options)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The service (which can mail draft links: it knows its public address)
    and a host site it allows."""
    folder = tmp_path_factory.mktemp("continuity-widgets")
    where: dict[str, str] = {}
    host = LiveServer(host_app(lambda: where["service"]))
    settings = settings_for(
        folder, allowed_origins=(host.url,), public_url="https://forms.example.com"
    )
    service = LiveServer(create_app([*FORMS, CALLBACK], settings))
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
    assert visiting.problems == [], "the pages had script errors or failed loads"


def in_store(site: Site, call: Callable[[Any], Awaitable[_T]]) -> _T:
    """What ``call(store)`` gives on the service's database (in a thread of
    its own: Playwright's loop runs in this one)."""

    async def run() -> _T:
        async with open_store(f"sqlite:///{site.database}") as store:
            return await call(store)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def stored(site: Site, reference: str) -> StoredSubmission:
    found: StoredSubmission | None = in_store(site, lambda store: store.get(reference))
    assert found is not None, f"{reference} is not in the store"
    return found


def drafts_of(site: Site, email: str) -> list[DraftRecord]:
    return in_store(site, lambda store: store.drafts_of(email))


def reference_shown(page: Page) -> str:
    """The reference the widget shows once the message is sent."""
    ref = page.locator("intake-chat, intake-form").locator(".ref")
    expect(ref).to_have_text(REFERENCE)
    return ref.inner_text()


def visit(guest: Guest, tag: str, **query: Any) -> Page:
    """A host page with widget ``tag`` in Finnish; ``query`` as Guest.open takes it."""
    return guest.open(tag, lang="fi", **query)


def finish_chat(page: Page) -> str:
    """Answers the car service's questions the link left, from the mileage
    on, and sends; the reference."""
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    answer(dialog, "Mittarilukema", REST["mileage"])
    reply(dialog, "Mitä tarvitset?", "Määräaikaishuolto")
    dialog.get_by_role("button", name=FI["skip"]).click()  # the date
    answer(dialog, "Sähköposti", REST["email"])
    dialog.get_by_role("button", name=FI["skip"]).click()  # the phone
    reply(dialog, "Hyväksyn, että tietojani käytetään huollon varaamiseen.", FI["yes"])
    dialog.locator(".cmp").get_by_role("button", name=FI["send"]).click()
    return reference_shown(page)


# -- a signed link -----------------------------------------------------------------


def test_a_link_in_the_chat_shows_its_answers_and_keeps_the_locked_one(
    guest: Guest, site: Site
) -> None:
    page = visit(guest, "intake-chat", form="car-service", token=link())
    dialog = open_chat(page)
    log = log_of(dialog)
    # The link's answers are shown as answered; the chat asks what is left.
    expect_question(dialog, "Mittarilukema", 3, 9)
    expect(log).to_contain_text("ABC-123")
    expect(log).to_contain_text("Volvo V70")
    # The model may be changed, the plate not.
    edit = f"{FI['edit']}: "
    expect(log.get_by_role("button", name=edit + "Merkki ja malli")).to_be_visible()
    expect(log.get_by_role("button", name=edit + "Rekisterinumero")).to_have_count(0)
    # Back goes to the last answer that can change: the model, not the plate.
    dialog.locator(".cmp").get_by_role("button", name=FI["back"]).click()
    expect(asked(dialog, "Merkki ja malli")).to_have_value("Volvo V70")
    answer(dialog, "Merkki ja malli", "Volvo V70 2015")
    expect_question(dialog, "Mittarilukema", 3, 9)
    # A reload keeps the change, and the lock: the link's answers are not
    # given again over the customer's.
    page.reload()
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    log = log_of(dialog)
    expect_question(dialog, "Mittarilukema", 3, 9)
    expect(log).to_contain_text("Volvo V70 2015")
    expect(log.get_by_role("button", name=edit + "Rekisterinumero")).to_have_count(0)
    # The name the link gave is not asked again either.
    answer(dialog, "Mittarilukema", REST["mileage"])
    reply(dialog, "Mitä tarvitset?", "Määräaikaishuolto")
    dialog.get_by_role("button", name=FI["skip"]).click()
    expect_question(dialog, "Sähköposti", 7, 9)
    expect(log).to_contain_text("Matti Meikäläinen")
    answer(dialog, "Sähköposti", REST["email"])
    dialog.get_by_role("button", name=FI["skip"]).click()
    reply(dialog, "Hyväksyn, että tietojani käytetään huollon varaamiseen.", FI["yes"])
    # The summary: no "Change" for the locked plate.
    summary = log.locator("dl")
    expect(summary).to_contain_text("ABC-123")
    expect(summary.get_by_role("button", name=edit + "Rekisterinumero")).to_have_count(0)
    expect(summary.get_by_role("button", name=edit + "Nimi")).to_be_visible()
    dialog.locator(".cmp").get_by_role("button", name=FI["send"]).click()
    submission = stored(site, reference_shown(page))
    assert submission.data["plate"] == "ABC-123"
    assert submission.data["model"] == "Volvo V70 2015"
    assert submission.context is not None
    assert submission.context["link"] == {
        "given": ["model", "name", "plate"],
        "locked": ["plate"],
    }


def test_a_link_in_the_page_address_fills_the_inline_form(guest: Guest, site: Site) -> None:
    # No token attribute: the host page's own ?t= is the link.
    page = visit(guest, "intake-form", form="car-service", t=link(), viewport=DESKTOP)
    plate = page.get_by_label("Rekisterinumero")
    expect(plate).to_have_value("ABC-123")
    expect(plate).not_to_be_editable()
    expect(plate).to_have_accessible_description(FI["locked"])
    model = page.get_by_label("Merkki ja malli")
    expect(model).to_have_value("Volvo V70")
    expect(model).to_be_editable()
    expect(page.get_by_label("Nimi")).to_have_value("Matti Meikäläinen")
    screenshots(page, "continuity-inline-locked")
    # A page script that forces the plate's value changes nothing stored.
    page.evaluate(
        """() => {
          const input = document.querySelector("intake-form").shadowRoot.querySelector("#f-plate");
          input.removeAttribute("readonly");
          input.value = "ZZZ-999";
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }"""
    )
    page.get_by_label("Mittarilukema").fill(REST["mileage"])
    page.get_by_role("radio", name="Määräaikaishuolto").check()
    page.get_by_label("Sähköposti").fill(REST["email"])
    page.get_by_role("checkbox", name="Hyväksyn").check()
    page.get_by_role("button", name=FI["send"]).click()
    submission = stored(site, reference_shown(page))
    assert submission.data["plate"] == "ABC-123"
    assert submission.data["name"] == "Matti Meikäläinen"


def test_the_full_form_in_the_chat_keeps_the_lock(guest: Guest) -> None:
    page = visit(guest, "intake-chat", form="car-service", token=link())
    dialog = open_chat(page)
    asked(dialog, "Mittarilukema")
    dialog.get_by_role("button", name=FI["full"]).click()
    plate = dialog.get_by_label("Rekisterinumero")
    expect(plate).to_have_value("ABC-123")
    expect(plate).not_to_be_editable()
    expect(dialog.get_by_label("Merkki ja malli")).to_be_editable()


@pytest.mark.parametrize("tag", ["intake-chat", "intake-form"])
def test_a_damaged_link_says_so_and_the_form_starts_empty(guest: Guest, tag: str) -> None:
    page = visit(guest, tag, form="car-service", token=link()[:-4] + "abcd")
    if tag == "intake-chat":
        dialog = open_chat(page)
        expect(log_of(dialog)).to_contain_text(FI["p_damaged"])
        expect_question(dialog, "Rekisterinumero", 1, 9)
        expect(asked(dialog, "Rekisterinumero")).to_have_value("")
    else:
        expect(page.get_by_text(FI["p_damaged"])).to_be_visible()
        expect(page.get_by_label("Rekisterinumero")).to_have_value("")
        expect(page.get_by_label("Rekisterinumero")).to_be_editable()


def test_an_expired_link_gives_the_empty_form_with_a_notice(guest: Guest) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    token = link(expires=dt.timedelta(days=7), now=old)
    page = visit(guest, "intake-form", form="car-service", token=token)
    expect(page.get_by_text(FI["p_expired"])).to_be_visible()
    expect(page.get_by_label("Merkki ja malli")).to_have_value("")


def test_a_single_use_link_used_again_shows_the_first_reference(guest: Guest) -> None:
    token = link(once=True)
    page = visit(guest, "intake-chat", form="car-service", token=token)
    open_chat(page)
    reference = finish_chat(page)
    again = visit(guest, "intake-form", form="car-service", token=token)
    said = FI["p_used"].replace("{reference}", reference)
    expect(again.get_by_text(said)).to_be_visible()
    expect(again.get_by_label("Rekisterinumero")).to_have_value("")


# -- drafts ------------------------------------------------------------------------


def test_continue_later_is_asked_even_while_an_answer_is_being_checked(
    guest: Guest, site: Site
) -> None:
    """Enter, then at once "Continue by email later": the click must not be
    lost because the chat is still waiting for the server's check."""
    page = visit(guest, "intake-chat", form="car-service")
    dialog = open_chat(page)
    held: list[Any] = []
    page.route(re.compile(r".*/validate(\?.*)?$"), lambda route: held.append(route))
    asked(dialog, "Rekisterinumero").fill("abc123")
    page.keyboard.press("Enter")
    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while not held:
        assert dt.datetime.now() < deadline, "the chat did not check the answer"
        page.wait_for_timeout(50)
    later = dialog.get_by_role("button", name=FI["later"])
    later.click()
    expect(later).to_be_hidden()
    expect(dialog.locator(".cmp").get_by_label(FI["address"])).to_be_focused()
    for route in held:
        route.continue_()


def test_continue_by_email_later_keeps_a_draft_and_its_link_reopens_it(
    guest: Guest, site: Site
) -> None:
    email = "later@example.com"
    page = visit(guest, "intake-chat", form="car-service")
    dialog = open_chat(page)
    answer(dialog, "Rekisterinumero", "abc123")
    answer(dialog, "Merkki ja malli", "Saab 9-3")
    later = dialog.get_by_role("button", name=FI["later"])
    later.click()
    expect(later).to_be_hidden()
    log = log_of(dialog)
    expect(log).to_contain_text(FI["later"])
    # An address the service refuses is said in the conversation, like any problem.
    address = dialog.locator(".cmp").get_by_label(FI["address"])
    expect(address).to_be_focused()
    address.fill("later@")
    page.keyboard.press("Enter")
    expect(log.locator(".bad")).to_be_visible()
    expect(dialog.locator(".cmp").get_by_label(FI["address"])).to_have_attribute(
        "aria-invalid", "true"
    )
    assert drafts_of(site, email) == []
    dialog.locator(".cmp").get_by_label(FI["address"]).fill(email)
    page.keyboard.press("Enter")
    sent = FI["sent"].replace("{email}", email)
    expect(log.get_by_text(sent)).to_be_focused()
    expect(log.locator(".bad")).to_have_count(0)
    (draft,) = drafts_of(site, email)
    assert draft.form == "car-service"
    # As the customer typed them, like the form page's drafts.
    assert draft.data == {"plate": "abc123", "model": "Saab 9-3"}
    # Back to the questions, where the customer left them.
    dialog.locator(".cmp").get_by_role("button", name=FI["back"]).click()
    expect_question(dialog, "Mittarilukema", 3, 9)

    # The mailed link (?d=) opens the answers in another tab, and sending
    # them erases the draft.
    token = make_draft_token(draft.id, "car-service", secret=SECRET)
    other = visit(guest, "intake-form", form="car-service", d=token, viewport=DESKTOP)
    expect(other.get_by_label("Merkki ja malli")).to_have_value("Saab 9-3")
    expect(other.get_by_label("Rekisterinumero")).to_have_value("ABC-123")
    expect(other.get_by_label("Rekisterinumero")).to_be_editable()
    other.get_by_label("Mittarilukema").fill(REST["mileage"])
    other.get_by_role("radio", name="Määräaikaishuolto").check()
    other.get_by_label("Nimi").fill("Liisa")
    other.get_by_label("Sähköposti").fill(email)
    other.get_by_role("checkbox", name="Hyväksyn").check()
    other.get_by_role("button", name=FI["send"]).click()
    assert stored(site, reference_shown(other)).data["model"] == "Saab 9-3"
    assert drafts_of(site, email) == []


# -- questions the page answers --------------------------------------------------------


def test_hidden_questions_take_the_page_answers_and_are_never_asked(
    guest: Guest, site: Site
) -> None:
    # The element's data-campaign wins over the address's ?campaign=.
    attributes = {"data-campaign": "spring", "order": "A-1234", "campaign": "autumn"}
    page = visit(guest, "intake-chat", form="callback", **attributes)
    dialog = open_chat(page, "Soittopyyntö")
    expect_question(dialog, "Nimi", 1, 2)
    log = log_of(dialog)
    expect(log).not_to_contain_text("Tilaus")
    expect(log).not_to_contain_text("Kampanja")
    answer(dialog, "Nimi", "Matti")
    dialog.get_by_role("button", name=FI["skip"]).click()
    expect(log.locator("dl")).not_to_contain_text("A-1234")
    dialog.locator(".cmp").get_by_role("button", name=FI["send"]).click()
    ref = page.locator("intake-chat").locator(".ref")
    expect(ref).to_have_text(ANY_REFERENCE)
    data = stored(site, ref.inner_text()).data
    assert (data["order"], data["campaign"], data["source"]) == ("A-1234", "spring", "web")


def test_a_page_answer_the_form_refuses_is_left_out(guest: Guest, site: Site) -> None:
    page = visit(guest, "intake-form", form="callback", **{"data-campaign": "Spring 2"})
    expect(page.get_by_label("Nimi")).to_be_visible()
    expect(page.get_by_label("Kampanja")).to_have_count(0)
    page.get_by_label("Nimi").fill("Matti")
    page.get_by_role("button", name=FI["send"]).click()
    ref = page.locator("intake-form").locator(".ref")
    expect(ref).to_be_visible()
    assert "campaign" not in stored(site, ref.inner_text()).data


# -- accessibility ------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["intake-chat", "intake-form"])
def test_axe_finds_nothing_serious_with_a_locked_answer(guest: Guest, tag: str) -> None:
    page = visit(guest, tag, form="car-service", token=link(), viewport=DESKTOP)
    if tag == "intake-chat":
        asked(open_chat(page), "Mittarilukema")
    else:
        expect(page.get_by_label("Rekisterinumero")).to_have_value("ABC-123")
    violations = guest.audit(page)
    assert violations == [], describe_violations(violations)
