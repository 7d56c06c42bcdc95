"""An incomplete contact ("Talk to a person"): the valid answers so far, the
required questions still missing, refused only when the customer cannot be
reached."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from conftest import EXAMPLES, ROOT, make_form

from intakeforms import load_form
from intakeforms.fields.registry import TYPES
from intakeforms.validate import PARTIAL_MESSAGES, Answers, check_partial, contact_questions

TODAY = dt.date(2026, 11, 23)
CAR = load_form(EXAMPLES / "car-service" / "car-service.yaml")


def partial(form: Any, answers: Any, locale: str = "en") -> tuple[Answers, list[str], list[Any]]:
    return check_partial(form, answers, locale, today=TODAY)


def test_the_valid_answers_so_far_and_what_is_missing() -> None:
    clean, missing, errors = partial(
        CAR, {"plate": "abc123", "service": "tyres", "email": " matti@example.com "}
    )
    assert isinstance(clean, Answers)
    assert dict(clean) == {"plate": "ABC-123", "service": "tyres", "email": "matti@example.com"}
    # In the form's order; privacy is a consent, required unless it says not.
    assert missing == ["model", "mileage", "name", "privacy"]
    assert errors == []


def test_an_invalid_answer_is_dropped_and_missing_if_required() -> None:
    clean, missing, errors = partial(
        CAR,
        {
            "plate": "12",
            "mileage": -5,
            "preferred_date": "2020-01-01",
            "email": "matti@example.com",
            "colour": "red",
        },
    )
    assert dict(clean) == {"email": "matti@example.com"}
    assert "plate" in missing and "mileage" in missing
    assert "preferred_date" not in missing  # optional: just dropped
    assert errors == []  # nor is the unknown "colour" an error


def test_a_question_missing_only_when_it_is_asked() -> None:
    given = {"plate": "abc123", "email": "matti@example.com"}
    for service, asked in (("repair", True), ("annual", False), (None, False)):
        answers = given | ({"service": service} if service else {})
        _, missing, _ = partial(CAR, answers)
        assert ("symptoms" in missing) is asked, service
    # An answer to a question that is not asked is dropped.
    clean, _, _ = partial(CAR, given | {"service": "annual", "symptoms": "rattles"})
    assert "symptoms" not in clean


def test_no_way_to_reach_the_customer_is_an_error_on_the_email_question() -> None:
    for locale, message in (
        ("en", "Enter your email address, so that we can answer you."),
        ("fi", "Anna sähköpostiosoitteesi, jotta voimme vastata sinulle."),
        ("sv", "Ange din e-postadress så att vi kan svara dig."),
    ):
        clean, missing, errors = partial(CAR, {"plate": "abc123", "email": "  "}, locale)
        assert [(e.field, e.code, e.message) for e in errors] == [("email", "required", message)]
        assert dict(clean) == {"plate": "ABC-123"}
        assert "email" in missing


def test_a_mistyped_address_gets_its_own_message() -> None:
    _, _, errors = partial(CAR, {"plate": "abc123", "email": "matti(at)example.com"})
    assert [(e.field, e.code) for e in errors] == [("email", "invalid_email")]
    assert "name@example.com" in errors[0].message


def test_a_phone_number_is_a_way_to_reach_the_customer() -> None:
    clean, missing, errors = partial(CAR, {"phone": "040 123 4567"})
    assert errors == [] and clean["phone"] == "+358401234567"
    assert "email" in missing  # still required, still asked for


def test_a_form_with_a_phone_question_only_asks_for_the_number() -> None:
    form = make_form(
        """
        - {name: topic, type: text, label: Topic, required: true}
        - {name: phone, type: phone, region: FI, label: Phone}
        """
    )
    _, missing, errors = partial(form, {})
    assert missing == ["topic"]
    assert [(e.field, e.code) for e in errors] == [("phone", "required")]
    assert errors[0].message == PARTIAL_MESSAGES["call"]
    assert partial(form, {"phone": "0401234567"})[2] == []


def test_the_reply_to_question_comes_first() -> None:
    form = make_form(
        """
        - {name: work, type: email, label: Work email}
        - {name: phone, type: phone, label: Phone}
        - {name: home, type: email, label: Home email, role: reply_to}
        """
    )
    assert contact_questions(form) == ["home", "work", "phone"]
    _, _, errors = partial(form, {})
    assert [e.field for e in errors] == ["home"]
    assert partial(form, {"work": "a@example.com"})[2] == []


def test_the_field_types_say_which_reach_the_customer() -> None:
    reaching = {name: entry.contact for name, entry in TYPES.items() if entry.contact}
    assert reaching == {"email": "write", "phone": "call"}


def test_a_form_without_email_or_phone_takes_only_complete_contacts() -> None:
    form = make_form(
        """
        - {name: topic, type: text, label: Topic, required: true}
        - {name: detail, type: text, label: Detail, required: true}
        - {name: note, type: text, label: Note}
        """,
        locales="[en, fi]",
    )
    assert contact_questions(form) == []
    _, missing, errors = partial(form, {"topic": "x"}, "fi")
    assert missing == ["detail"]
    assert [(e.field, e.code) for e in errors] == [("detail", "required")]
    assert errors[0].message == (
        "Tarvitsemme vastauksen tähän kysymykseen, ennen kuin voit lähettää lomakkeen."
    )
    assert partial(form, {"topic": "x", "detail": "y"})[1:] == ([], [])


def test_an_address_asked_only_after_another_answer_asks_for_that_answer() -> None:
    form = make_form(
        """
        - name: by
          type: choice
          label: How may we contact you?
          required: true
          choices: {email: Email, phone: Phone}
        - {name: email, type: email, label: Email, required: true, when: {by: email}}
        - {name: phone, type: phone, label: Phone, required: true, when: {by: phone}}
        """
    )
    _, missing, errors = partial(form, {})
    assert missing == ["by"]
    assert [(e.field, e.code) for e in errors] == [("by", "required")]
    _, missing, errors = partial(form, {"by": "phone"})
    assert missing == ["phone"]
    assert [(e.field, e.code) for e in errors] == [("phone", "required")]


def test_answers_that_are_not_an_object() -> None:
    clean, missing, errors = partial(CAR, ["plate"])
    assert (dict(clean), missing) == ({}, [])
    assert [e.code for e in errors] == ["not_object"]


def test_sensitive_answers_stay_masked() -> None:
    form = make_form(
        """
        - {name: hetu, type: national_id, region: FI, label: Id, required: true}
        - {name: note, type: text, label: Note, required: true}
        - {name: email, type: email, label: Email}
        """
    )
    clean, missing, _ = partial(form, {"hetu": "131052-308t", "email": "a@example.com"})
    assert missing == ["note"]
    assert "131052" not in repr(clean)


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_messages_are_translated(language: str) -> None:
    path: Path = ROOT / "intakeforms" / "locale" / language / "LC_MESSAGES" / "intakeforms.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for message in PARTIAL_MESSAGES.values():
        found = catalog.get(message)
        assert found is not None and found.string and not found.fuzzy, message
