"""Self-service in a real browser: the FAQ's answers in the chat pop-up, in
the inline widget and on the hosted form page, driven by Playwright in
Chromium against the real service (with examples/workshop-faq.yaml) on a
loopback port, embedded in a host page of another origin.

What a customer would notice: a Finnish winter-tyre question answered in the
chat and the chat ending there; going on to the form with the words kept as
the first answer; the form proposed from the words; "Talk to a person"
sending what is answered; suggestions under the first free-text question as
the customer types; and what the team gets from it: the stored context lists
the answers shown, the store counts what helped. axe-core audits the chat
with answers and the form page with suggestions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from browser import DESKTOP, PHONE, LiveServer, describe_violations, require_chromium, screenshots
from conftest import EXAMPLES
from playwright.sync_api import Browser, Locator, Page, expect
from test_widgets import (
    FI,
    Guest,
    Site,
    answer,
    asked,
    log_of,
    open_chat,
    reply,
    session,
)
from web_helpers import FORMS, REFERENCE, settings_for
from widget_helpers import host_app

from intakeforms.faq.load import load_faqs
from intakeforms.store import FaqCounts, StoredSubmission, open_store
from intakeforms.web import create_app

require_chromium()

FAQS = load_faqs([EXAMPLES], forms=FORMS)
WINTER = "milloin talvirenkaat pitää vaihtaa"
WINTER_QUESTION = "Milloin talvirenkaat pitää vaihtaa alle?"
#: Words that find answers before the car service but describe a repair.
RATTLE = "Auto kolisee renkaanvaihdon jälkeen"
#: Any form's reference.
ANY_REFERENCE = re.compile(r"^[A-Z]+-[0-9A-HJKMNP-TV-Z]{6}$")

_T = TypeVar("_T")


# -- the service, the host site and the store -------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The service with the workshop FAQ, and a host site it allows."""
    folder = tmp_path_factory.mktemp("faq-widgets")
    where: dict[str, str] = {}
    host = LiveServer(host_app(lambda: where["service"]))
    settings = settings_for(folder, allowed_origins=(host.url,))
    service = LiveServer(create_app(FORMS, settings, faqs=FAQS))
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


def in_store(site: Site, call: Callable[[Any], Any]) -> Any:
    """What ``call(store)`` gives on a store of the service's own database
    (in a thread of its own: Playwright's loop runs in this one)."""

    async def run() -> Any:
        async with open_store(f"sqlite:///{site.database}") as store:
            return await call(store)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def counts_since(site: Site, since: dt.datetime) -> FaqCounts:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    counts: FaqCounts = in_store(site, lambda store: store.faq_counts(since, later))
    return counts


def submission(site: Site, reference: str) -> StoredSubmission:
    found: StoredSubmission | None = in_store(site, lambda store: store.get(reference))
    assert found is not None, f"{reference} is not in the store"
    return found


def submissions_count(site: Site) -> int:
    with sqlite3.connect(site.database) as db:
        (count,) = db.execute("SELECT count(*) FROM submissions").fetchone()
    return int(count)


def eventually(read: Callable[[], _T], expected: _T, timeout: float = 5) -> None:
    """``read()`` comes to equal ``expected``: feedback is posted without waiting."""
    deadline = time.monotonic() + timeout
    while (got := read()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{got!r} != {expected!r}")
        time.sleep(0.05)


def now() -> dt.datetime:
    """The start of a test: the store counts the searches made since."""
    return dt.datetime.now(dt.UTC)


# -- what a customer does --------------------------------------------------------------


def tell(dialog: Locator, words: str) -> None:
    """Write ``words`` as the answer to "What is it about?" and send them."""
    expect(log_of(dialog)).to_contain_text(FI["words"])
    area = dialog.locator(".cmp").get_by_label(FI["words"])
    expect(area).to_be_focused()
    area.fill(words)
    # Enter starts a new line in a text area; the keyboard reaches Send with Tab.
    dialog.page.keyboard.press("Tab")
    expect(dialog.locator(".cmp").get_by_role("button", name=FI["send"])).to_be_focused()
    dialog.page.keyboard.press("Enter")


def answers_of(dialog: Locator) -> Locator:
    """The answers found, each a disclosure named by its question."""
    return log_of(dialog).locator(".faq details")


def expect_answers(dialog: Locator, first: str) -> int:
    """The answers are shown (the first being ``first``) and counted in words."""
    found = answers_of(dialog)
    expect(found.first.locator("summary")).to_have_text(first)
    count = found.count()
    expect(log_of(dialog)).to_contain_text(FI["found"].format(n=count))
    # Closed until opened; the customer's choice is offered below.
    expect(found.first).not_to_have_attribute("open", "")
    expect(dialog.get_by_role("button", name=FI["helped"])).to_be_focused()
    expect(dialog.get_by_role("button", name=FI["more"])).to_be_visible()
    return count


# -- 1. the chat answers, and ends there -----------------------------------------------


def test_chat_answers_a_winter_tyre_question(guest: Guest, site: Site) -> None:
    since = now()
    before = submissions_count(site)
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    # A person can be asked for from the start.
    expect(dialog.get_by_role("button", name=FI["person"])).to_be_visible()
    tell(dialog, WINTER)
    expect(log_of(dialog).locator(".u").first).to_have_text(WINTER)
    expect_answers(dialog, WINTER_QUESTION)

    # Opened with the keyboard: the answer shows, and the service hears of it.
    first = answers_of(dialog).first
    page.keyboard.press("Shift+Tab")
    last_summary = answers_of(dialog).last.locator("summary")
    expect(last_summary).to_be_focused()
    first.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(first).to_have_attribute("open", "")
    expect(first).to_contain_text("joulukuun alusta helmikuun loppuun")
    # A link in an answer leads to the service, not to the host site.
    link = first.get_by_role("link")
    assert (link.get_attribute("href") or "").startswith(f"{site.service}/forms/car-service")
    eventually(lambda: counts_since(site, since).opened, 1)

    dialog.get_by_role("button", name=FI["helped"]).click()
    glad = log_of(dialog).locator(".done")
    expect(glad).to_have_text(FI["glad"])
    expect(glad).to_be_focused()
    expect(log_of(dialog)).to_contain_text(FI["helped"])
    expect(dialog.get_by_role("button", name=FI["more"])).to_have_count(0)
    expect(dialog.get_by_role("button", name=FI["person"])).to_be_hidden()
    eventually(
        lambda: counts_since(site, since),
        FaqCounts(searches=1, answered=1, no_answer=0, opened=1, helpful=1),
    )
    assert submissions_count(site) == before, "a deflected question is no submission"

    # Closing ends the conversation; the next one starts with the words again.
    dialog.locator(".cmp").get_by_role("button", name=FI["close"]).click()
    expect(dialog).to_be_hidden()
    dialog = open_chat(page)
    expect(log_of(dialog)).not_to_contain_text(WINTER)
    expect(dialog.locator(".cmp").get_by_label(FI["words"])).to_be_focused()


# -- 2. on to the form, the words kept -----------------------------------------------


def test_chat_goes_on_to_the_form_with_the_words_kept(guest: Guest, site: Site) -> None:
    since = now()
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    tell(dialog, RATTLE)
    shown = expect_answers(dialog, "Paljonko renkaanvaihto maksaa ja kauanko se kestää?")
    questions = answers_of(dialog).locator("summary").all_inner_texts()

    # A reload keeps the words and the answers, as the rest of the chat.
    (kept,) = session(page).values()
    assert kept["w"]["q"] == RATTLE and len(kept["w"]["r"]) == shown
    page.reload()
    dialog = page.get_by_role("dialog", name="Huoltovaraus")
    expect(dialog).to_be_visible()
    expect(answers_of(dialog)).to_have_count(shown)

    dialog.get_by_role("button", name=FI["more"]).click()
    expect(log_of(dialog)).to_contain_text(FI["more"])
    eventually(lambda: counts_since(site, since).continued, 1)
    answer(dialog, "Rekisterinumero", "abc123")
    answer(dialog, "Merkki ja malli", "Toyota Corolla 2018")
    answer(dialog, "Mittarilukema", "184 000")
    reply(dialog, "Mitä tarvitset?", "Korjaus")
    # The description of the fault is the customer's own words, given already.
    asked(dialog, "Toivottu päivä")
    log = log_of(dialog)
    expect(log.locator(".u").filter(has_text=RATTLE)).to_have_count(2)
    expect(log.get_by_role("button", name=f"{FI['edit']}: Kuvaile vika")).to_be_visible()
    dialog.get_by_role("button", name=FI["skip"]).click()
    answer(dialog, "Nimi", "Matti Meikäläinen")
    answer(dialog, "Sähköposti", "matti@example.com")
    dialog.get_by_role("button", name=FI["skip"]).click()
    reply(dialog, "Hyväksyn, että tietojani käytetään huollon varaamiseen.", FI["yes"])
    dialog.locator(".cmp").get_by_role("button", name=FI["send"]).click()
    reference = dialog.locator(".ref")
    expect(reference).to_have_text(REFERENCE)

    stored = submission(site, reference.inner_text())
    assert stored.data["symptoms"] == RATTLE
    assert stored.context is not None
    faq = stored.context["faq"]
    assert faq["search"] == kept["w"]["s"]
    assert [item["question"] for item in faq["shown"]] == questions
    assert "incomplete" not in stored.context


# -- 3. the form proposed from the words -------------------------------------------------


def test_chat_without_a_form_proposes_one_from_the_words(guest: Guest, site: Site) -> None:
    page = guest.open("intake-chat", html_lang="fi")
    dialog = open_chat(page, FI["open"])
    # The topics stay below the words, for a customer who would rather pick.
    others = dialog.locator(".cmp").get_by_role("group", name=FI["other"])
    expect(others.get_by_role("button")).to_have_count(len(FORMS))
    words = "laskussa on virhe"
    tell(dialog, words)
    found = answers_of(dialog)
    expect(found.first).to_be_attached()
    dialog.get_by_role("button", name=FI["more"]).click()

    billing = next(form for form in FORMS if form.id == "billing-question").title("fi")
    expect(log_of(dialog)).to_contain_text(FI["isit"].format(title=billing))
    yes = dialog.locator(".cmp").get_by_role("button", name=FI["yes"], exact=True)
    expect(yes).to_be_focused()
    expect(dialog.locator(".cmp").get_by_role("group", name=FI["other"])).to_be_visible()
    yes.click()

    dialog = page.get_by_role("dialog", name=billing)
    expect(dialog).to_be_visible()
    asked(dialog, "Laskun numero")
    # The words wait for the message question, where they are the answer.
    (kept,) = session(page).values()
    assert kept["w"]["q"] == words


# -- 4. talk to a person -----------------------------------------------------------------


def test_talk_to_a_person_sends_what_is_answered(guest: Guest, site: Site) -> None:
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    tell(dialog, WINTER)
    expect_answers(dialog, WINTER_QUESTION)
    dialog.get_by_role("button", name=FI["more"]).click()
    answer(dialog, "Rekisterinumero", "abc123")
    asked(dialog, "Merkki ja malli")

    dialog.get_by_role("button", name=FI["person"]).click()
    log = log_of(dialog)
    expect(log).to_contain_text(FI["reach"])
    expect(dialog.get_by_role("button", name=FI["person"])).to_be_hidden()
    # A wrong address is refused like any answer, and asked again.
    answer(dialog, "Sähköposti", "matti@")
    expect(log.locator(".bad")).to_be_visible()
    answer(dialog, "Sähköposti", "matti@example.com")

    done = log.locator(".done")
    expect(done).to_contain_text(FI["handed"])
    reference = done.locator(".ref")
    expect(reference).to_have_text(REFERENCE)
    stored = submission(site, reference.inner_text())
    assert stored.data["plate"] == "ABC-123"
    assert stored.data["email"] == "matti@example.com"
    assert stored.context is not None
    missing = stored.context["incomplete"]["missing"]
    assert {"model", "mileage", "service", "name"} <= set(missing)
    assert "plate" not in missing and "email" not in missing
    assert stored.context["faq"]["shown"][0]["entry"] == "winter-tyres"


def test_talk_to_a_person_from_the_answers(guest: Guest, site: Site) -> None:
    since = now()
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    tell(dialog, WINTER)
    expect_answers(dialog, WINTER_QUESTION)
    dialog.get_by_role("button", name=FI["person"]).click()
    # Going to a person is going on: the answers did not do.
    expect(dialog.get_by_role("button", name=FI["helped"])).to_have_count(0)
    eventually(lambda: counts_since(site, since).continued, 1)
    answer(dialog, "Sähköposti", "matti@example.com")
    reference = log_of(dialog).locator(".ref")
    expect(reference).to_have_text(REFERENCE)
    stored = submission(site, reference.inner_text())
    assert stored.data == {"email": "matti@example.com"}
    assert stored.context is not None
    assert stored.context["faq"]["shown"][0]["entry"] == "winter-tyres"
    assert "plate" in stored.context["incomplete"]["missing"]


def test_talk_to_a_person_with_the_way_to_reach_given_sends_at_once(
    guest: Guest, site: Site
) -> None:
    page = guest.open("intake-chat", form="billing-question", lang="fi")
    dialog = open_chat(page, "Kysymys laskusta")
    tell(dialog, "ei löydy mitään tällaista")
    expect(log_of(dialog)).to_contain_text(FI["none"])
    # No answers: straight on to the questions, no _faq sent.
    answer(dialog, "Laskun numero", "1234567")
    person = dialog.get_by_role("button", name=FI["person"])
    expect(person).to_be_visible()
    person.click()
    answer(dialog, "Sähköposti", "maija@example.com")
    reference = log_of(dialog).locator(".ref")
    expect(reference).to_have_text(ANY_REFERENCE)
    stored = submission(site, reference.inner_text())
    assert stored.context is not None
    assert "faq" not in stored.context
    assert stored.data["message"] == "ei löydy mitään tällaista"


# -- 5. suggestions as the customer types ------------------------------------------------


def open_form_page(guest: Guest, path: str) -> Page:
    """A page of the service itself (the hosted form), noted like the host pages."""
    context = guest.browser.new_context(viewport=PHONE, locale="fi-FI")
    guest.contexts.append(context)
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.on("console", guest._console)
    page.on("response", guest._response)
    page.on("pageerror", lambda error: guest.problems.append(f"uncaught: {error}"))
    response = page.goto(f"{guest.site.service}{path}")
    assert response is not None and response.ok
    return page


def suggestions_shown(box: Locator, field: Locator) -> Locator:
    """The answers suggested in ``box`` for the winter-tyre question typed
    into ``field``, which keeps the focus; the first of them."""
    field.focus()
    field.press_sequentially("ab")
    page = field.page
    page.wait_for_timeout(600)
    expect(box).to_be_empty()  # fewer than 3 characters: no search
    field.fill("")
    field.press_sequentially(WINTER, delay=5)
    expect(box).to_have_attribute("aria-live", "polite")
    expect(box).to_contain_text(FI["maybe"])
    first = box.locator("details").first
    expect(first.locator("summary")).to_have_text(WINTER_QUESTION)
    expect(field).to_be_focused()
    return first


def test_hosted_form_suggests_answers_and_sends_which(guest: Guest, site: Site) -> None:
    since = now()
    page = open_form_page(guest, "/forms/car-service?lang=fi")
    form = page.locator("form.intake-form")
    expect(form).to_have_attribute("data-faq", "/faq/search?form=car-service")
    page.get_by_label("Korjaus", exact=True).check()
    symptoms = page.get_by_label("Kuvaile vika")
    first = suggestions_shown(page.locator("[data-field=symptoms] .intake-faq"), symptoms)
    kept = form.locator("input[type=hidden][name=_faq]")
    expect(kept).to_have_value(re.compile(r"^[0-9a-f]{32}$"))
    search = kept.input_value()

    first.locator("summary").click()
    expect(first).to_contain_text("joulukuun alusta helmikuun loppuun")
    eventually(lambda: counts_since(site, since).opened, 1)

    answers = {
        "Rekisterinumero": "abc123",
        "Merkki ja malli": "Saab 9-3",
        "Mittarilukema": "120 000",
        "Nimi": "Matti Meikäläinen",
        "Sähköposti": "matti@example.com",
    }
    for label, value in answers.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Hyväksyn, että tietojani käytetään huollon varaamiseen.").check()
    page.get_by_role("button", name="Lähetä").click()
    reference = page.locator("#intake-reference")
    expect(reference).to_have_text(REFERENCE)
    stored = submission(site, reference.inner_text().strip())
    assert stored.data["symptoms"] == WINTER
    assert stored.context == {
        "faq": {
            "search": search,
            "shown": [{"faq": "workshop", "entry": "winter-tyres", "question": WINTER_QUESTION}],
        }
    }
    counts = counts_since(site, since)
    assert (counts.opened, counts.answered) == (1, 1)


def test_inline_widget_suggests_answers_and_sends_which(guest: Guest, site: Site) -> None:
    page = guest.open("intake-form", form="car-service", lang="fi")
    form = page.locator("intake-form form")
    form.get_by_label("Korjaus", exact=True).check()
    symptoms = form.get_by_label("Kuvaile vika")
    box = form.locator("[data-n=symptoms] .sug")
    first = suggestions_shown(box, symptoms)
    first.locator("summary").click()
    expect(first).to_contain_text("joulukuun alusta helmikuun loppuun")

    answers = {
        "Rekisterinumero": "abc123",
        "Merkki ja malli": "Saab 9-3",
        "Mittarilukema": "120 000",
        "Nimi": "Matti Meikäläinen",
        "Sähköposti": "matti@example.com",
    }
    for label, value in answers.items():
        form.get_by_label(label).fill(value)
    form.get_by_label("Hyväksyn, että tietojani käytetään huollon varaamiseen.").check()
    form.get_by_role("button", name=FI["send"]).click()
    reference = page.locator("intake-form .ref")
    expect(reference).to_have_text(REFERENCE)
    stored = submission(site, reference.inner_text())
    assert stored.context is not None
    assert [item["entry"] for item in stored.context["faq"]["shown"]] == ["winter-tyres"]


def test_a_failed_search_leaves_the_form_as_it_is(guest: Guest, site: Site) -> None:
    page = open_form_page(guest, "/forms/car-service?lang=fi")
    page.route("**/faq/search*", lambda route: route.abort())
    guest.problems.clear()
    page.get_by_label("Korjaus", exact=True).check()
    symptoms = page.get_by_label("Kuvaile vika")
    symptoms.press_sequentially(WINTER, delay=5)
    page.wait_for_timeout(800)
    expect(page.locator(".intake-faq")).to_be_empty()
    expect(symptoms).to_be_focused()
    expect(page.locator("input[name=_faq]")).to_have_count(0)
    guest.problems[:] = [p for p in guest.problems if "ERR_FAILED" not in p]


# -- 6. axe-core ----------------------------------------------------------------------


def _chat_with_answers(guest: Guest) -> Page:
    page = guest.open("intake-chat", form="car-service", lang="fi")
    dialog = open_chat(page)
    tell(dialog, RATTLE)
    expect_answers(dialog, "Paljonko renkaanvaihto maksaa ja kauanko se kestää?")
    answers_of(dialog).first.locator("summary").click()
    return page


def _form_with_suggestions(guest: Guest) -> Page:
    page = open_form_page(guest, "/forms/car-service?lang=fi")
    page.get_by_label("Korjaus", exact=True).check()
    first = suggestions_shown(page.locator(".intake-faq"), page.get_by_label("Kuvaile vika"))
    first.locator("summary").click()
    return page


def _inline_with_suggestions(guest: Guest) -> Page:
    page = guest.open("intake-form", form="car-service", lang="fi")
    form = page.locator("intake-form form")
    form.get_by_label("Korjaus", exact=True).check()
    suggestions_shown(form.locator(".sug"), form.get_by_label("Kuvaile vika"))
    return page


SCENARIOS: dict[str, Callable[[Guest], Page]] = {
    "faq-chat-answers": _chat_with_answers,
    "faq-form-suggestions": _form_with_suggestions,
    "faq-inline-suggestions": _inline_with_suggestions,
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
