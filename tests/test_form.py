"""The loaded form's own API: ids, texts in each language, versions."""

from __future__ import annotations

from conftest import EXAMPLES, make_form

from intakeforms import load_form, load_form_text


def test_car_service_texts_by_locale() -> None:
    form = load_form(EXAMPLES / "car-service" / "car-service.yaml")
    assert form.id == "car-service"
    assert form.locales == ["fi", "sv", "en"]
    assert form.default_locale == "fi"
    assert form.title() == "Huoltovaraus"
    assert form.title("sv") == "Servicebokning"
    assert form.title("de") == "Huoltovaraus"  # unknown: the default locale
    assert form.text(form.fields["plate"].label, "en") == "Registration plate"
    assert form.reference_prefix == "CAR"
    assert form.path is not None and form.path.name == "car-service.yaml"


def test_plain_string_texts_serve_every_locale() -> None:
    form = make_form("- {name: a, type: text, label: Name}", locales="[fi, sv]")
    assert form.text(form.fields["a"].label, "sv") == "Name"
    assert form.title("fi") == "Test"


def test_reference_prefix_defaults_from_the_id() -> None:
    assert (
        make_form("- {name: a, type: text, label: A}", form="billing-question").reference_prefix
        == "BIL"
    )
    assert make_form("- {name: a, type: text, label: A}", form="42").reference_prefix == "REF"


def test_version_is_explicit_or_a_content_hash() -> None:
    text = "form: a\ntitle: A\nfields: [{name: a, type: text, label: A}]\n"
    first = load_form_text(text).version
    assert first == load_form_text(text).version
    assert first != load_form_text(text.replace("title: A", "title: B")).version
    assert load_form_text("version: '2026-11'\n" + text).version == "2026-11"


def test_schema_is_built_once() -> None:
    form = make_form("- {name: a, type: text, label: A}")
    assert form.json_schema() is form.json_schema()
