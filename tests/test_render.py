"""The HTML form page and the thank-you page: controls, accessibility wiring,
errors, kept answers, escaping, translations, and form.js's conditions.

``CONDITION_CASES`` and :func:`server_evaluate` are also meant for the browser
tests: each case is what a browser would post for the condition's questions,
and whether the server would ask the question; form.js must agree.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT, make_form

from intakeforms import FieldError, Form, load_form
from intakeforms.fields import FieldProblem
from intakeforms.language.conditions import AllOf, AnyOf, Compare, Condition, evaluate
from intakeforms.language.models import FIELD_TYPES
from intakeforms.render import (
    ASSETS_DIR,
    UI_TEXTS,
    condition_text,
    render_form_page,
    render_thanks_page,
)
from intakeforms.validate import check_answer, is_blank

TODAY = dt.date(2026, 11, 23)
EVERY = load_form(ROOT / "tests" / "forms" / "every-type.yaml")
CAR = load_form(EXAMPLES / "car-service" / "car-service.yaml")
LANGUAGES = [
    ("fi", "Suomi", "/forms/car-service?lang=fi"),
    ("sv", "Svenska", "/forms/car-service?lang=sv"),
    ("en", "English", "/forms/car-service?lang=en"),
]
HOSTILE = '"><script>alert(1)</script>'
TEMPLATE_CODE = "{{ 7*7 }}"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


# -- a small DOM from html.parser ------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def has(self, name: str) -> bool:
        return name in self.attrs

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag)
            and all(e.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        (found,) = self.find_all(tag, **attrs)
        return found

    def ancestor(self, tag: str) -> Element | None:
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class Page(HTMLParser):
    """The parsed page: ``root`` holds the element tree, ``by_id`` every id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.root = Element("#document", {})
        self._open = [self.root]
        self.feed(html)
        self.close()
        self.by_id: dict[str, Element] = {}
        for element in self.root.iter():
            if element.get("id") is not None:
                assert element.get("id") not in self.by_id, f"duplicate id {element.get('id')}"
                self.by_id[str(element.get("id"))] = element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self._open[-1])
        self._open[-1].children.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self._open) > 1:
            if self._open.pop().tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return self.root.find_all(tag, **attrs)

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        return self.root.find(tag, **attrs)

    def control(self, name: str) -> Element:
        (found,) = [
            e
            for e in self.root.iter()
            if e.tag in ("input", "textarea", "select") and e.get("name") == name
        ]
        return found

    def controls(self, name: str) -> list[Element]:
        return [e for e in self.root.iter() if e.get("name") == name and e.tag == "input"]

    def wrapper(self, name: str) -> Element:
        return self.find("div", data_field=name)

    def label_for(self, control_id: str) -> Element:
        return self.find("label", **{"for": control_id})


def render(
    form: Form = EVERY,
    locale: str = "en",
    *,
    values: Mapping[str, str | Sequence[str]] | None = None,
    errors: Sequence[FieldError] = (),
    spec: dict[str, Any] | None = None,
) -> Page:
    return Page(
        render_form_page(
            spec or form.spec(locale, today=TODAY),
            action="/forms/x/submissions",
            values=values,
            errors=errors,
            hidden={"_token": "t0ken", "_submission": "s1"},
            honeypot="_homepage",
            languages=LANGUAGES,
            assets="/assets",
        )
    )


def describedby(page: Page, element: Element) -> list[Element]:
    return [page.by_id[i] for i in (element.get("aria-describedby") or "").split()]


# -- every control ----------------------------------------------------------------

#: (tag, attributes the control must have) for one field of each type.
EXPECTED: dict[str, tuple[str, dict[str, str | None]]] = {
    "text": ("input", {"type": "text"}),
    "textarea": ("textarea", {}),
    "email": (
        "input",
        {"type": "email", "autocomplete": "email", "spellcheck": "false"},
    ),
    "phone": ("input", {"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    "url": ("input", {"type": "url", "inputmode": "url"}),
    "integer": ("input", {"type": "text", "inputmode": "numeric"}),
    "number": ("input", {"type": "text", "inputmode": "decimal"}),
    "choice": ("input", {"type": "radio"}),
    "multichoice": ("input", {"type": "checkbox"}),
    "boolean": ("input", {"type": "radio"}),
    "consent": ("input", {"type": "checkbox", "value": "true"}),
    "date": ("input", {"type": "date", "min": "2020-01-01", "max": "2040-12-31"}),
    "time": ("input", {"type": "time", "min": "08:00", "max": "18:00"}),
    "file": ("input", {"type": "file", "accept": "image/png,image/jpeg", "multiple": None}),
    "plate": (
        "input",
        {"type": "text", "autocapitalize": "characters", "autocomplete": "off"},
    ),
    "vin": ("input", {"type": "text", "autocapitalize": "characters", "spellcheck": "false"}),
    "iban": ("input", {"type": "text", "autocapitalize": "characters"}),
    "postal_code": (
        "input",
        {"type": "text", "autocomplete": "postal-code", "inputmode": "numeric"},
    ),
    "national_id": ("input", {"type": "text", "autocomplete": "off"}),
    "business_id": ("input", {"type": "text", "spellcheck": "false"}),
    "hidden": ("input", {"type": "hidden"}),
}


def test_every_type_is_expected_and_in_the_test_form() -> None:
    assert set(EXPECTED) == set(FIELD_TYPES)
    assert {f.type for f in EVERY.definition.fields} == set(FIELD_TYPES)


@pytest.mark.parametrize("spec_field", EVERY.spec("en", TODAY)["fields"], ids=lambda f: f["name"])
def test_every_field_type_renders_its_control(spec_field: dict[str, Any]) -> None:
    page = render()
    tag, attrs = EXPECTED[spec_field["type"]]
    name = spec_field["name"]
    controls = [e for e in page.root.iter() if e.get("name") == name]
    assert controls, name
    for control in controls:
        assert control.tag == tag
        for key, value in attrs.items():
            assert control.has(key), (name, key)
            assert control.get(key) == value, (name, key, control.get(key))
        assert not control.has("pattern"), "the server's messages are the only ones"
        assert control.get("maxlength") == (
            None if spec_field.get("max_length") is None else str(spec_field["max_length"])
        )
        # A required box in a multichoice group would demand every box.
        required = spec_field["required"] and spec_field["type"] != "multichoice"
        assert control.has("required") is required, name
    assert page.wrapper(name).get("data-type") == spec_field["type"]
    if spec_field["type"] in ("choice", "multichoice", "boolean"):
        fieldset = page.wrapper(name).find("fieldset")
        assert spec_field["label"] in fieldset.find("legend").text
        assert [c.get("value") for c in controls] == (
            ["true", "false"]
            if spec_field["type"] == "boolean"
            else [c["value"] for c in spec_field["choices"]]
        )
        assert [page.label_for(str(c.get("id"))).text for c in controls] == (
            ["Yes", "No"]
            if spec_field["type"] == "boolean"
            else [c["label"] for c in spec_field["choices"]]
        )


def test_boolean_radios_are_translated() -> None:
    page = render(locale="fi")
    labels = [page.label_for(str(c.get("id"))).text for c in page.controls("urgent")]
    assert labels == ["Kyllä", "Ei"]


def test_multichoice_boxes_are_not_each_required() -> None:
    form = make_form(
        "- {name: extras, type: multichoice, required: true, label: Extras, choices: {a: A, b: B}}"
    )
    page = render(form)
    assert all(not box.has("required") for box in page.controls("extras"))
    assert "(required)" in page.wrapper("extras").find("legend").text


def test_unit_follows_the_input_and_describes_it() -> None:
    page = render()
    km = page.control("km")
    unit = page.by_id["field-km-unit"]
    assert unit.text == "km"
    assert unit in describedby(page, km)


def test_many_choices_make_a_select_with_an_empty_first_option() -> None:
    choices = ", ".join(f"c{i}: Choice {i}" for i in range(9))
    form = make_form(f"- {{name: pick, type: choice, label: Pick, choices: {{{choices}}}}}")
    page = render(form, values={"pick": "c3"})
    select = page.control("pick")
    assert select.tag == "select"
    options = select.find_all("option")
    assert options[0].get("value") == ""
    assert options[0].text == "Choose one"
    assert [o.get("value") for o in options[1:]] == [f"c{i}" for i in range(9)]
    assert [o.get("value") for o in options if o.has("selected")] == ["c3"]
    assert page.label_for("field-pick").text == "Pick"


def test_the_form_posts_multipart_only_with_a_file_question() -> None:
    form = render().find("form")
    assert form.get("enctype") == "multipart/form-data"
    assert form.get("method") == "post"
    assert form.get("action") == "/forms/x/submissions"
    assert form.has("novalidate")
    assert not render(CAR).find("form").has("enctype")


def test_file_input_is_never_refilled_and_asks_again_after_an_error() -> None:
    page = render(values={"photos": "cat.png"}, errors=[FieldError("name", "required", "No.")])
    photos = page.control("photos")
    assert not photos.has("value")
    notes = [e.text for e in describedby(page, photos)]
    assert any("Choose the file again" in n for n in notes)
    assert any("PNG, JPEG" in n and "2 MB" in n for n in notes)
    assert "Choose the file again" not in render().html


# -- structure and accessibility wiring ----------------------------------------------


@pytest.mark.parametrize("locale", ["en", "fi"])
def test_page_structure(locale: str) -> None:
    page = render(CAR, locale)
    spec = CAR.spec(locale, TODAY)
    assert page.find("html").get("lang") == locale
    assert page.find("meta", name="viewport").get("content") == (
        "width=device-width, initial-scale=1"
    )
    assert page.find("title").text == spec["title"]
    main = page.find("main")
    assert main.find("h1").text == spec["title"]
    assert main.find("p", **{"class": "intake-description"}).text == spec["description"]
    assert main.find("form")
    assert page.find("link", rel="stylesheet").get("href") == "/assets/form.css"
    script, visit, live = page.find_all("script")
    assert script.get("src") == "/assets/form.js"
    assert script.has("defer")
    # The visit's events, for the statistics (docs/widgets.md).
    assert visit.get("src") == "/assets/visit.js" and visit.has("defer")
    # Each answer checked by the server as the customer leaves it.
    assert live.get("src") == "/assets/live.js" and live.has("defer")
    error_prefix = {"en": "Error:", "fi": "Virhe:"}[locale]
    assert page.find("form").get("data-error-prefix") == error_prefix
    # The icon every page names, so that browsers do not ask for /favicon.ico.
    icon = page.find("link", rel="icon")
    assert icon.get("href") == "/assets/favicon.svg" and icon.get("type") == "image/svg+xml"
    send = {"en": "Send", "fi": "Lähetä"}[locale]
    assert page.find("form").find("button", type="submit").text == send


def test_language_switcher() -> None:
    nav = render(CAR, "sv").find("nav")
    assert nav.get("aria-label") == "Språk"
    links = nav.find_all("a")
    assert [(a.get("hreflang"), a.get("lang"), a.text) for a in links] == [
        ("fi", "fi", "Suomi"),
        ("sv", "sv", "Svenska"),
        ("en", "en", "English"),
    ]
    assert [a.get("aria-current") for a in links] == [None, "true", None]
    assert links[0].get("href") == "/forms/car-service?lang=fi"


def test_one_language_needs_no_switcher() -> None:
    html = render_form_page(CAR.spec("fi"), action="/x", languages=LANGUAGES[:1])
    assert Page(html).find_all("nav") == []


@pytest.mark.parametrize(("form", "locale"), [(EVERY, "en"), (EVERY, "fi"), (CAR, "sv")])
def test_labels_and_descriptions_are_tied(form: Form, locale: str) -> None:
    errors = [FieldError(f.name, "x", "Wrong.") for f in form.definition.questions]
    for page in (render(form, locale), render(form, locale, errors=errors)):
        for control in page.find_all():
            if control.tag not in ("input", "select", "textarea"):
                continue
            if control.get("type") == "hidden":
                continue
            assert page.label_for(str(control.get("id"))), control.get("name")
        for element in page.find_all():
            for target in (element.get("aria-describedby") or "").split():
                assert target in page.by_id, target
            for target in (element.get("aria-labelledby") or "").split():
                assert target in page.by_id, target


def test_required_questions_are_marked_in_words() -> None:
    page = render(CAR, "fi")
    assert "(pakollinen)" in page.label_for("field-plate").text
    assert page.control("plate").has("required")
    assert not page.control("phone").has("required")
    assert "(pakollinen)" not in page.label_for("field-phone").text


def test_hidden_inputs_and_honeypot() -> None:
    page = render()
    hidden = {e.get("name"): e.get("value") for e in page.find_all("input", type="hidden")}
    # A hidden question is a hidden input too, empty without an answer.
    assert hidden == {"_token": "t0ken", "_submission": "s1", "campaign": ""}
    trap = page.control("_homepage")
    assert trap.get("type") == "text"
    assert trap.get("tabindex") == "-1"
    assert trap.get("autocomplete") == "off"
    assert trap.get("value") == ""
    box = trap.parent
    assert box is not None
    assert box.get("aria-hidden") == "true"
    assert box.get("class") == "intake-honeypot"
    assert page.label_for(str(trap.get("id"))).text == "Leave this empty"


# -- errors ------------------------------------------------------------------------


def test_errors_make_a_summary_and_inline_messages() -> None:
    errors = [
        FieldError("plate", "invalid_plate", "Anna rekisteritunnus, esimerkiksi ABC-123."),
        FieldError("service", "required", "Vastaa tähän kysymykseen."),
        FieldError("privacy", "required", "Rastita ruutu."),
        # A message that names its question is not prefixed with the label again.
        FieldError("name", "required", "Täytä kohta ”Nimi”."),
        FieldError("", "not_object", "Lomake on rikki."),
        FieldError("nonsense", "unknown_field", "Ei tällaista kysymystä."),
    ]
    page = render(CAR, "fi", errors=errors)
    assert page.find("title").text == "Virhe: Huoltovaraus"
    summary = page.find("div", role="alert")
    assert summary.find("h2").text == "Jotain on korjattava"
    items = summary.find_all("li")
    assert [i.text for i in items] == [
        "Rekisterinumero – Anna rekisteritunnus, esimerkiksi ABC-123.",
        "Mitä tarvitset? – Vastaa tähän kysymykseen.",
        "Hyväksyn, että tietojani käytetään huollon varaamiseen – Rastita ruutu.",
        "Täytä kohta ”Nimi”.",
        "Lomake on rikki.",
        "Ei tällaista kysymystä.",
    ]
    links = summary.find_all("a")
    assert [a.get("href") for a in links] == [
        "#field-plate",
        "#field-service",
        "#field-privacy",
        "#field-name",
    ]
    for link in links:
        target = page.by_id[str(link.get("href"))[1:]]
        assert target.tag == "input"
    for name in ("plate", "service", "privacy"):
        inline = page.by_id[f"field-{name}-error"]
        assert "Virhe:" in inline.text
        assert "intake-field--error" in str(page.wrapper(name).get("class"))
    plate = page.control("plate")
    assert plate.get("aria-invalid") == "true"
    assert page.by_id["field-plate-error"] in describedby(page, plate)
    assert all(r.get("aria-invalid") == "true" for r in page.controls("service"))
    fieldset = page.wrapper("service").find("fieldset")
    assert page.by_id["field-service-error"] in describedby(page, fieldset)
    assert not page.control("model").has("aria-invalid")
    # The messages of unknown questions show in the summary only.
    assert page.html.count("Ei tällaista kysymystä.") == 1


def test_no_errors_no_summary() -> None:
    page = render(CAR)
    assert page.find_all(role="alert") == []
    assert page.find("title").text == "Car service booking"


# -- answers kept ---------------------------------------------------------------------


def test_every_typed_answer_is_kept() -> None:
    values = {
        "topic": "car",
        "name": "Maija",
        "story": "Line one\nLine two",
        "km": "120 000",
        "extras": ["wash", "tyres"],
        "urgent": "false",
        "terms": "true",
        "day": "2026-12-01",
        "at": "09:30",
        "zip": "111 22",
    }
    page = render(values=values, errors=[FieldError("name", "too_short", "Longer.")])
    assert page.control("name").get("value") == "Maija"
    assert page.control("story").text == "Line one\nLine two"
    assert page.control("km").get("value") == "120 000"
    assert page.control("day").get("value") == "2026-12-01"
    assert page.control("at").get("value") == "09:30"
    assert page.control("zip").get("value") == "111 22"
    assert page.control("email").get("value") == ""

    def checked(name: str) -> list[str | None]:
        return [c.get("value") for c in page.controls(name) if c.has("checked")]

    assert checked("topic") == ["car"]
    assert checked("extras") == ["wash", "tyres"]
    assert checked("urgent") == ["false"]
    assert checked("terms") == ["true"]


def test_html_form_words_for_yes_and_no_are_read_like_the_server() -> None:
    page = render(values={"urgent": "on", "terms": "yes"})
    assert [c.get("value") for c in page.controls("urgent") if c.has("checked")] == ["true"]
    assert page.control("terms").has("checked")
    page = render(values={"urgent": "maybe", "terms": "0"})
    assert not any(c.has("checked") for c in page.controls("urgent"))
    assert not page.control("terms").has("checked")


def test_defaults_fill_a_fresh_page_only() -> None:
    form = make_form(
        """
        - {name: count, type: integer, label: Count, default: 2}
        - {name: urgent, type: boolean, label: Urgent, default: true}
        - {name: extras, type: multichoice, label: Extras, choices: {a: A, b: B}, default: [b]}
        - {name: note, type: text, label: Note, default: hello}
        """
    )
    page = render(form)
    assert page.control("count").get("value") == "2"
    assert page.control("note").get("value") == "hello"
    assert [c.get("value") for c in page.controls("urgent") if c.has("checked")] == ["true"]
    assert [c.get("value") for c in page.controls("extras") if c.has("checked")] == ["b"]
    # Posted back with the box unticked and the text cleared: nothing comes back.
    page = render(form, values={"count": "3"}, errors=[FieldError("count", "x", "No.")])
    assert page.control("note").get("value") == ""
    assert not any(c.has("checked") for c in page.controls("extras"))


# -- escaping --------------------------------------------------------------------------


def _hostile_spec() -> dict[str, Any]:
    spec = copy.deepcopy(EVERY.spec("en", TODAY))
    spec["title"] = f"Title {HOSTILE} {TEMPLATE_CODE}"
    spec["description"] = f"About {HOSTILE}"
    for spec_field in spec["fields"]:
        spec_field["label"] = f"{spec_field['name']} {HOSTILE}"
        spec_field["help"] = f"Help {HOSTILE} {TEMPLATE_CODE}"
        spec_field["placeholder"] = HOSTILE if spec_field["type"] == "text" else None
        for choice in spec_field.get("choices", []):
            choice["label"] = f"{choice['value']} {HOSTILE}"
    return spec


def test_hostile_values_messages_and_texts_are_escaped() -> None:
    values = {
        "name": HOSTILE,
        "story": f"</textarea>{HOSTILE}",
        "km": TEMPLATE_CODE,
        "topic": HOSTILE,
        "extras": [HOSTILE],
        "campaign": HOSTILE,
        HOSTILE: HOSTILE,
    }
    errors = [
        FieldError("name", "x", f"Bad {HOSTILE} {TEMPLATE_CODE}"),
        FieldError(HOSTILE, "x", f"Unknown {HOSTILE}"),
    ]
    html = render_form_page(
        _hostile_spec(),
        action=f"/x?{HOSTILE}",
        values=values,
        errors=errors,
        hidden={"_token": HOSTILE},
        honeypot="_homepage",
        languages=[("en", HOSTILE, f"/?{HOSTILE}"), ("fi", "Suomi", "/")],
        assets="/assets",
    )
    page = Page(html)
    assert "<script>alert" not in html
    assert "49" not in html
    assert TEMPLATE_CODE in html
    assert [s.get("src") for s in page.find_all("script")] == [
        "/assets/form.js",
        "/assets/visit.js",
        "/assets/live.js",
    ]
    assert page.control("name").get("value") == HOSTILE
    assert page.control("story").text == f"</textarea>{HOSTILE}"
    assert page.control("km").get("value") == TEMPLATE_CODE
    assert page.find("input", name="_token").get("value") == HOSTILE
    assert page.control("campaign").get("value") == HOSTILE
    assert page.find("form").get("action") == f"/x?{HOSTILE}"
    assert page.find("h1").text == f"Title {HOSTILE} {TEMPLATE_CODE}"
    assert page.label_for("field-name").text.startswith(f"name {HOSTILE}")
    assert f"Bad {HOSTILE} {TEMPLATE_CODE}" in page.by_id["field-name-error"].text
    assert not any(c.has("checked") for c in page.controls("topic"))


@pytest.mark.parametrize("locale", ["en", "fi", "sv"])
def test_no_inline_script_style_or_handlers(locale: str) -> None:
    pages = [
        render(EVERY, locale, errors=[FieldError("name", "x", "No.")]),
        Page(render_thanks_page(CAR.spec(locale), reference="CAR-4F7K2Q", back="/")),
    ]
    for page in pages:
        for element in page.find_all():
            assert element.tag != "style"
            assert not element.has("style")
            assert not [a for a in element.attrs if a.startswith("on")], element.tag
            assert not str(element.get("href") or "").lower().startswith("javascript:")
            if element.tag == "script":
                assert element.get("src") and not element.text.strip()


def test_every_template_is_autoescaped() -> None:
    from intakeforms.render import page_environment

    environment = page_environment()
    for name in environment.list_templates():
        assert environment.get_template(name).environment.autoescape is True


# -- translations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "locale", "texts"),
    [
        (EVERY, "fi", ["Lähetä", "(pakollinen)", "Jotain on korjattava", "Kyllä", "Virhe:"]),
        (CAR, "fi", ["Kieli", "Virhe: Huoltovaraus"]),
        (CAR, "sv", ["Skicka", "(obligatorisk)", "Något behöver rättas", "Fel:", "Språk"]),
        (EVERY, "en", ["Send", "(required)", "There is a problem", "Yes", "Error:", "Language"]),
    ],
)
def test_page_texts_are_translated(form: Form, locale: str, texts: list[str]) -> None:
    html = render(form, locale, errors=[FieldError("name", "x", "…")]).html
    for text in texts:
        assert text in html, text


def test_page_text_keys_are_not_dict_methods() -> None:
    # Jinja looks up ui.copy as the dict's copy method before its "copy" key.
    assert not set(UI_TEXTS) & set(dir(dict))


def test_every_page_text_is_translated_in_fi_and_sv() -> None:
    from intakeforms.i18n import gettext_for

    for message in UI_TEXTS.values():
        assert gettext_for(message, "fi") != message, message
        assert gettext_for(message, "sv") != message, message


@pytest.mark.parametrize(
    ("locale", "title", "words"),
    [
        ("fi", "Kiitos – Huoltovaraus", "Olemme vastaanottaneet viestisi"),
        ("sv", "Tack – Servicebokning", "Vi har tagit emot ditt meddelande"),
        ("en", "Thank you – Car service booking", "We have received your message"),
    ],
)
def test_thanks_page(locale: str, title: str, words: str) -> None:
    html = render_thanks_page(
        CAR.spec(locale),
        reference="CAR-4F7K2Q",
        back=f"/forms/car-service?lang={locale}",
        languages=LANGUAGES,
        assets="/static/",
    )
    page = Page(html)
    assert page.find("html").get("lang") == locale
    assert page.find("title").text == title
    assert page.find("main").find("h1").text == title.split(" – ")[0]
    assert page.by_id["intake-reference"].text == "CAR-4F7K2Q"
    copy = {"fi": ("Kopioi", "Kopioitu"), "sv": ("Kopiera", "Kopierat"), "en": ("Copy", "Copied")}
    box = page.by_id["intake-reference"].parent
    assert box is not None
    assert (box.get("data-copy"), box.get("data-copied")) == copy[locale]
    assert words in html
    assert page.find("a", **{"class": "intake-back"}).get("href") == (
        f"/forms/car-service?lang={locale}"
    )
    assert page.find("link", rel="stylesheet").get("href") == "/static/form.css"
    assert page.find("nav").find_all("a", aria_current="true")[0].get("lang") == locale


def test_thanks_page_escapes_the_reference() -> None:
    html = render_thanks_page(CAR.spec("en"), reference=HOSTILE)
    assert "<script>alert" not in html
    assert Page(html).by_id["intake-reference"].text == HOSTILE


# -- conditions --------------------------------------------------------------------------


def test_data_when_is_the_specs_condition() -> None:
    spec = EVERY.spec("fi", TODAY)
    page = render(EVERY, "fi")
    conditional = [f for f in spec["fields"] if f["when"] is not None]
    assert len(conditional) >= 6
    for spec_field in spec["fields"]:
        wrapper = page.wrapper(spec_field["name"])
        if spec_field["when"] is None:
            assert not wrapper.has("data-when")
            continue
        assert json.loads(str(wrapper.get("data-when"))) == spec_field["when"]
        note = page.by_id[f"field-{spec_field['name']}-when"]
        assert note.text.startswith("Vastaa vain, jos ")
        assert wrapper.get("data-type") == spec_field["type"]


@pytest.mark.parametrize(
    ("form", "locale", "name", "expected"),
    [
        (CAR, "en", "symptoms", "Answer only if “What do you need?” is “Repair”."),
        (CAR, "fi", "symptoms", "Vastaa vain, jos ”Mitä tarvitset?” on ”Korjaus”."),
        (CAR, "sv", "symptoms", "Svara bara om ”Vad behöver du?” är ”Reparation”."),
        (EVERY, "en", "story", "Answer only if “Topic” is “Car” or “Other”."),
        (
            EVERY,
            "en",
            "detail",
            "Answer only if “Topic” is “Car” and “Urgent” is “Yes” and “Km” is at least"
            " 100,000\u00a0km.",
        ),
        (EVERY, "fi", "wash_note", "Vastaa vain, jos ”Extras” sisältää valinnan ”Wash”."),
        (EVERY, "en", "iban", "Answer only if “Topic” is “Bill” or “Amount” is less than 0."),
        (EVERY, "fi", "ytunnus", "Vastaa vain, jos ”Urgent” ei ole ”Kyllä”."),
    ],
)
def test_condition_notes(form: Form, locale: str, name: str, expected: str) -> None:
    spec = form.spec(locale, TODAY)
    (spec_field,) = [f for f in spec["fields"] if f["name"] == name]
    assert condition_text(spec_field["when"], spec) == expected
    assert render(form, locale).by_id[f"field-{name}-when"].text == expected


def test_condition_notes_for_consent_and_other_operators() -> None:
    spec = EVERY.spec("en", TODAY)

    def note(condition: dict[str, Any]) -> str:
        return condition_text({"multiple": False, **condition}, spec)

    assert (
        note({"field": "terms", "op": "eq", "value": True}) == "Answer only if “Terms” is ticked."
    )
    assert note({"field": "terms", "op": "ne", "value": True}) == (
        "Answer only if “Terms” is not ticked."
    )
    assert note({"field": "amount", "op": "gt", "value": 2.5}) == (
        "Answer only if “Amount” is more than 2.5."
    )
    assert (
        note({"field": "km", "op": "lte", "value": 5})
        == "Answer only if “Km” is at most 5\u00a0km."
    )
    assert note({"field": "extras", "op": "ne", "value": "wax", "multiple": True}) == (
        "Answer only if “Extras” does not include “Wax”."
    )
    assert note({"field": "gone", "op": "eq", "value": "x"}) == "Answer only if “gone” is “x”."


#: What a browser posts for the questions a condition reads (name → the
#: strings of its enabled, ticked or filled controls), the condition, and
#: whether the server asks the question. Uses the questions of every-type.yaml:
#: topic (choice), km (integer 0…2000000), amount (number −100.5…1000),
#: extras (multichoice, at most 2), urgent (boolean), terms (consent).
CONDITION_CASES: list[tuple[str, dict[str, Any], dict[str, list[str]], bool]] = [
    ("story", {}, {"topic": ["car"]}, True),
    ("story", {}, {"topic": ["other"]}, True),
    ("story", {}, {"topic": ["bill"]}, False),
    ("story", {}, {}, False),
    ("km", {}, {"topic": ["car"]}, True),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["120 000"]}, True),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["1\u00a0000\u00a0000"]}, True),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["100\u202f000"]}, True),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": [" 100_000 "]}, True),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["99 999"]}, False),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["3000000"]}, False),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["120000.0"]}, False),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": ["lots"]}, False),
    ("detail", {}, {"topic": ["car"], "urgent": ["true"], "km": [""]}, False),
    ("detail", {}, {"topic": ["car"], "urgent": ["false"], "km": ["120000"]}, False),
    ("detail", {}, {"topic": ["bill"], "urgent": ["true"], "km": ["120000"]}, False),
    ("wash_note", {}, {"extras": ["wash"]}, True),
    ("wash_note", {}, {"extras": ["wax", "wash"]}, True),
    ("wash_note", {}, {"extras": ["wax"]}, False),
    ("wash_note", {}, {"extras": ["wash", "wax", "tyres"]}, False),  # too many: not valid
    ("wash_note", {}, {}, False),
    ("iban", {}, {"topic": ["bill"]}, True),
    ("iban", {}, {"amount": ["-12,5"]}, True),
    ("iban", {}, {"amount": ["-,5"]}, True),
    ("iban", {}, {"amount": ["-100.5"]}, True),
    ("iban", {}, {"amount": ["-100.6"]}, False),  # below the minimum: not valid
    ("iban", {}, {"amount": ["12,5"]}, False),
    ("iban", {}, {"amount": ["\u22125"]}, False),  # a minus sign is not a hyphen
    ("iban", {}, {"amount": ["1,5,5"]}, False),
    ("iban", {}, {"amount": ["-1e3"]}, False),
    ("ytunnus", {}, {}, True),
    ("ytunnus", {}, {"urgent": ["true"]}, False),
    ("ytunnus", {}, {"urgent": ["false"]}, True),
    ("", {"field": "terms", "op": "eq", "value": True}, {"terms": ["true"]}, True),
    ("", {"field": "terms", "op": "eq", "value": True}, {}, False),
    ("", {"field": "terms", "op": "ne", "value": True}, {}, True),
    ("", {"field": "urgent", "op": "eq", "value": 1}, {"urgent": ["true"]}, False),
    ("", {"field": "amount", "op": "eq", "value": 5}, {"amount": ["5,0"]}, True),
    ("", {"field": "amount", "op": "gt", "value": 5}, {"amount": ["5,01"]}, True),
    ("", {"field": "amount", "op": "lte", "value": 5}, {"amount": ["5."]}, True),
    ("", {"field": "topic", "op": "gt", "value": 0}, {"topic": ["car"]}, False),
    ("", {"field": "topic", "op": "in", "value": ["bill", "car"]}, {"topic": ["car"]}, True),
    (
        "",
        {"field": "extras", "op": "in", "value": ["wax", "tyres"], "multiple": True},
        {"extras": ["tyres"]},
        True,
    ),
    (
        "",
        {"field": "extras", "op": "ne", "value": "wax", "multiple": True},
        {"extras": ["wax"]},
        False,
    ),
    (
        "",
        {"any": [{"field": "km", "op": "lt", "value": 10}, {"all": []}]},
        {"km": ["5"]},
        True,
    ),
]


def case_condition(case: tuple[str, dict[str, Any], dict[str, list[str]], bool]) -> Any:
    """The JSON condition of a case: the named question's ``when``, or its own."""
    name, own, _, _ = case
    if not name:
        return {"multiple": False, **own}
    (spec_field,) = [f for f in EVERY.spec("en", TODAY)["fields"] if f["name"] == name]
    return spec_field["when"]


def condition_from_json(tree: Mapping[str, Any]) -> Condition:
    """The Python condition of a ``data-when`` tree (the inverse of condition_json)."""
    if "all" in tree:
        return AllOf(tuple(condition_from_json(c) for c in tree["all"]))
    if "any" in tree:
        return AnyOf(tuple(condition_from_json(c) for c in tree["any"]))
    value = tuple(tree["value"]) if tree["op"] == "in" else tree["value"]
    return Compare(tree["field"], tree["op"], value, bool(tree.get("multiple")))


def server_answers(form: Form, posted: Mapping[str, list[str]]) -> dict[str, Any]:
    """The normalised answers the server would judge conditions on: blank or
    invalid answers are absent, as in :func:`intakeforms.validate.validate_answers`."""
    answers: dict[str, Any] = {}
    for name, texts in posted.items():
        definition = form.fields[name]
        value: Any = texts if definition.type == "multichoice" else next(iter(texts), None)
        if is_blank(value):
            continue
        try:
            answers[name] = check_answer(definition, value, form.analysis, TODAY)
        except FieldProblem:
            continue
    return answers


def server_evaluate(condition: Mapping[str, Any], posted: Mapping[str, list[str]]) -> bool:
    """Whether the server would ask a question with this ``data-when``."""
    return evaluate(condition_from_json(condition), server_answers(EVERY, posted))


@pytest.mark.parametrize("case", CONDITION_CASES, ids=lambda c: f"{c[0] or c[1]}-{c[2]}")
def test_condition_cases_match_the_server(
    case: tuple[str, dict[str, Any], dict[str, list[str]], bool],
) -> None:
    assert server_evaluate(case_condition(case), case[2]) is case[3]


NODE_RUNNER = """
const fs = require("fs"), vm = require("vm");
const context = {};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const { evaluate, parseAnswer } = context.intakeforms;
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const out = input.cases.map(([when, posted]) => {
  const answers = {};
  for (const [name, f] of Object.entries(input.fields)) {
    const answer = parseAnswer(f.type, posted[name] || [], f.min, f.max);
    if (answer !== undefined) answers[name] = answer;
  }
  return evaluate(when, answers);
});
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run form.js")
def test_form_js_evaluates_conditions_like_the_server() -> None:
    """form.js's parseAnswer + evaluate, run in Node on every case, agree with
    the server; the browser tests check the DOM side (hiding, disabling)."""
    page = render()
    fields = {
        w.get("data-field"): {
            "type": w.get("data-type"),
            "min": json.loads(w.get("data-min") or "null"),
            "max": json.loads(w.get("data-max") or "null"),
        }
        for w in page.find_all("div")
        if w.has("data-field")
    }
    cases = [[case_condition(c), c[2]] for c in CONDITION_CASES]
    result = subprocess.run(
        ["node", "-e", NODE_RUNNER, str(ASSETS_DIR / "form.js")],
        input=json.dumps({"fields": fields, "cases": cases}),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [c[3] for c in CONDITION_CASES]


# -- assets ------------------------------------------------------------------------------


def test_assets_are_in_the_package() -> None:
    assert ASSETS_DIR.resolve() == ROOT / "intakeforms" / "assets"
    css = (ASSETS_DIR / "form.css").read_text(encoding="utf-8")
    js = (ASSETS_DIR / "form.js").read_text(encoding="utf-8")
    for needle in ("--intake-accent", "prefers-reduced-motion", ":focus-visible", "[hidden]"):
        assert needle in css
    assert "data-when" not in css
    assert "import " not in js  # a plain defer script, no bundler or framework
    assert len(js.encode()) < 12_000
