"""The published JSON Schema: valid 2020-12, and one meaning with ``validate``."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT, checked_schema, make_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intakeforms import Form, InvalidAnswers, language_schema, load_form
from intakeforms.fields.registry import TYPES

FORM_FILES = sorted([*EXAMPLES.glob("*/*.yaml"), *(ROOT / "tests" / "forms").glob("*.yaml")])
TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_every_schema_is_valid_2020_12(path: Path) -> None:
    schema = load_form(path).json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    checked_schema(schema)


def test_language_schema_is_valid_and_accepts_the_examples() -> None:
    import yaml

    class Yaml12Loader(yaml.SafeLoader):
        """Editors read YAML 1.2, which has no timestamps."""

    Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if not tag.endswith(":timestamp")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    validator = checked_schema(language_schema())
    for path in FORM_FILES:
        errors = list(validator.iter_errors(yaml.load(path.read_text(), Yaml12Loader)))
        assert not errors, (path, [e.message for e in errors])
    bad = {"form": "x", "title": "X", "fields": [{"name": "a", "type": "emial", "label": "A"}]}
    assert list(validator.iter_errors(bad))


def test_schema_shape_for_car_service() -> None:
    form = load_form(EXAMPLES / "car-service" / "car-service.yaml")
    schema = form.json_schema()
    assert schema["additionalProperties"] is False
    assert "symptoms" not in schema["required"]
    assert schema["properties"]["mileage"] == {
        "title": "Mittarilukema",
        "type": "integer",
        "minimum": 0,
        "maximum": 2000000,
    }
    assert schema["properties"]["service"]["enum"] == ["annual", "repair", "tyres"]
    (rule,) = schema["allOf"]
    assert rule["if"] == {"required": ["service"], "properties": {"service": {"const": "repair"}}}
    assert rule["then"]["required"] == ["symptoms"]


def test_pattern_matches_the_whole_value() -> None:
    form = make_form("- {name: code, type: text, label: C, pattern: '[0-9]{3}'}")
    validator = checked_schema(form.json_schema())
    assert validator.is_valid({"code": "123"})
    assert not validator.is_valid({"code": "x1234"})


def test_exponential_pattern_answers_in_milliseconds() -> None:
    import time

    form = make_form("- {name: a, type: textarea, label: A, max_length: 20000, pattern: '(a+)+'}")
    started = time.perf_counter()
    with pytest.raises(InvalidAnswers):
        form.validate({"a": "a" * 10_000 + "!"})
    assert time.perf_counter() - started < 0.1


# -- one meaning: validate and the JSON Schema agree --------------------------

#: Codes for problems a JSON Schema can state; when validate reports one of
#: these, the schema must refuse the answers too. Other codes (checksums,
#: number plans, relative dates) are for validate alone: see docs/language.md.
STRUCTURAL = {
    "not_object",
    "unknown_field",
    "required",
    "not_text",
    "control_characters",
    "too_short",
    "too_long",
    "pattern",
    "not_integer",
    "not_number",
    "too_small",
    "too_large",
    "not_boolean",
    "consent_required",
    "invalid_choice",
    "duplicate_choice",
    "not_list",
    "too_few_choices",
    "too_many_choices",
    "invalid_date",
    "invalid_time",
    "invalid_file",
    "file_type",
    "file_too_large",
    "too_many_files",
}

GOOD = {
    "email": ["matti@example.fi", "a.b+c@sub.example.com", "x@y", "a@b@c", "no-at-sign"],
    "phone": ["+358 40 123 4567", "040 1234567", "+46 8 123 456 78", "12345", "+1 (555) 0100"],
    "url": ["https://example.com", "http://x.fi/a?b=c#d", "https://", "ftp://x"],
    "plate": ["ABC-123", "abc123", "AB 1", "ABCD-1", "123"],
    "vin": ["1M8GDM9AXKP042788", "11111111111111111", "1M8GDM9AYKP042788", "WVWZZZ1JZXW000001"],
    "iban": ["FI21 1234 5600 0007 85", "FI2112345600000785", "FI21 1234 5600 0007 86", "XX"],
    "postal_code": ["111 22", "11122", "1112"],
    "national_id": ["131052-308T", "131052-308t", "131052-308U", "010101A123N"],
    "business_id": ["1572860-0", "1572860-1", "15728600"],
    "date": ["2026-12-01", "2026-02-30", "2019-12-31", "1.12.2026"],
    "time": ["09:30", "09:30:15", "7:00", "23:59", "24:00"],
}

_json_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
_texty = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + " -åäö\n\t\x00\x1b\u202e"),
    max_size=50,
)


def _strategy(field: Any) -> st.SearchStrategy[Any]:
    kind = field.type
    wrong = st.one_of(st.integers(), st.booleans(), st.lists(_json_scalars, max_size=2))
    if kind in ("text", "textarea"):
        near_limits = st.integers(0, 3).flatmap(
            lambda d: st.sampled_from(
                [n for n in (field.max_length - 1 + d, (field.min_length or 1) - 2 + d) if n >= 0]
            )
        )
        options = [_texty, wrong, near_limits.map(lambda n: "x" * n)]
        if field.pattern:
            options.append(st.from_regex(field.pattern, fullmatch=True))
        return st.one_of(*options)
    if kind == "hidden":
        lengths = st.integers(field.max_length - 1, field.max_length + 1)
        return st.one_of(_texty, wrong, lengths.map(lambda n: "x" * n))
    if kind in GOOD:
        pattern = TYPES[kind].schema(field, None)["pattern"] if kind != "date" else None
        options = [st.sampled_from(GOOD[kind]), _texty, wrong]
        if pattern:
            options.append(st.from_regex(pattern, fullmatch=True))
        return st.one_of(*options)
    if kind in ("integer", "number"):
        bounds = [b for b in (field.min, field.max) if b is not None]
        edges = [b + d for b in bounds for d in (-1, -0.5, 0, 0.5, 1)]
        return st.one_of(
            st.sampled_from(edges or [0]),
            st.integers(-(10**7), 10**7),
            st.floats(-(10**7), 10**7, allow_nan=False),
            st.booleans(),
            st.lists(st.integers(), max_size=1),
        )
    if kind in ("boolean", "consent"):
        return st.one_of(st.booleans(), st.integers(0, 1), st.lists(st.booleans(), max_size=1))
    if kind == "choice":
        return st.one_of(st.sampled_from([*field.choices, "nope"]), wrong)
    if kind == "multichoice":
        return st.one_of(
            st.lists(st.sampled_from([*field.choices, "nope"]), min_size=1, max_size=4),
            st.sampled_from(list(field.choices)),
            wrong,
        )
    assert kind == "file", kind
    one = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["a.png", "b.pdf"]),
            "type": st.sampled_from([*field.accept, "text/html"]),
            "size": st.one_of(st.integers(0, 30_000_000), st.booleans()),
        }
    )
    return st.one_of(st.lists(one, min_size=1, max_size=4), wrong, st.lists(wrong, min_size=1))


def _canonical(value: Any) -> Any:
    """Drop the inputs where validate is lenient on purpose (see docs)."""
    if isinstance(value, str):
        return value.strip().replace("\r", "")
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _answers(form: Form) -> st.SearchStrategy[dict[str, Any]]:
    optional = {name: _strategy(field) for name, field in form.fields.items()}
    return st.fixed_dictionaries({}, optional=optional | {"stray": _json_scalars}).map(
        lambda d: {k: _canonical(v) for k, v in d.items() if not _blank(_canonical(v))}
    )


def _lenient_input(form: Form, answers: dict[str, Any]) -> bool:
    """Strings for numbers and booleans: HTML forms post only text."""
    return any(
        isinstance(value, str)
        and form.fields[name].type in ("integer", "number", "boolean", "consent")
        for name, value in answers.items()
        if name in form.fields
    )


def _fields_refused(errors: list[Any], answers: dict[str, Any]) -> set[str]:
    """The answer names the schema's errors are about."""
    found: set[str] = set()
    for error in errors:
        if error.absolute_path:
            found.add(str(error.absolute_path[0]))
        elif error.validator == "required":
            found.update(n for n in error.validator_value if n not in answers)
        elif error.validator == "additionalProperties":
            found.update(n for n in answers if n not in error.schema["properties"])
        elif error.validator == "type":
            found.add("")
    return found


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_validate_and_schema_agree(path: Path) -> None:
    form = load_form(path)
    validator = checked_schema(form.json_schema())

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    @given(_answers(form))
    def check(answers: dict[str, Any]) -> None:
        if _lenient_input(form, answers):
            return
        schema_errors = list(validator.iter_errors(answers))
        refused = _fields_refused(schema_errors, answers)
        try:
            form.validate(answers, today=TODAY)
        except InvalidAnswers as exc:
            for error in exc.errors:
                if error.code in STRUCTURAL:
                    assert error.field in refused, (
                        f"validate refused {error.field}={answers.get(error.field)!r} "
                        f"({error.code}) but the schema accepted it"
                    )
        else:
            assert not schema_errors, (
                f"validate accepted but the schema refused: {[e.message for e in schema_errors]}"
            )

    check()


def test_spec_is_localized_and_resolves_dates() -> None:
    form = load_form(EXAMPLES / "car-service" / "car-service.yaml")
    spec = form.spec("sv", today=TODAY)
    assert (spec["form"], spec["locale"], spec["title"]) == ("car-service", "sv", "Servicebokning")
    fields = {f["name"]: f for f in spec["fields"]}
    assert fields["service"]["choices"][1] == {"value": "repair", "label": "Reparation"}
    assert fields["symptoms"]["when"] == {
        "field": "service",
        "op": "eq",
        "value": "repair",
        "multiple": False,
    }
    assert (fields["preferred_date"]["min"], fields["preferred_date"]["max"]) == (
        "2026-11-24",
        "2027-05-22",
    )
    assert fields["mileage"]["input"]["inputmode"] == "numeric"
    assert fields["email"]["input"]["autocomplete"] == "email"
    assert fields["name"]["input"]["autocomplete"] == "name"
    assert form.spec("de")["locale"] == "fi"  # not a form language: the default


def test_spec_inputs_name_a_control_for_every_field_type() -> None:
    spec = load_form(ROOT / "tests" / "forms" / "every-type.yaml").spec()
    assert {f["type"] for f in spec["fields"]} == set(TYPES)
    controls = {"input", "textarea", "select", "radio", "checkbox", "file", "hidden"}
    assert all(f["input"]["control"] in controls for f in spec["fields"])
