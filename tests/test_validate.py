"""Answers → normalised submission, or every problem with a translated message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import EXAMPLES, make_form

from intakeforms import InvalidAnswers, load_form
from intakeforms.language.models import FIELD_TYPES
from intakeforms.validate import CHECKERS, MESSAGES

TODAY = dt.date(2026, 11, 23)
CAR = load_form(EXAMPLES / "car-service" / "car-service.yaml")


def car_answers(**changes: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "plate": "abc123",
        "model": "  Toyota Corolla 2018 ",
        "mileage": "120 000",
        "service": "repair",
        "symptoms": "Rattles at 80 km/h.\r\nWarning light on.",
        "preferred_date": "2026-12-01",
        "name": "Matti Meikäläinen",
        "email": "Matti@Example.FI",
        "phone": "040 123 4567",
        "privacy": "on",
    }
    answers.update(changes)
    return {k: v for k, v in answers.items() if v is not None}


def errors(form: Any, answers: Any, locale: str = "en") -> dict[str, str]:
    with pytest.raises(InvalidAnswers) as caught:
        form.validate(answers, locale=locale, today=TODAY)
    return {e.field: e.code for e in caught.value.errors}


def test_checkers_cover_every_field_type() -> None:
    assert set(CHECKERS) == set(FIELD_TYPES)


def test_car_service_is_normalised() -> None:
    clean = CAR.validate(car_answers(), locale="fi", today=TODAY)
    assert dict(clean) == {
        "plate": "ABC-123",
        "model": "Toyota Corolla 2018",
        "mileage": 120000,
        "service": "repair",
        "symptoms": "Rattles at 80 km/h.\nWarning light on.",
        "preferred_date": "2026-12-01",
        "name": "Matti Meikäläinen",
        "email": "Matti@example.fi",
        "phone": "+358401234567",
        "privacy": True,
    }
    assert list(clean) == [name for name in CAR.fields if name in clean]


def test_hidden_question_is_dropped_and_not_required() -> None:
    clean = CAR.validate(
        car_answers(service="annual", symptoms="left over from before"), today=TODAY
    )
    assert "symptoms" not in clean
    clean = CAR.validate(car_answers(service="annual", symptoms=None), today=TODAY)
    assert "symptoms" not in clean


def test_shown_question_is_required() -> None:
    assert errors(CAR, car_answers(symptoms="   ")) == {"symptoms": "required"}


def test_every_problem_is_listed_at_once_in_form_order() -> None:
    with pytest.raises(InvalidAnswers) as caught:
        CAR.validate(
            {"plate": "12", "mileage": -5, "service": "repair", "email": "x", "extra": 1},
            locale="en",
            today=TODAY,
        )
    found = [(e.field, e.code) for e in caught.value.errors]
    assert found == [
        ("plate", "invalid_plate"),
        ("model", "required"),
        ("mileage", "too_small"),
        ("symptoms", "required"),
        ("name", "required"),
        ("email", "invalid_email"),
        ("privacy", "required"),
        ("extra", "unknown_field"),
    ]
    as_json = caught.value.errors[0].as_dict()
    assert as_json == {
        "field": "plate",
        "code": "invalid_plate",
        "message": "Enter a registration plate, like ABC-123.",
    }


def test_messages_in_the_customers_language() -> None:
    for locale, word in (("fi", "km"), ("sv", "km"), ("en", "km")):
        with pytest.raises(InvalidAnswers) as caught:
            CAR.validate(car_answers(mileage="3000000"), locale=locale, today=TODAY)
        (error,) = caught.value.errors
        assert error.code == "too_large"
        assert word in error.message
        assert ("2\u00a0000\u00a0000" if locale in ("fi", "sv") else "2,000,000") in error.message
    with pytest.raises(InvalidAnswers) as caught:
        CAR.validate(car_answers(model=None), locale="fi", today=TODAY)
    assert caught.value.errors[0].message != MESSAGES["required"]


def test_default_locale_is_the_forms_first() -> None:
    with pytest.raises(InvalidAnswers) as caught:
        CAR.validate(car_answers(model=None), today=TODAY)
    fi = caught.value.errors[0].message
    with pytest.raises(InvalidAnswers) as caught:
        CAR.validate(car_answers(model=None), locale="en", today=TODAY)
    assert fi != caught.value.errors[0].message


def test_answers_must_be_an_object() -> None:
    assert errors(CAR, ["plate"]) == {"": "not_object"}


def test_one_line_text_refuses_control_characters() -> None:
    for bad in ("Toyota\nBcc: x@y", "Toyota\rCorolla", "Toy\x00ota", "Toyota \u202eCorolla"):
        assert errors(CAR, car_answers(model=bad)) == {"model": "control_characters"}


def test_textarea_allows_lines_but_not_other_controls() -> None:
    assert errors(CAR, car_answers(symptoms="a\x07b")) == {"symptoms": "control_characters"}


def test_date_bounds_relative_to_today() -> None:
    assert errors(CAR, car_answers(preferred_date="2026-11-23")) == {
        "preferred_date": "date_too_early"
    }
    assert errors(CAR, car_answers(preferred_date="2027-06-01")) == {
        "preferred_date": "date_too_late"
    }
    assert errors(CAR, car_answers(preferred_date="2026-02-30")) == {
        "preferred_date": "invalid_date"
    }
    with pytest.raises(InvalidAnswers) as caught:
        CAR.validate(car_answers(preferred_date="2026-11-01"), locale="fi", today=TODAY)
    assert "24.11.2026" in caught.value.errors[0].message


def test_sensitive_answers_are_masked_in_repr() -> None:
    form = make_form(
        """
        - {name: hetu, type: national_id, region: FI, label: Id}
        - {name: note, type: text, label: Note, sensitive: true}
        - {name: city, type: text, label: City}
        """
    )
    clean = form.validate({"hetu": "131052-308t", "note": "secret", "city": "Oulu"})
    assert clean["hetu"] == "131052-308T"
    shown = repr(clean)
    assert "131052" not in shown and "secret" not in shown and "Oulu" in shown
    assert clean.redacted() == {"hetu": "***", "note": "***", "city": "Oulu"}


GENERIC = make_form(
    """
    - {name: t, type: text, label: T, min_length: 2, max_length: 5, pattern: '[A-Z]+'}
    - {name: n, type: number, label: N, min: 0.5, max: 10}
    - {name: b, type: boolean, label: B}
    - {name: c, type: consent, label: C, required: false}
    - {name: m, type: multichoice, label: M, choices: {a: A, b: B, c: C}, min: 1, max: 2}
    - {name: u, type: url, label: U}
    - {name: tm, type: time, label: Tm, min: "08:00", max: "17:00"}
    - {name: f, type: file, label: F, accept: [image/png], max_size: 1 MB, max_files: 2}
    - {name: v, type: vin, label: V}
    - {name: i, type: iban, label: I}
    - {name: pc, type: postal_code, region: SE, label: Pc}
    - {name: bid, type: business_id, region: FI, label: Bid}
    - {name: ph, type: phone, label: Ph}
    """
)


@pytest.mark.parametrize(
    ("field", "value", "normalised"),
    [
        ("t", "ABC", "ABC"),
        ("n", "2,5", 2.5),
        ("n", 3.0, 3),
        ("b", "false", False),
        ("b", True, True),
        ("c", False, False),
        ("m", ["c", "a"], ["a", "c"]),
        ("u", "HTTPS://example.com/x?y=1", "https://example.com/x?y=1"),
        ("tm", "09:30", "09:30"),
        ("tm", "09:30:15", "09:30:15"),
        ("f", [{"name": "a.png", "type": "image/png", "size": 10}], None),
        ("v", "1m8gdm9axkp042788", "1M8GDM9AXKP042788"),
        ("i", "fi21 1234 5600 0007 85", "FI2112345600000785"),
        ("pc", "11122", "111 22"),
        ("bid", "1572860-0", "1572860-0"),
        ("ph", "+46 8 123 456 78", "+46812345678"),
    ],
)
def test_generic_types_accept_and_normalise(field: str, value: Any, normalised: Any) -> None:
    clean = GENERIC.validate({field: value})
    assert clean[field] == (value if normalised is None else normalised)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("t", 5, "not_text"),
        ("t", "A", "too_short"),
        ("t", "ABCDEF", "too_long"),
        ("t", "abc", "pattern"),
        ("n", "five", "not_number"),
        ("n", 0.1, "too_small"),
        ("n", True, "not_number"),
        ("n", float("nan"), "not_number"),
        ("b", "maybe", "not_boolean"),
        ("m", "a", "not_list"),
        ("m", ["a", "a"], "duplicate_choice"),
        ("m", ["a", "d"], "invalid_choice"),
        ("m", ["a", "b", "c"], "too_many_choices"),
        ("u", "javascript:alert(1)", "invalid_url"),
        ("u", "https://", "invalid_url"),
        ("tm", "7:00", "invalid_time"),
        ("tm", "18:00", "time_too_late"),
        ("tm", "07:59", "time_too_early"),
        ("f", [{"name": "a.exe", "type": "application/x-msdownload", "size": 1}], "file_type"),
        ("f", [{"name": "a.png", "type": "image/png", "size": 2_000_000}], "file_too_large"),
        ("f", [{"name": "a.png", "type": "image/png", "size": 1}] * 3, "too_many_files"),
        ("f", [{"name": "a.png"}], "invalid_file"),
        ("v", "1M8GDM9AYKP042788", "vin_check_digit"),
        ("v", "1M8GDM9AXKP04278", "invalid_vin"),
        ("i", "FI21 1234 5600 0007 86", "invalid_iban"),
        ("pc", "1112", "invalid_postal_code"),
        ("bid", "1572860-1", "invalid_business_id"),
        ("ph", "040 123", "invalid_phone"),
    ],
)
def test_generic_types_refuse(field: str, value: Any, code: str) -> None:
    assert errors(GENERIC, {field: value}) == {field: code}


def test_integer_parsing() -> None:
    form = make_form("- {name: k, type: integer, label: K, min: -10}")
    assert form.validate({"k": "1\u00a0234"})["k"] == 1234
    assert form.validate({"k": 5.0})["k"] == 5
    assert form.validate({"k": "-3"})["k"] == -3
    for bad in ("1.5", 1.5, True, "", "12a"):
        if bad == "":
            assert "k" not in form.validate({"k": bad})
        else:
            assert errors(form, {"k": bad}) == {"k": "not_integer"}


def test_consent_required() -> None:
    form = make_form("- {name: ok, type: consent, label: OK}")
    assert errors(form, {"ok": False}) == {"ok": "consent_required"}
    assert errors(form, {}) == {"ok": "required"}
    assert form.validate({"ok": "on"})["ok"] is True


def test_conditions_chain_through_hidden_questions() -> None:
    form = make_form(
        """
        - {name: kind, type: choice, label: K, choices: {car: Car, bike: Bike}}
        - {name: electric, type: boolean, label: E, when: {kind: car}}
        - {name: battery, type: integer, label: B, required: true, when: {electric: true}}
        - {name: other, type: text, label: O, required: true, when: {electric: {ne: true}}}
        """
    )
    # electric is hidden for a bike, so battery (which reads it) is hidden too,
    # and so is "other": a question is asked only when what it reads is asked.
    assert dict(form.validate({"kind": "bike", "electric": True})) == {"kind": "bike"}
    assert errors(form, {"kind": "car", "electric": True}) == {"battery": "required"}
    assert errors(form, {"kind": "car", "electric": False}) == {"other": "required"}


def test_vin_check_digit_where_it_is_mandatory() -> None:
    form = make_form(
        """
        - {name: auto, type: vin, label: A}
        - {name: always, type: vin, label: B, check_digit: true}
        - {name: never, type: vin, label: C, check_digit: false}
        """
    )
    european = "WVWZZZ1JZXW000001"  # position 9 is a plain character
    assert form.validate({"auto": european, "never": "1M8GDM9AYKP042788"}) == {
        "auto": european,
        "never": "1M8GDM9AYKP042788",
    }
    assert errors(form, {"auto": "1M8GDM9AYKP042788"}) == {"auto": "vin_check_digit"}
    assert errors(form, {"always": european}) == {"always": "vin_check_digit"}
