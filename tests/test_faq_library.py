"""A site's FAQ files as one library: languages, topics, safe answers."""

from __future__ import annotations

from conftest import EXAMPLES
from web_helpers import FORMS

from intakeforms.faq.library import FaqLibrary, answer_html
from intakeforms.faq.load import load_faq_text, load_faqs

WORKSHOP = load_faqs([EXAMPLES], forms=FORMS)


SHOP = load_faq_text(
    """\
faq: shop
locales: [en, sv]
entries:
  - id: opening-hours
    question: {en: When is the shop open?, sv: När har butiken öppet?}
    answer: {en: "Every day from 10 to 18.", sv: "Varje dag 10–18."}
    forms: [product-return]
"""
)


def test_languages_come_from_the_faq_files_first_is_default() -> None:
    library = FaqLibrary([*WORKSHOP, SHOP], FORMS)
    assert library.languages == ["fi", "sv", "en"]
    assert library.language("de") == "fi"
    assert library.language(None, "sv-FI,sv;q=0.9") == "sv"
    assert library.language("en-GB") == "en"


def test_two_files_may_use_the_same_entry_id() -> None:
    library = FaqLibrary([*WORKSHOP, SHOP], FORMS)
    shop = library.search("when is the shop open", "en")
    assert (shop[0].faq, shop[0].id) == ("shop", "opening-hours")
    workshop = library.search("aukioloajat", "fi")
    assert (workshop[0].faq, workshop[0].id) == ("workshop", "opening-hours")


def test_a_language_the_faq_lacks_shows_its_default_text() -> None:
    library = FaqLibrary([SHOP])
    assert library.languages == ["en", "sv"]
    assert library.search("shop open", "fi")[0].question == "When is the shop open?"


def test_offered_before_follows_the_entries_forms() -> None:
    library = FaqLibrary([SHOP], FORMS)
    assert library.offered_before("product-return")
    assert not library.offered_before("car-service")
    # An entry with no forms: is offered before every form.
    assert FaqLibrary(WORKSHOP, FORMS).offered_before("address-change")


def test_topics_from_the_forms_own_words_and_from_answers_tied_to_one_form() -> None:
    library = FaqLibrary(WORKSHOP, FORMS)
    assert [t.form for t in library.topics("muutin uuteen osoitteeseen", "fi")] == [
        "address-change"
    ]
    # "jarrut kitisevät" is in no form's text, but its answer is offered
    # before the car service booking alone.
    assert library.topics("jarrut kitisevät", "fi")[0].form == "car-service"
    assert library.topics("asdf qwerty", "fi") == []
    assert library.topics("", "fi") == []


def test_answers_are_markdown_without_raw_html_or_images() -> None:
    html = answer_html(
        "- one\n- two\n\n<b>bold</b> [x](javascript:alert(1)) ![p](https://t.example/p.gif)"
    )
    assert "<ul>\n<li>one</li>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript:' not in html
    # An image is not loaded in the customer's page: it stays a link.
    assert "<img" not in html and '<a href="https://t.example/p.gif">p</a>' in html
