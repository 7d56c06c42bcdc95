"""Form → JSON Schema 2020-12 of its submission and the localized widget spec;
the language → its own schema.

One function per field type (``FIELD_SCHEMAS``, kept exhaustive by a test).
Patterns are the very ones the Python checkers use, so server, widgets and
third parties agree on every answer's shape. What a schema cannot say
(checksums, phone number plans, dates relative to today) is checked by
:mod:`intakeforms.validate` only; docs/language.md lists these differences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from intakeforms.fields import identifiers, phone, plate, postal
from intakeforms.fields.dates import DATE_PATTERN, TIME_PATTERN, resolve_date_bound
from intakeforms.fields.numbers import MAX_MAGNITUDE
from intakeforms.fields.text import (
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    FORBIDDEN_IN_LINE,
    FORBIDDEN_IN_TEXT,
    URL_PATTERN,
)
from intakeforms.language.conditions import AllOf, AnyOf, condition_schema
from intakeforms.language.models import FormDefinition
from intakeforms.present.texts import localized

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.language.rules import Analysis

__all__ = [
    "FIELD_INPUTS",
    "FIELD_SCHEMAS",
    "JSON_SCHEMA_DIALECT",
    "compile_schema",
    "compile_spec",
    "condition_json",
    "language_schema",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def whole(pattern: str) -> str:
    """A pattern that must match the whole answer, in every regex dialect."""
    return f"^(?:{pattern})$"


def _string(pattern: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": whole(pattern), **extra}


def _text(f: Any, a: Analysis) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": max(1, f.min_length or 0),
        "maxLength": f.max_length,
        "not": {"pattern": FORBIDDEN_IN_TEXT if f.type == "textarea" else FORBIDDEN_IN_LINE},
    }
    if f.pattern is not None:
        schema["pattern"] = whole(f.pattern)
    return schema


def _consent(f: Any, a: Analysis) -> dict[str, Any]:
    return {"type": "boolean", "const": True} if f.required else {"type": "boolean"}


def _bounded(kind: str) -> Callable[[Any, Analysis], dict[str, Any]]:
    def schema(f: Any, a: Analysis) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind}
        # Without a bound of the form's, validate's own: every answer is
        # less than MAX_MAGNITUDE in size.
        if f.min is not None:
            out["minimum"] = f.min
        else:
            out["exclusiveMinimum"] = -MAX_MAGNITUDE
        if f.max is not None:
            out["maximum"] = f.max
        else:
            out["exclusiveMaximum"] = MAX_MAGNITUDE
        return out

    return schema


def _multichoice(f: Any, a: Analysis) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "array",
        "items": {"enum": list(f.choices)},
        "uniqueItems": True,
        "minItems": max(1, f.min or 0),
    }
    if f.max is not None:
        schema["maxItems"] = f.max
    return schema


def _files(f: Any, a: Analysis) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": f.max_files,
        "items": {
            "type": "object",
            "required": ["name", "type", "size"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "type": {"enum": list(f.accept)},
                "size": {"type": "integer", "minimum": 0, "maximum": a.max_bytes.get(f.name, 0)},
            },
        },
    }


FIELD_SCHEMAS: dict[str, Callable[[Any, Analysis], dict[str, Any]]] = {
    "text": _text,
    "textarea": _text,
    "email": lambda f, a: _string(EMAIL_PATTERN, format="email", maxLength=EMAIL_MAX_LENGTH),
    "phone": lambda f, a: _string(phone.PHONE_PATTERN),
    "url": lambda f, a: _string(URL_PATTERN, format="uri", maxLength=f.max_length),
    "integer": _bounded("integer"),
    "number": _bounded("number"),
    "choice": lambda f, a: {"type": "string", "enum": list(f.choices)},
    "multichoice": _multichoice,
    "boolean": lambda f, a: {"type": "boolean"},
    "consent": _consent,
    "date": lambda f, a: _string(DATE_PATTERN, format="date"),
    "time": lambda f, a: _string(TIME_PATTERN),
    "file": _files,
    "plate": lambda f, a: _string(plate.plate_pattern(f.region)),
    "vin": lambda f, a: _string(identifiers.VIN_PATTERN),
    "iban": lambda f, a: _string(identifiers.IBAN_PATTERN),
    "postal_code": lambda f, a: _string(postal.postal_code_pattern(f.region)),
    "national_id": lambda f, a: _string(identifiers.national_id_pattern(f.region)),
    "business_id": lambda f, a: _string(identifiers.business_id_pattern(f.region)),
}


def _in(text: dict[str, str], locale: str) -> str:
    return localized(text, locale)


def compile_schema(form: Form) -> dict[str, Any]:
    """The JSON Schema 2020-12 that every canonical submission of ``form`` fits.

    A question with a ``when`` is listed in ``properties`` by title only; its
    type and requiredness apply inside an ``if``/``then`` on its condition
    (and on the conditions of the questions that condition reads), exactly
    when :func:`~intakeforms.validate.validate_answers` would ask it.
    """
    definition = form.definition
    locale = form.default_locale
    properties: dict[str, Any] = {}
    required: list[str] = []
    conditional: list[dict[str, Any]] = []
    for field in definition.fields:
        schema = {
            "title": _in(field.label, locale),
            **FIELD_SCHEMAS[field.type](field, form.analysis),
        }
        if field.help:
            schema["description"] = _in(field.help, locale)
        when = form.analysis.visibility.get(field.name, ())
        if not when:
            properties[field.name] = schema
            if field.required:
                required.append(field.name)
            continue
        properties[field.name] = {
            "title": schema["title"],
            "description": "Asked only when its condition holds; see allOf.",
        }
        then: dict[str, Any] = {"properties": {field.name: schema}}
        if field.required:
            then["required"] = [field.name]
        parts = [condition_schema(c) for c in when]
        conditional.append({"if": parts[0] if len(parts) == 1 else {"allOf": parts}, "then": then})
    out: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": _in(definition.title, locale),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if conditional:
        out["allOf"] = conditional
    return out


def language_schema() -> dict[str, Any]:
    """The JSON Schema of the YAML form language, for editor autocomplete."""
    schema = FormDefinition.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": "https://intakeforms.invalid/schema/form.json",
        **schema,
        "title": "intakeforms form",
    }


# -- the localized descriptor the HTML page and the widgets render from -------

#: HTML input hints per field type: what the browser shows and fills in.
#: ``autocomplete`` tokens follow the HTML standard's autofill names.
FIELD_INPUTS: dict[str, dict[str, str]] = {
    "text": {"control": "input", "type": "text"},
    "textarea": {"control": "textarea"},
    "email": {"control": "input", "type": "email", "autocomplete": "email", "spellcheck": "false"},
    "phone": {"control": "input", "type": "tel", "autocomplete": "tel", "inputmode": "tel"},
    "url": {"control": "input", "type": "url", "autocomplete": "url", "inputmode": "url"},
    # type=number loses "120 000" and wheels values away; numeric keyboards
    # come from inputmode instead.
    "integer": {"control": "input", "type": "text", "inputmode": "numeric"},
    "number": {"control": "input", "type": "text", "inputmode": "decimal"},
    "choice": {"control": "radio"},
    "multichoice": {"control": "checkbox"},
    "boolean": {"control": "radio"},
    "consent": {"control": "checkbox"},
    "date": {"control": "input", "type": "date"},
    "time": {"control": "input", "type": "time"},
    "file": {"control": "file", "type": "file"},
    "plate": {
        "control": "input",
        "type": "text",
        "autocomplete": "off",
        "autocapitalize": "characters",
        "spellcheck": "false",
    },
    "vin": {
        "control": "input",
        "type": "text",
        "autocomplete": "off",
        "autocapitalize": "characters",
        "spellcheck": "false",
    },
    "iban": {
        "control": "input",
        "type": "text",
        "autocomplete": "off",
        "autocapitalize": "characters",
        "spellcheck": "false",
    },
    "postal_code": {"control": "input", "type": "text", "autocomplete": "postal-code"},
    "national_id": {
        "control": "input",
        "type": "text",
        "autocomplete": "off",
        "autocapitalize": "characters",
        "spellcheck": "false",
    },
    "business_id": {
        "control": "input",
        "type": "text",
        "autocomplete": "off",
        "spellcheck": "false",
    },
}

#: More than this many choices show as a drop-down list instead of buttons.
SELECT_OVER = 7
_DIGIT_POSTAL = ("FI", "SE", "NO", "DK", "DE", "EE", "US")


def _input(field: Any) -> dict[str, str]:
    hints = dict(FIELD_INPUTS[field.type])
    if field.type == "text" and field.role == "customer_name":
        hints["autocomplete"] = "name"
    if field.type == "choice" and len(field.choices) > SELECT_OVER:
        hints["control"] = "select"
    if field.type == "postal_code" and field.region in _DIGIT_POSTAL:
        hints["inputmode"] = "numeric"
    return hints


def condition_json(condition: Any) -> dict[str, Any]:
    """A condition as plain JSON for the browser: ``{"all": [...]}``,
    ``{"any": [...]}`` or ``{"field", "op", "value", "multiple"}``."""
    if isinstance(condition, AllOf):
        return {"all": [condition_json(c) for c in condition.items]}
    if isinstance(condition, AnyOf):
        return {"any": [condition_json(c) for c in condition.items]}
    value = list(condition.value) if condition.op == "in" else condition.value
    return {
        "field": condition.field,
        "op": condition.op,
        "value": value,
        "multiple": condition.multiple,
    }


def _spec_field(form: Form, field: Any, locale: str, today: dt.date) -> dict[str, Any]:
    def text(key: str) -> str | None:
        value = getattr(field, key, None)
        return None if value is None else form.text(value, locale)

    item: dict[str, Any] = {
        "name": field.name,
        "type": field.type,
        "label": text("label"),
        "help": text("help"),
        "placeholder": text("placeholder"),
        "required": bool(field.required),
        "sensitive": bool(field.sensitive),
        "input": _input(field),
    }
    schema = FIELD_SCHEMAS[field.type](field, form.analysis)
    for key, out in (
        ("pattern", "pattern"),
        ("minLength", "min_length"),
        ("maxLength", "max_length"),
    ):
        if key in schema:
            item[out] = schema[key]
    if "not" in schema:
        item["forbidden"] = schema["not"]["pattern"]
    if field.type in ("integer", "number", "multichoice"):
        item["min"], item["max"] = field.min, field.max
    if field.type in ("integer", "number"):
        item["unit"] = text("unit")
    if field.type == "date":
        low, high = form.analysis.date_bounds.get(field.name, (None, None))
        item["min"] = None if low is None else resolve_date_bound(low, today).isoformat()
        item["max"] = None if high is None else resolve_date_bound(high, today).isoformat()
    if field.type == "time":
        low, high = form.analysis.time_bounds.get(field.name, (None, None))
        item["min"] = None if low is None else low.isoformat("minutes")
        item["max"] = None if high is None else high.isoformat("minutes")
    if field.type in ("choice", "multichoice"):
        item["choices"] = [
            {"value": key, "label": form.text(label, locale)}
            for key, label in field.choices.items()
        ]
    if field.type == "file":
        item["accept"] = list(field.accept)
        item["max_files"] = field.max_files
        item["max_size"] = form.analysis.max_bytes.get(field.name, 0)
    if field.name in form.analysis.defaults:
        item["default"] = form.analysis.defaults[field.name]
    visibility = form.analysis.visibility.get(field.name, ())
    item["when"] = (
        None
        if not visibility
        else condition_json(visibility[0])
        if len(visibility) == 1
        else {"all": [condition_json(c) for c in visibility]}
    )
    return item


def compile_spec(
    form: Form, locale: str | None = None, today: dt.date | None = None
) -> dict[str, Any]:
    """The localized descriptor the HTML page and the widgets render from.

    Texts are in ``locale`` (else the form's default), relative date bounds
    are resolved for ``today``, and ``when`` is a plain JSON condition tree
    whose meaning is that of :func:`intakeforms.language.conditions.evaluate`.
    """
    chosen = locale if locale in form.locales else form.default_locale
    day = today or dt.date.today()
    definition = form.definition
    return {
        "form": form.id,
        "version": form.version,
        "locale": chosen,
        "locales": form.locales,
        "title": form.title(chosen),
        "description": None
        if definition.description is None
        else form.text(definition.description, chosen),
        "fields": [_spec_field(form, f, chosen, day) for f in definition.fields],
    }
