"""``when`` conditions: parsing, evaluation and their JSON Schema meaning.

A condition is written as a map from field name to an expected value::

    when: {service: repair}                  # equals
    when: {service: [repair, warranty]}      # one of
    when: {mileage: {gte: 100000}}           # an operator: eq ne in gt gte lt lte
    when: {any: [{service: repair}, {urgent: true}]}

Several keys in one map must all hold; ``all`` and ``any`` nest. A condition on
a question that has no answer is false (``ne`` is its negation, so true). For a
multichoice question, ``{extras: wash}`` holds when ``wash`` is among the picks.
The same meaning is published as JSON Schema ``if``/``then``, so the server,
the widgets and third parties agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from intakeforms.language.source import Path

__all__ = [
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Compare",
    "Condition",
    "ConditionError",
    "condition_schema",
    "evaluate",
    "parse_condition",
    "referenced_fields",
]

OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte")
ORDERING = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True, slots=True)
class Compare:
    """``field <op> value``; for ``in`` the value is a tuple."""

    field: str
    op: str
    value: Any
    multiple: bool = False  # the field is a multichoice: compare membership


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every condition holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one condition holds."""

    items: tuple[Condition, ...]


Condition = Union[Compare, AllOf, AnyOf]  # noqa: UP007 - used at runtime in isinstance


class ConditionError(ValueError):
    """A condition is written wrongly; ``path`` points inside it."""

    def __init__(self, path: Path, code: str, message: str, *, key: bool = False) -> None:
        self.path = path
        self.code = code
        self.key = key
        super().__init__(message)


#: Turns a written value into the typed value for a field, or raises
#: ``ConditionError``. Given (field name, raw value, path of the value).
Coerce = Callable[[str, Any, Path], Any]
#: The type of the named field, or None when the form has no such field.
Kind = Callable[[str], "str | None"]


def parse_condition(raw: Any, path: Path, coerce: Coerce, kind: Kind) -> Condition:
    """Parse a written ``when`` value into a :class:`Condition`."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(
            path,
            "invalid_condition",
            "a condition is a map like {service: repair} or {mileage: {gte: 100000}}",
        )
    parts: list[Condition] = []
    for key, value in raw.items():
        here = (*path, key)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionError(
                    here, "invalid_condition", f"'{key}' takes a list of conditions"
                )
            items = tuple(
                parse_condition(item, (*here, i), coerce, kind) for i, item in enumerate(value)
            )
            parts.append(AllOf(items) if key == "all" else AnyOf(items))
        else:
            field_type = kind(key)
            if field_type is None:
                raise ConditionError(
                    here,
                    "unknown_field_reference",
                    f"'when' names {key!r}, which is not a field of this form",
                    key=True,
                )
            parts.extend(_parse_field(key, value, here, coerce, field_type == "multichoice"))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _parse_field(
    name: str, value: Any, path: Path, coerce: Coerce, multiple: bool
) -> Iterator[Compare]:
    if isinstance(value, list):
        yield Compare(name, "in", _coerce_list(name, value, path, coerce), multiple)
        return
    if not isinstance(value, Mapping):
        yield Compare(name, "eq", coerce(name, value, path), multiple)
        return
    if not value:
        raise ConditionError(path, "invalid_condition", "an operator map cannot be empty")
    for op, operand in value.items():
        where = (*path, op)
        if op not in OPERATORS:
            raise ConditionError(
                where,
                "invalid_condition",
                f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}",
                key=True,
            )
        if op == "in":
            if not isinstance(operand, list):
                raise ConditionError(where, "invalid_condition", "'in' takes a list of values")
            yield Compare(name, op, _coerce_list(name, operand, where, coerce), multiple)
            continue
        typed = coerce(name, operand, where)
        if op in ORDERING and (
            multiple or isinstance(typed, bool) or not isinstance(typed, int | float)
        ):
            raise ConditionError(
                where,
                "invalid_condition",
                f"'{op}' compares numbers; {name!r} is not an integer or number question",
            )
        yield Compare(name, op, typed, multiple)


def _coerce_list(name: str, values: list[Any], path: Path, coerce: Coerce) -> tuple[Any, ...]:
    if not values:
        raise ConditionError(path, "invalid_condition", "the list of values is empty")
    return tuple(coerce(name, v, (*path, i)) for i, v in enumerate(values))


def referenced_fields(condition: Condition) -> Iterator[str]:
    """Every field name the condition reads."""
    if isinstance(condition, Compare):
        yield condition.field
    else:
        for item in condition.items:
            yield from referenced_fields(item)


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python but not in JSON Schema; keep booleans apart.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _equal(answer: Any, value: Any, multiple: bool) -> bool:
    if multiple:
        return isinstance(answer, list) and any(_same(a, value) for a in answer)
    return _same(answer, value)


def evaluate(condition: Condition, answers: Mapping[str, Any]) -> bool:
    """Whether the condition holds for these (normalised) answers."""
    if isinstance(condition, AllOf):
        return all(evaluate(item, answers) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(evaluate(item, answers) for item in condition.items)
    answer = answers.get(condition.field)
    op, value, multiple = condition.op, condition.value, condition.multiple
    if op == "ne":
        return not (answer is not None and _equal(answer, value, multiple))
    if answer is None:
        return False
    if op == "eq":
        return _equal(answer, value, multiple)
    if op == "in":
        return any(_equal(answer, v, multiple) for v in value)
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return False
    if op == "gt":
        return bool(answer > value)
    if op == "gte":
        return bool(answer >= value)
    if op == "lt":
        return bool(answer < value)
    return bool(answer <= value)


_BOUND = {"gt": "exclusiveMinimum", "gte": "minimum", "lt": "exclusiveMaximum", "lte": "maximum"}


def condition_schema(condition: Condition) -> dict[str, Any]:
    """The JSON Schema that holds exactly when the condition holds."""
    if isinstance(condition, AllOf):
        return {"allOf": [condition_schema(item) for item in condition.items]}
    if isinstance(condition, AnyOf):
        return {"anyOf": [condition_schema(item) for item in condition.items]}
    name, op, value, multiple = condition.field, condition.op, condition.value, condition.multiple
    if op == "ne":
        return {"not": condition_schema(Compare(name, "eq", value, multiple))}
    if op == "eq":
        check: dict[str, Any] = {"const": value}
    elif op == "in":
        check = {"enum": list(value)}
    else:
        check = {"type": "number", _BOUND[op]: value}
    if multiple:
        check = {"type": "array", "contains": check}
    return {"required": [name], "properties": {name: check}}
