"""Form → JSON Schema 2020-12 of its submission; the language → its own schema.

One function per field type (``FIELD_SCHEMAS``, kept exhaustive by a test).
Patterns are the very ones the Python checkers use, so server, widgets and
third parties agree on every answer's shape. What a schema cannot say
(checksums, phone number plans, dates relative to today) is checked by
:mod:`intakeforms.validate` only; docs/language.md lists these differences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from intakeforms.fields import identifiers, phone, plate, postal
from intakeforms.fields.dates import DATE_PATTERN, TIME_PATTERN
from intakeforms.fields.text import (
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    FORBIDDEN_IN_LINE,
    FORBIDDEN_IN_TEXT,
    URL_PATTERN,
)
from intakeforms.language.conditions import condition_schema
from intakeforms.language.models import ANY_LOCALE, FormDefinition

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.language.rules import Analysis

__all__ = ["FIELD_SCHEMAS", "JSON_SCHEMA_DIALECT", "compile_schema", "language_schema"]

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
        if f.min is not None:
            out["minimum"] = f.min
        if f.max is not None:
            out["maximum"] = f.max
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
    return text.get(locale) or text.get(ANY_LOCALE) or next(iter(text.values()))


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
