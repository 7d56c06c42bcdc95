"""The field types' registry: a type is one module, named nowhere else.

A small type defined here (the way a module of intakeforms/fields defines
one) is registered, and a form using it loads, validates, publishes its
schema and spec, and renders, without a change anywhere else.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from conftest import ROOT, checked_schema

from intakeforms import FormError, InvalidAnswers, language_schema, load_form_text
from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, fixed_input, string_schema
from intakeforms.fields.registry import BUILTIN, TYPES, register, unregister
from intakeforms.fields.text import as_string
from intakeforms.language.models import FIELD_TYPES
from intakeforms.render import render_form_page

# -- a type of its own, as a module of intakeforms/fields would define it --------

COLOUR_PATTERN = "#?[0-9A-Fa-f]{6}"
_COLOUR = re.compile(COLOUR_PATTERN)


class ColourField(FieldModel):
    """A colour written as #rrggbb."""

    type: Literal["colour"]


def _check_colour(field: ColourField, value: Any, prepared: Any, today: Any) -> str:
    text = as_string(value)
    if not _COLOUR.fullmatch(text):
        raise FieldProblem("pattern")
    return "#" + text.lstrip("#").lower()


COLOUR = FieldType(
    name="colour",
    model=ColourField,
    schema=lambda field, prepared: string_schema(COLOUR_PATTERN),
    check=_check_colour,
    input=fixed_input(control="input", type="text", spellcheck="false"),
)

# --------------------------------------------------------------------------------

FORM = """\
form: paint
title: Paint
fields:
  - {name: shade, type: colour, label: Shade, required: true}
  - {name: note, type: text, label: Note}
"""


@pytest.fixture
def colour() -> Iterator[FieldType]:
    register(COLOUR)
    try:
        yield COLOUR
    finally:
        unregister("colour")


def test_a_registered_type_is_usable_everywhere(colour: FieldType) -> None:
    form = load_form_text(FORM, "paint.yaml")
    assert dict(form.validate({"shade": " #AABBCC "})) == {"shade": "#aabbcc"}
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({"shade": "blue"})
    assert [(e.field, e.code) for e in caught.value.errors] == [("shade", "pattern")]

    schema = form.json_schema()
    assert schema["properties"]["shade"]["pattern"] == f"^(?:{COLOUR_PATTERN})$"
    assert schema["required"] == ["shade"]
    assert checked_schema(schema).is_valid({"shade": "#aabbcc"})
    assert not checked_schema(schema).is_valid({"shade": "blue"})

    spec = form.spec("en")
    shade = spec["fields"][0]
    assert (shade["type"], shade["input"]["control"]) == ("colour", "input")
    assert shade["pattern"] == f"^(?:{COLOUR_PATTERN})$"
    page = render_form_page(spec, action="/forms/paint")
    assert 'data-type="colour"' in page
    assert 'name="shade"' in page

    assert "ColourField" in language_schema()["$defs"]


def test_a_registered_type_is_offered_and_checked_like_the_others(colour: FieldType) -> None:
    with pytest.raises(FormError) as caught:
        load_form_text(FORM.replace("type: colour", "type: colur"), "paint.yaml")
    (problem,) = caught.value.problems
    assert problem.code == "unknown_field_type"
    assert "did you mean 'colour'?" in problem.message
    assert problem.message.endswith(", business_id, colour, section, page")

    with pytest.raises(FormError) as caught:
        load_form_text(FORM.replace("required: true", "default: red"), "paint.yaml")
    assert [p.code for p in caught.value.problems] == ["invalid_default"]


def test_an_unregistered_type_is_gone_again() -> None:
    register(COLOUR)
    unregister("colour")
    assert "colour" not in TYPES
    with pytest.raises(FormError) as caught:
        load_form_text(FORM, "paint.yaml")
    assert [p.code for p in caught.value.problems] == ["unknown_field_type"]
    published = (ROOT / "docs" / "form-language.schema.json").read_text(encoding="utf-8")
    assert "ColourField" not in str(language_schema())
    assert "ColourField" not in published


def test_register_refuses_a_taken_name_or_a_model_of_another_type() -> None:
    with pytest.raises(ValueError, match="already"):
        register(TYPES["plate"])
    with pytest.raises(ValueError, match="Literal"):
        register(FieldType("paint", ColourField, COLOUR.schema, COLOUR.check, COLOUR.input))
    with pytest.raises(ValueError, match="built-in"):
        unregister("plate")
    with pytest.raises(ValueError, match="not a field type"):
        register(FieldType("section", ColourField, COLOUR.schema, COLOUR.check, COLOUR.input))


def test_builtin_types_are_named_by_their_models_in_the_language_order() -> None:
    assert tuple(TYPES) == FIELD_TYPES == tuple(entry.name for entry in BUILTIN)
    for entry in BUILTIN:
        declared = entry.model.model_fields["type"].annotation
        assert getattr(declared, "__args__", None) == (entry.name,)


# Modules that once kept a table or a branch per field type: the registry
# answers them now, so a new type leaves them alone.
ASK_THE_REGISTRY = [
    "compile.py",
    "validate.py",
    "form.py",
    "load.py",
    "language/models.py",
    "language/rules.py",
    "language/shape.py",
]


@pytest.mark.parametrize("module", ASK_THE_REGISTRY)
def test_no_type_is_named_outside_its_module(module: str) -> None:
    tree = ast.parse((ROOT / "intakeforms" / module).read_text(encoding="utf-8"))
    named = sorted(
        {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in FIELD_TYPES
        }
    )
    assert not named, f"{module} names the field types {named}"


def test_every_definition_code_of_a_type_is_documented() -> None:
    codes: set[str] = set()
    for path in sorted((ROOT / "intakeforms" / "fields").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", "")
            index = {"Issue": 1, "PatternError": 0}.get(name)
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.add(arg.value)
    assert {"min_over_max", "no_choices", "unsafe_pattern"} <= codes
    errors = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert not sorted(code for code in codes if f"### `{code}`\n" not in errors)
