"""The hosted page's sections, steps, theme and own thanks text, as rendered
(the browser side is in test_web_browser_live.py).

The specs here are the car-service form's with sections and pages put in
as compile_spec gives them (``{"type": "section", "name": "section-1", …}``),
so the page is tested whatever the examples hold.
"""

from __future__ import annotations

import copy
from typing import Any

from test_render import CAR, HOSTILE, LANGUAGES, TODAY, Page

from intakeforms import FieldError
from intakeforms.render import render_form_page, render_thanks_page


def stepped(locale: str = "en") -> dict[str, Any]:
    """car-service with a section first, a titled page before "service"
    and an untitled one before "name"."""
    spec = copy.deepcopy(CAR.spec(locale, TODAY))
    fields = spec["fields"]
    names = [f["name"] for f in fields]
    fields.insert(names.index("name"), {"type": "page", "name": "page-2", "title": None})
    fields.insert(names.index("service"), {"type": "page", "name": "page-1", "title": "The work"})
    fields.insert(
        0,
        {"type": "section", "name": "section-1", "title": "Your car", "text": "See the papers."},
    )
    return spec


def page_of(spec: dict[str, Any], **options: Any) -> Page:
    return Page(
        render_form_page(
            spec,
            action="/forms/car-service/submissions?lang=en",
            hidden={"_token": "t"},
            languages=LANGUAGES,
            **options,
        )
    )


def test_a_section_is_a_heading_with_its_text() -> None:
    spec = copy.deepcopy(CAR.spec("en", TODAY))
    spec["fields"].insert(
        1, {"type": "section", "name": "section-1", "title": "Your car", "text": "Line\ntwo"}
    )
    page = page_of(spec)
    section = page.by_id["intake-section-1"]
    assert section.find("h2").text == "Your car"
    assert section.find("p", **{"class": "intake-section__text"}).text == "Line\ntwo"
    # No answer, no control, no steps.
    assert not page.find_all("section")
    assert not page.find_all("input", name="section-1")
    assert [s.get("src") for s in page.find_all("script")][-1] == "/assets/live.js"


def test_pages_make_steps_each_with_its_heading() -> None:
    page = page_of(stepped())
    steps = page.find_all("section", **{"class": "intake-step"})
    assert [s.get("id") for s in steps] == ["intake-step-1", "intake-step-2", "intake-step-3"]
    titles = [s.find("h2") for s in steps]
    assert [t.text for t in titles] == [
        "Step 1 of 3",
        "Step 2 of 3 The work",
        "Step 3 of 3",
    ]
    for step, title in zip(steps, titles, strict=True):
        assert step.get("aria-labelledby") == title.get("id")
        assert title.get("tabindex") == "-1"  # steps.js moves the focus there
    # Sections inside steps are one level down.
    assert steps[0].find("h3").text == "Your car"
    fields = [
        [w.get("data-field") for w in s.find_all("div") if w.has("data-field")] for s in steps
    ]
    assert fields[0] == ["plate", "model", "mileage"]
    assert fields[1][0] == "service" and fields[2][0] == "name"
    # One form, one Send: without JavaScript it is sent whole.
    assert len(page.find_all("form")) == 1
    form = page.find("form")
    assert (form.get("data-steps-next"), form.get("data-steps-back")) == ("Next", "Back")
    scripts = [s.get("src") for s in page.find_all("script")]
    assert scripts[-2:] == ["/assets/live.js", "/assets/steps.js"]


def test_steps_are_translated() -> None:
    page = page_of(stepped("fi"))
    titles = [s.find("h2").text for s in page.find_all("section")]
    assert titles[0] == "Vaihe 1/3"
    form = page.find("form")
    assert (form.get("data-steps-next"), form.get("data-steps-back")) == ("Seuraava", "Takaisin")


def test_an_empty_step_is_left_out() -> None:
    spec = stepped()
    spec["fields"].insert(0, {"type": "page", "name": "page-0", "title": None})
    spec["fields"].append({"type": "page", "name": "page-9", "title": "Nothing"})
    page = page_of(spec)
    assert len(page.find_all("section")) == 3


def test_errors_in_a_later_step_link_to_their_question() -> None:
    error = FieldError("name", "required", "Write your name.")
    page = page_of(stepped(), errors=[error], values={"plate": "ABC-123"})
    link = page.find("div", **{"class": "intake-error-summary"}).find("a")
    assert link.get("href") == "#field-name"
    assert page.by_id["field-name-error"].text.endswith("Write your name.")


def test_theme_logo_and_stylesheets() -> None:
    spec = stepped()
    spec["theme"] = {"accent": "#0b5fff", "logo": "https://cdn.example/logo.svg"}
    page = page_of(spec, stylesheets=["/forms/car-service/theme.css?v=1", "/site.css"])
    links = [link.get("href") for link in page.find_all("link", rel="stylesheet")]
    assert links == ["/assets/form.css", "/forms/car-service/theme.css?v=1", "/site.css"]
    logo = page.find("img", **{"class": "intake-logo"})
    assert logo.get("src") == "https://cdn.example/logo.svg" and logo.get("alt") == ""


def test_no_theme_no_logo_no_more_stylesheets() -> None:
    page = page_of(CAR.spec("en", TODAY))
    assert not page.find_all("img")
    assert len(page.find_all("link", rel="stylesheet")) == 1


def test_thanks_text_replaces_the_received_words() -> None:
    spec = CAR.spec("fi", TODAY)
    spec["thanks"] = {"url": None, "text": f"Kiitos! Soitamme. {HOSTILE}"}
    spec["theme"] = {"accent": None, "logo": "https://cdn.example/logo.svg"}
    html = render_thanks_page(spec, reference="CAR-4F7K2Q", stylesheets=["/site.css"])
    page = Page(html)
    assert f"Kiitos! Soitamme. {HOSTILE}" in [p.text for p in page.find_all("p")]
    assert "Olemme vastaanottaneet viestisi" not in html
    assert "<script>alert" not in html
    assert page.find("img").get("src") == "https://cdn.example/logo.svg"
    assert page.find_all("link", rel="stylesheet")[-1].get("href") == "/site.css"
    # The reference stays.
    assert page.by_id["intake-reference"].text == "CAR-4F7K2Q"
