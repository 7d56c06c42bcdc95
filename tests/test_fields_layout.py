"""Sections and pages among the questions, thanks and theme, and a
question's own error messages: what the form language takes, refuses, and
what the spec, the schema and validation make of them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import checked_schema, make_form, problems_of

from intakeforms import FormError, InvalidAnswers, load_form_text

LAID_OUT = """
    - type: section
      title: {fi: Auton tiedot, en: The car}
      text: {fi: Löydät tiedot rekisteriotteesta., en: See the registration certificate.}
    - name: plate
      type: plate
      region: FI
      label: {fi: Rekisterinumero, en: Plate}
      required: true
      messages:
        invalid_plate: {fi: Kirjoita muodossa ABC-123., en: Write it like ABC-123.}
        required: {fi: Tarvitsemme rekisterinumeron., en: We need the plate.}
    - type: page
    - type: section
      title: {fi: Yhteystiedot, en: Contact}
    - name: email
      type: email
      label: {fi: Sähköposti, en: Email}
    - type: page
      title: {fi: Lopuksi, en: Finally}
    - name: notes
      type: textarea
      label: {fi: Lisätiedot, en: Notes}
      max_length: 10
      messages:
        too_long: {fi: "Enintään {max} merkkiä, kiitos {}.", en: "At most {max}, please {}."}
"""

TOP = {
    "locales": "[fi, en]",
    "thanks": '{url: "https://example.com/kiitos", text: {fi: Kiitos!, en: Thank you!}}',
    "theme": '{accent: "#0b5fff", logo: "https://example.com/logo.svg"}',
}


def test_sections_and_pages_keep_their_place_in_the_spec() -> None:
    spec = make_form(LAID_OUT, **TOP).spec("fi")
    assert [(f["type"], f["name"]) for f in spec["fields"]] == [
        ("section", "section-1"),
        ("plate", "plate"),
        ("page", "page-1"),
        ("section", "section-2"),
        ("email", "email"),
        ("page", "page-2"),
        ("textarea", "notes"),
    ]
    assert spec["fields"][0] == {
        "type": "section",
        "name": "section-1",
        "title": "Auton tiedot",
        "text": "Löydät tiedot rekisteriotteesta.",
    }
    assert spec["fields"][2] == {"type": "page", "name": "page-1", "title": None}
    assert spec["fields"][3]["text"] is None
    assert spec["fields"][5]["title"] == "Lopuksi"


def test_sections_and_pages_have_no_answer() -> None:
    form = make_form(LAID_OUT, **TOP)
    assert list(form.fields) == ["plate", "email", "notes"]
    schema = form.json_schema()
    checked_schema(schema)
    assert list(schema["properties"]) == ["plate", "email", "notes"]
    assert form.validate({"plate": "abc-123"}) == {"plate": "ABC-123"}
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({"plate": "ABC-123", "section-1": "x"})
    assert [(e.field, e.code) for e in caught.value.errors] == [("section-1", "unknown_field")]


def test_thanks_and_theme_are_in_the_spec_only_when_written() -> None:
    spec = make_form(LAID_OUT, **TOP).spec("en")
    assert spec["thanks"] == {"url": "https://example.com/kiitos", "text": "Thank you!"}
    assert spec["theme"] == {"accent": "#0b5fff", "logo": "https://example.com/logo.svg"}
    plain = make_form(LAID_OUT, locales="[fi, en]").spec("en")
    assert "thanks" not in plain and "theme" not in plain
    only_text = make_form(LAID_OUT, locales="[fi, en]", thanks="{text: Kiitos}").spec("fi")
    assert only_text["thanks"] == {"url": None, "text": "Kiitos"}


def test_own_messages_replace_the_built_in_ones() -> None:
    form = make_form(LAID_OUT, **TOP)
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({"plate": "1234", "notes": "x" * 11}, locale="fi")
    assert [e.message for e in caught.value.errors] == [
        "Kirjoita muodossa ABC-123.",
        "Enintään 10 merkkiä, kiitos {}.",
    ]
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({}, locale="en")
    assert [(e.code, e.message) for e in caught.value.errors] == [
        ("required", "We need the plate.")
    ]
    # The built-in text still serves the codes left out, and other questions.
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({"plate": 5, "email": "nope"}, locale="en")
    assert [e.message for e in caught.value.errors] == [
        "Enter text.",
        "Enter an email address, like name@example.com.",
    ]


def test_own_messages_are_in_the_spec_localized() -> None:
    fields = {f["name"]: f for f in make_form(LAID_OUT, **TOP).spec("fi")["fields"]}
    assert fields["plate"]["messages"] == {
        "invalid_plate": "Kirjoita muodossa ABC-123.",
        "required": "Tarvitsemme rekisterinumeron.",
    }
    assert "messages" not in fields["email"]


def test_a_code_the_type_cannot_give_is_refused_with_the_codes_it_can() -> None:
    text = """
        form: test
        title: Test
        fields:
          - name: email
            type: email
            label: Email
            messages:
              invalid_plate: Wrong.
    """
    with pytest.raises(FormError) as caught:
        load_form_text(textwrap.dedent(text).lstrip(), "test.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.code) == (8, 7, "unknown_error_code")
    assert "a question of type email never gives the error 'invalid_plate'" in problem.message
    assert "its codes are required, invalid_text, not_text, invalid_email" in problem.message


def test_texts_of_sections_and_messages_need_every_locale() -> None:
    found = problems_of(
        """
        form: test
        title: {fi: Testi, en: Test}
        locales: [fi, en]
        fields:
          - type: section
            title: {fi: Osio}
          - name: email
            type: email
            label: Email
            messages:
              invalid_email: {en: Wrong.}
        thanks: {text: {fi: Kiitos}}
        """
    )
    assert found == [
        (6, 12, "missing_translation"),
        (11, 22, "missing_translation"),
        (12, 16, "missing_translation"),
    ]


@pytest.mark.parametrize(
    ("top", "code"),
    [
        ({"thanks": "{}"}, "missing_key"),
        ({"thanks": "{url: ftp://example.com}"}, "invalid_value"),
        ({"thanks": "{link: https://example.com}"}, "unknown_key"),
        ({"theme": '{accent: "blue"}'}, "invalid_value"),
        ({"theme": '{logo: "http://example.com/logo.png"}'}, "invalid_value"),
        ({"theme": '{colour: "#ffffff"}'}, "unknown_key"),
    ],
)
def test_thanks_and_theme_mistakes(top: dict[str, str], code: str) -> None:
    with pytest.raises(FormError) as caught:
        make_form("- {name: a, type: text, label: A}", **top)
    assert [p.code for p in caught.value.problems] == [code]


def test_layout_items_take_only_their_keys() -> None:
    with pytest.raises(FormError) as caught:
        make_form("- {type: section, title: Hi, label: Hi}\n- {name: a, type: text, label: A}")
    (problem,) = caught.value.problems
    assert problem.code == "unknown_key"
    with pytest.raises(FormError) as caught:
        make_form("- {type: section, text: Hi}\n- {name: a, type: text, label: A}")
    assert [p.code for p in caught.value.problems] == ["missing_key"]
    with pytest.raises(FormError) as caught:
        make_form("- {type: sektion, title: Hi}\n- {name: a, type: text, label: A}")
    (problem,) = caught.value.problems
    assert "did you mean 'section'?" in problem.message


# -- sections and pages never reach what is made of the answers -----------------------


def test_no_consumer_of_the_answers_sees_a_section_or_page() -> None:
    from intakeforms.present.rows import answer_rows
    from intakeforms.preview import preview, preview_submission
    from intakeforms.stats.figures import questions_of
    from intakeforms.web.admin_csv import Columns

    form = make_form(LAID_OUT, **TOP)
    answers = {"plate": "abc-123", "email": "a@example.com", "notes": "hi"}
    submission = preview_submission(form, answers, "en")
    assert set(submission.data) == {"plate", "email", "notes"}
    labels = [label for label, _ in answer_rows(form, submission, "fi")]
    assert labels == ["Rekisterinumero", "Sähköposti", "Lisätiedot"]
    assert questions_of(form) == ("plate", "email", "notes")
    assert Columns([form], "en").head == ["Plate", "Email", "Notes"]
    mail = preview(form, answers, "en")
    body = "\n".join(
        str(part.get_content()) for part in mail.walk() if part.get_content_maintype() == "text"
    )
    for word in ("Auton tiedot", "The car", "Contact", "Finally", "section-1", "page-1"):
        assert word not in body
    assert "ABC-123" in body


def test_the_service_takes_no_answer_or_event_for_a_section_or_page(tmp_path: Path) -> None:
    from starlette.testclient import TestClient
    from web_helpers import FORMS, settings_for

    from intakeforms.web import create_app

    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        spec = client.get("/forms/address-change/spec.json?lang=en").json()
        assert [f["name"] for f in spec["fields"] if f["type"] in ("section", "page")] == [
            "section-1",
            "page-1",
            "section-2",
            "page-2",
        ]
        assert (
            "section-1" not in client.get("/forms/address-change/schema.json").json()["properties"]
        )
        checked = client.post(
            "/forms/address-change/validate?lang=en",
            json={"section-1": "x", "national_id": "131052-308X"},
        )
        errors = {e["field"]: (e["code"], e["message"]) for e in checked.json()["errors"]}
        assert errors["section-1"][0] == "unknown_field"
        assert errors["national_id"] == (
            "invalid_national_id",
            "Check the identity code. It is written like 131052-308T.",
        )
        event = {"session": "visit-1234", "form": "address-change", "channel": "form"}
        refused = client.post("/events", json={**event, "event": "answer", "field": "page-1"})
        assert refused.status_code == 422
        taken = client.post("/events", json={**event, "event": "answer", "field": "name"})
        assert taken.status_code < 300
