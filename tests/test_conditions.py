"""``when`` conditions: meaning in Python and in JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from intakeforms.language.conditions import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    ConditionError,
    condition_schema,
    evaluate,
    parse_condition,
    referenced_fields,
)

KINDS = {"service": "choice", "km": "integer", "extras": "multichoice", "ok": "boolean"}


def parse(raw: Any) -> Condition:
    def coerce(name: str, value: Any, path: Any) -> Any:
        if KINDS[name] == "integer":
            return int(value)
        if KINDS[name] == "boolean":
            return value == "true"
        return value

    return parse_condition(raw, ("when",), coerce, KINDS.get)


CASES: list[tuple[Any, dict[str, Any], bool]] = [
    ({"service": "repair"}, {"service": "repair"}, True),
    ({"service": "repair"}, {"service": "annual"}, False),
    ({"service": "repair"}, {}, False),
    ({"service": ["repair", "tyres"]}, {"service": "tyres"}, True),
    ({"service": {"ne": "repair"}}, {}, True),
    ({"service": {"ne": "repair"}}, {"service": "repair"}, False),
    ({"service": {"in": ["a", "b"]}}, {"service": "b"}, True),
    ({"km": {"gte": "100"}}, {"km": 100}, True),
    ({"km": {"gt": "100"}}, {"km": 100}, False),
    ({"km": {"lt": "100"}}, {"km": 99.5}, True),
    ({"km": {"lte": "100"}}, {}, False),
    ({"km": {"gte": "10", "lte": "20"}}, {"km": 15}, True),
    ({"km": {"gte": "10", "lte": "20"}}, {"km": 25}, False),
    ({"extras": "wash"}, {"extras": ["wax", "wash"]}, True),
    ({"extras": "wash"}, {"extras": ["wax"]}, False),
    ({"extras": ["wash", "tyres"]}, {"extras": ["tyres"]}, True),
    ({"ok": "true"}, {"ok": True}, True),
    ({"ok": "true"}, {"ok": 1}, False),
    ({"all": [{"service": "repair"}, {"km": {"gte": "5"}}]}, {"service": "repair", "km": 9}, True),
    ({"all": [{"service": "repair"}, {"km": {"gte": "5"}}]}, {"service": "repair", "km": 1}, False),
    ({"any": [{"service": "repair"}, {"ok": "true"}]}, {"ok": True}, True),
    ({"any": [{"service": "repair"}, {"ok": "true"}]}, {}, False),
    ({"service": "repair", "ok": "true"}, {"service": "repair"}, False),
]


@pytest.mark.parametrize(("raw", "answers", "expected"), CASES)
def test_python_and_json_schema_agree(raw: Any, answers: dict[str, Any], expected: bool) -> None:
    condition = parse(raw)
    assert evaluate(condition, answers) is expected
    schema = condition_schema(condition)
    Draft202012Validator.check_schema(schema)
    assert Draft202012Validator(schema).is_valid(answers) is expected


def test_parsed_shapes() -> None:
    assert parse({"km": {"gte": "5"}}) == Compare("km", "gte", 5)
    assert parse({"service": "a", "ok": "true"}) == AllOf(
        (Compare("service", "eq", "a"), Compare("ok", "eq", True))
    )
    assert isinstance(parse({"any": [{"service": "a"}]}), AnyOf)
    assert list(referenced_fields(parse({"all": [{"service": "a"}, {"km": "1"}]}))) == [
        "service",
        "km",
    ]


@pytest.mark.parametrize(
    ("raw", "code", "path"),
    [
        ("repair", "invalid_condition", ("when",)),
        ({}, "invalid_condition", ("when",)),
        ({"nope": 1}, "unknown_field_reference", ("when", "nope")),
        ({"all": "x"}, "invalid_condition", ("when", "all")),
        ({"km": {"over": "1"}}, "invalid_condition", ("when", "km", "over")),
        ({"km": {"in": "1"}}, "invalid_condition", ("when", "km", "in")),
        ({"km": {}}, "invalid_condition", ("when", "km")),
        ({"km": []}, "invalid_condition", ("when", "km")),
        ({"service": {"gt": "a"}}, "invalid_condition", ("when", "service", "gt")),
        ({"extras": {"gt": "a"}}, "invalid_condition", ("when", "extras", "gt")),
    ],
)
def test_mistakes_point_inside_the_condition(raw: Any, code: str, path: tuple[str, ...]) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(raw)
    assert (caught.value.code, caught.value.path) == (code, path)
