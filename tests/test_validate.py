"""Answers → normalised submission, or every problem with a translated message."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT, make_form, problems_of
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms import InvalidAnswers, load_form
from intakeforms.validate import MESSAGES
from intakeforms.web import create_app

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


# -- text that cannot be stored ---------------------------------------------------

EVERY = load_form(ROOT / "tests" / "forms" / "every-type.yaml")
LONE = "\ud800"

#: One answer of each type with a lone surrogate in it, where the type has text.
SURROGATE_ANSWERS: dict[str, Any] = {
    "name": f"Matti{LONE}",
    "code": f"AB{LONE}12",
    "email": f"matti{LONE}@example.com",
    "phone": f"040{LONE}1234567",
    "site": f"https://example.com/{LONE}",
    "amount": f"12{LONE}",
    "extras": ["wash", f"wax{LONE}"],
    "urgent": f"yes{LONE}",
    "day": f"2026-01-01{LONE}",
    "at": "\udc0009:00",
    "photos": [{"name": f"kuva{LONE}.png", "type": "image/png", "size": 10}],
    "plate": f"ABC-123{LONE}",
    "vin": f"1M8GDM9AXKP04278{LONE}",
    "zip": f"111 22{LONE}",
    "hetu": f"131052-308T{LONE}",
    "ytunnus": f"1572860-0{LONE}",
}


def every_answers(**changes: Any) -> dict[str, Any]:
    return {"topic": "other", "name": "Matti", "terms": True, **changes}


@pytest.mark.parametrize(("field", "value"), SURROGATE_ANSWERS.items())
def test_a_lone_surrogate_is_refused_in_every_text(field: str, value: Any) -> None:
    # Before: text with a lone surrogate was accepted and failed every save of
    # its batch (it cannot be encoded as UTF-8).
    assert errors(EVERY, every_answers(**{field: value})) == {field: "invalid_text"}


def test_a_lone_surrogate_in_a_choice_or_textarea() -> None:
    assert errors(EVERY, every_answers(topic=f"car{LONE}")) == {"topic": "invalid_text"}
    assert errors(EVERY, every_answers(story=f"line\n{LONE}")) == {"story": "invalid_text"}


@pytest.mark.parametrize("locale", ["fi", "sv", "en"])
def test_invalid_text_is_explained_in_the_customers_language(locale: str) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        EVERY.validate(every_answers(name=LONE + "x"), locale=locale, today=TODAY)
    [error] = caught.value.errors
    expected = {
        "fi": "Vastauksessa on merkkejä, joita ei voi tallentaa. Kirjoita se uudelleen.",
        "sv": "Svaret innehåller tecken som inte kan sparas. Skriv det på nytt.",
        "en": "The answer contains characters that cannot be stored. Type it again.",
    }
    assert (error.field, error.code, error.message) == ("name", "invalid_text", expected[locale])
    json.dumps(error.as_dict(), ensure_ascii=False).encode("utf-8")  # can be sent


def test_nul_is_refused_wherever_it_could_reach_the_store() -> None:
    # PostgreSQL text cannot hold NUL: refused, never stripped.
    assert errors(EVERY, every_answers(name="Mat\x00ti")) == {"name": "control_characters"}
    assert errors(EVERY, every_answers(story="a\x00b")) == {"story": "control_characters"}
    named = [{"name": "kuva\x00.png", "type": "image/png", "size": 10}]
    assert errors(EVERY, every_answers(photos=named)) == {"photos": "invalid_text"}
    assert errors(EVERY, every_answers(email="a\x00b@example.com")) == {"email": "invalid_email"}


def test_an_unknown_key_with_a_surrogate_is_named_in_text_that_can_be_sent() -> None:
    with pytest.raises(InvalidAnswers) as caught:
        EVERY.validate(every_answers(**{f"x{LONE}": 1}), today=TODAY)
    [error] = caught.value.errors
    assert (error.field, error.code) == ("x\\ud800", "unknown_field")
    json.dumps(error.as_dict(), ensure_ascii=False).encode("utf-8")


def test_deeply_nested_answers_are_checked_without_recursion() -> None:
    nested: Any = LONE
    for _ in range(50_000):
        nested = [nested]
    assert errors(EVERY, every_answers(extras=nested)) == {"extras": "invalid_text"}
    assert errors(EVERY, every_answers(extras=[[["wash"]]])) == {"extras": "invalid_choice"}


# -- numbers too large to store, format or mail -------------------------------------


@pytest.mark.parametrize(
    "value",
    [float("inf"), float("-inf"), 10**5000, "9" * 5000, "1e400", 1e300, 10**15],
    ids=["inf", "-inf", "int 5000 digits", "text 5000 digits", "text 1e400", "1e300", "10**15"],
)
def test_huge_numbers_are_refused(value: Any) -> None:
    found = errors(EVERY, every_answers(topic="bill", amount=value, iban=None))
    if value == "1e400":  # exponents are not typed into forms
        assert found == {"amount": "not_number"}
    elif isinstance(value, str) or value > 0:
        assert found == {"amount": "too_large"}  # the question's own max says more
    else:
        assert found == {"amount": "too_small"}
    unbounded = make_form(
        "- {name: n, type: number, label: N}\n- {name: i, type: integer, label: I}"
    )
    for name in ("n", "i"):
        with pytest.raises(InvalidAnswers) as caught:
            unbounded.validate({name: value}, locale="fi")
        [error] = caught.value.errors
        expected = "not_number" if value == "1e400" and name == "n" else "number_too_large"
        if value == "1e400" and name == "i":
            expected = "not_integer"
        assert (error.field, error.code) == (name, expected)
        if expected == "number_too_large":
            assert error.message == "Luku on liian suuri: käytä enintään 15 numeroa."


def test_nan_is_not_a_number() -> None:
    unbounded = make_form(
        "- {name: n, type: number, label: N}\n- {name: i, type: integer, label: I}"
    )
    with pytest.raises(InvalidAnswers) as caught:
        unbounded.validate({"n": float("nan"), "i": float("nan")})
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("n", "not_number"),
        ("i", "not_integer"),
    ]


def test_the_largest_numbers_are_mailed() -> None:
    from intakeforms.mail import answer_rows
    from intakeforms.store.base import StoredSubmission

    unbounded = make_form(
        "- {name: n, type: number, label: N}\n- {name: i, type: integer, label: I}"
    )
    clean = unbounded.validate({"n": "-999 999 999 999 999,5", "i": 999_999_999_999_999})
    stored = StoredSubmission(
        reference="T-1",
        form=unbounded.id,
        form_version=unbounded.version,
        locale="en",
        data=dict(clean),
        files=(),
        submitted_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        spam=False,
        client=None,
    )
    assert answer_rows(unbounded, stored, "en") == [
        ("N", "-999,999,999,999,999.5"),
        ("I", "999,999,999,999,999"),
    ]


def test_form_bounds_cannot_pass_the_limit() -> None:
    for kind, bound in (("integer", "1000000000000000"), ("number", "1e400")):
        problems = problems_of(
            f"""
            form: f
            title: F
            fields:
              - {{name: n, type: {kind}, label: N, max: {bound}}}
            """
        )
        assert [code for _, _, code in problems] == ["invalid_value"]


# -- over HTTP: the JSON API, /validate and the store ------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as test_client:
        yield test_client


def stored(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "intake.db") as db:
        (count,) = db.execute("SELECT count(*) FROM submissions").fetchone()
    return int(count)


def post_json(client: TestClient, path: str, raw: str) -> Any:
    return client.post(
        path, content=raw.encode("ascii"), headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize(
    ("field", "literal", "code"),
    [
        ("model", json.dumps("Toyota\ud800"), "invalid_text"),
        ("symptoms", json.dumps("\udfff rattles"), "invalid_text"),
        ("email", json.dumps("matti\ud83d@example.com"), "invalid_text"),
        ("mileage", "1e400", "too_large"),
        ("mileage", "-1e400", "too_small"),
        ("mileage", "NaN", "not_integer"),
        ("mileage", json.dumps("9" * 5000), "too_large"),
    ],
)
def test_the_api_refuses_what_cannot_be_stored_and_stores_nothing(
    client: TestClient, tmp_path: Path, field: str, literal: str, code: str
) -> None:
    raw = json.dumps({**CAR_ANSWERS, field: "HERE"}).replace('"HERE"', literal)
    answer = post_json(client, "/forms/car-service/submissions", raw)
    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [(field, code)]
    checked = post_json(client, "/forms/car-service/validate", raw)
    assert checked.status_code == 200
    assert checked.json()["valid"] is False
    assert [(e["field"], e["code"]) for e in checked.json()["errors"]] == [(field, code)]
    assert field not in checked.json()["values"]
    assert stored(tmp_path) == 0
    # Everyone else's answers are still saved.
    assert (
        post_json(client, "/forms/car-service/submissions", json.dumps(CAR_ANSWERS)).status_code
        == 201
    )
    assert stored(tmp_path) == 1


# -- the required message names the question ------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fi", "Täytä kohta ”Sähköposti”."),
        ("sv", "Fyll i ”E-post”."),
        ("en", "Please fill in “Email”."),
    ],
)
def test_the_required_message_names_the_label(locale: str, expected: str) -> None:
    form = make_form(
        """
        - name: email
          type: email
          label: {fi: Sähköposti, sv: E-post, en: Email}
          required: true
        - name: ok
          type: consent
          label: {fi: Hyväksyn, sv: Jag godkänner, en: I agree}
        """,
        locales="[fi, sv, en]",
        title="{fi: T, sv: T, en: T}",
    )
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({}, locale=locale)
    email, consent = caught.value.errors
    assert (email.code, email.message) == ("required", expected)
    # A box to tick says what to do, not which box: it is the one beside it.
    assert consent.code == "required"
    assert "Hyväksyn" not in consent.message and "I agree" not in consent.message


def test_a_label_with_braces_is_shown_as_written() -> None:
    form = make_form('- {name: a, type: text, label: "Code {x}", required: true}')
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({}, locale="en")
    assert caught.value.errors[0].message == "Please fill in “Code {x}”."
