"""Form → JSON Schema 2020-12 of its submission and the localized widget spec;
the language → its own schema.

Each field type's entry (:mod:`intakeforms.fields.registry`) gives its
answer's schema and its part of the spec. Patterns are the very ones the
Python checkers use, so server, widgets and third parties agree on every
answer's shape. What a schema cannot say
(checksums, phone number plans, dates relative to today) is checked by
:mod:`intakeforms.validate` only; docs/language.md lists these differences.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from intakeforms.fields.base import FieldModel
from intakeforms.fields.layout import PageItem, SectionItem, layout_names
from intakeforms.fields.registry import TYPES
from intakeforms.language.conditions import AllOf, AnyOf, condition_schema
from intakeforms.language.models import FormDefinition
from intakeforms.present.texts import localized

if TYPE_CHECKING:
    from intakeforms.form import Form

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "compile_schema",
    "compile_spec",
    "condition_json",
    "language_schema",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


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
    prepared = form.analysis.prepared
    for field in definition.questions:
        schema = {
            "title": _in(field.label, locale),
            **TYPES[field.type].schema(field, prepared.get(field.name)),
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


def _spec_field(form: Form, field: FieldModel, locale: str, today: dt.date) -> dict[str, Any]:
    def text(value: dict[str, str] | None) -> str | None:
        return None if value is None else form.text(value, locale)

    entry = TYPES[field.type]
    prepared = form.analysis.prepared.get(field.name)
    item: dict[str, Any] = {
        "name": field.name,
        "type": field.type,
        "label": text(field.label),
        "help": text(field.help),
        "placeholder": text(field.placeholder),
        "required": bool(field.required),
        "sensitive": bool(field.sensitive),
        # What the browser shows and fills in; ``autocomplete`` tokens follow
        # the HTML standard's autofill names.
        "input": entry.input(field),
    }
    schema = entry.schema(field, prepared)
    for key, out in (
        ("pattern", "pattern"),
        ("minLength", "min_length"),
        ("maxLength", "max_length"),
    ):
        if key in schema:
            item[out] = schema[key]
    if "not" in schema:
        item["forbidden"] = schema["not"]["pattern"]
    item.update(entry.spec(field, prepared, text, today))
    if field.name in form.analysis.defaults:
        item["default"] = form.analysis.defaults[field.name]
    if field.messages:
        item["messages"] = {
            code: form.text(message, locale) for code, message in field.messages.items()
        }
    visibility = form.analysis.visibility.get(field.name, ())
    item["when"] = (
        None
        if not visibility
        else condition_json(visibility[0])
        if len(visibility) == 1
        else {"all": [condition_json(c) for c in visibility]}
    )
    return item


def _spec_layout(
    form: Form, item: SectionItem | PageItem, name: str, locale: str
) -> dict[str, Any]:
    """A section (heading and text) or a page (the start of a step) of the spec."""
    title = None if item.title is None else form.text(item.title, locale)
    if isinstance(item, SectionItem):
        text = None if item.text is None else form.text(item.text, locale)
        # dict(): the keys are words, not the field types of the same names.
        return dict(type="section", name=name, title=title, text=text)  # noqa: C408
    return {"type": "page", "name": name, "title": title}


def compile_spec(
    form: Form, locale: str | None = None, today: dt.date | None = None
) -> dict[str, Any]:
    """The localized descriptor the HTML page and the widgets render from.

    Texts are in ``locale`` (else the form's default), relative date bounds
    are resolved for ``today``, and ``when`` is a plain JSON condition tree
    whose meaning is that of :func:`intakeforms.language.conditions.evaluate`.

    ``fields`` keeps the file's order and holds the sections
    (``{"type": "section", "name": "section-1", "title", "text"}``) and
    pages (``{"type": "page", "name": "page-1", "title"}``) among the
    questions; ``thanks`` and ``theme`` are there when the form has them.
    """
    chosen = locale if locale in form.locales else form.default_locale
    day = today or dt.date.today()
    definition = form.definition
    names = layout_names(definition.fields)
    fields = [
        _spec_field(form, f, chosen, day)
        if isinstance(f, FieldModel)
        else _spec_layout(form, f, names[i], chosen)
        for i, f in enumerate(definition.fields)
    ]
    spec: dict[str, Any] = {
        "form": form.id,
        "version": form.version,
        "locale": chosen,
        "locales": form.locales,
        "title": form.title(chosen),
        "description": None
        if definition.description is None
        else form.text(definition.description, chosen),
        "fields": fields,
    }
    if definition.thanks is not None:
        thanks = definition.thanks
        shown = None if thanks.text is None else form.text(thanks.text, chosen)
        spec["thanks"] = dict(url=thanks.url, text=shown)  # noqa: C408
    if definition.theme is not None:
        spec["theme"] = {"accent": definition.theme.accent, "logo": definition.theme.logo}
    return spec
