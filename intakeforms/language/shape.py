"""pydantic's errors about a form file, told in a site owner's words.

Unknown keys get a "did you mean", an unknown field type lists the types, and
every problem points at the file:line:col where it was written.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from intakeforms.errors import Problem
from intakeforms.fields.layout import LAYOUT
from intakeforms.fields.registry import TYPES
from intakeforms.language.models import Autorespond, FormDefinition, Thanks, Theme
from intakeforms.language.source import Document, Path
from intakeforms.language.target_kinds import deliver_model, target_kind

__all__ = ["did_you_mean", "shape_problems"]


def did_you_mean(word: str, options: Iterator[str] | list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(path: Path, values: Any) -> type[BaseModel] | None:
    if path == ():
        return FormDefinition
    if path == ("autorespond",):
        return Autorespond
    if path == ("thanks",):
        return Thanks
    if path == ("theme",):
        return Theme
    if len(path) == 2 and path[0] == "fields" and isinstance(values, dict):
        items = values.get("fields")
        if isinstance(items, list) and isinstance(path[1], int) and path[1] < len(items):
            item = items[path[1]]
            if isinstance(item, dict):
                named = str(item.get("type"))
                entry = TYPES.get(named)
                return entry.model if entry is not None else LAYOUT.get(named)
    if len(path) == 2 and path[0] == "deliver":
        return deliver_model()
    if len(path) == 3 and path[0] == "deliver":
        kind = target_kind(str(path[2]))
        return kind.model if kind is not None else None
    return None


def _strip_tags(loc: tuple[str | int, ...], values: Any) -> Path:
    """Drop pydantic's union member names from a location."""
    path: list[str | int] = []
    node = values
    for part in loc:
        if (
            isinstance(node, dict)
            and isinstance(part, str)
            and part not in node
            and (part in TYPES or part in LAYOUT or "[" in part or part.startswith("function-"))
        ):
            continue
        path.append(part)
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path)


ModelAt = Callable[[Path, Any], "type[BaseModel] | None"]


def shape_problems(
    doc: Document, error: ValidationError, model_at: ModelAt | None = None
) -> list[Problem]:
    """pydantic's errors as problems a site owner can act on.

    ``model_at`` names the model at a path, for "did you mean" among its
    keys; a form's models unless given (an FAQ file passes its own).
    """
    find = model_at or _model_at
    problems = []
    items = error.errors(include_url=False)
    # A misspelt key shows up twice: unknown 'lable' and missing 'label'.
    # Report it once, as the unknown key with its suggestion.
    misspelt = {
        (path[:-1], close)
        for item in items
        if item["type"] == "extra_forbidden"
        for path in [_strip_tags(item["loc"], doc.values)]
        for close in difflib.get_close_matches(
            str(path[-1]), _keys_at(path[:-1], doc, find), 1, 0.6
        )
    }
    for item in items:
        path = _strip_tags(item["loc"], doc.values)
        kind = item["type"]
        if kind == "missing" and (path[:-1], path[-1]) in misspelt:
            continue
        if kind == "extra_forbidden":
            key = str(path[-1])
            hint = did_you_mean(key, _keys_at(path[:-1], doc, find))
            problems.append(
                doc.problem(path, "unknown_key", f"unknown key {key!r}{hint}", key=True)
            )
        elif kind == "union_tag_invalid":
            given = str(item["ctx"]["tag"])
            problems.append(
                doc.problem(
                    (*path, "type"),
                    "unknown_field_type",
                    f"unknown field type {given!r}{did_you_mean(given, _item_types())}; "
                    f"the types are {', '.join(_item_types())}",
                )
            )
        elif kind == "union_tag_not_found":
            written = _value(doc, path)
            keys = list(written) if isinstance(written, dict) else []
            close = difflib.get_close_matches("type", keys, 1, 0.6)
            if close:
                problems.append(
                    doc.problem(
                        (*path, close[0]),
                        "unknown_key",
                        f"unknown key {close[0]!r} (did you mean 'type'?)",
                        key=True,
                    )
                )
                continue
            problems.append(
                doc.problem(
                    path,
                    "missing_key",
                    f"every field needs a 'type' (one of {', '.join(_item_types())})",
                )
            )
        elif kind == "missing":
            problems.append(
                doc.problem(path[:-1], "missing_key", f"missing required key {path[-1]!r}")
            )
        elif kind == "string_pattern_mismatch" and path in (("form",),):
            problems.append(
                doc.problem(
                    path,
                    "invalid_slug",
                    f"the form id {_value(doc, path)!r} is not a slug; use lowercase "
                    "letters, digits and dashes, like car-service",
                )
            )
        elif kind == "string_pattern_mismatch" and (
            path == ("faq",) or (len(path) == 3 and path[0] == "entries" and path[2] == "id")
        ):
            problems.append(
                doc.problem(
                    path,
                    "invalid_slug",
                    f"the id {_value(doc, path)!r} is not a slug; use lowercase "
                    "letters, digits and dashes, like winter-tyres",
                )
            )
        elif kind == "string_pattern_mismatch" and path[-1] == "name":
            problems.append(
                doc.problem(
                    path,
                    "invalid_name",
                    f"the field name {_value(doc, path)!r} is not valid; use lowercase "
                    "letters, digits and _, starting with a letter, like first_name",
                )
            )
        elif kind == "string_pattern_mismatch" and path == ("reference_prefix",):
            problems.append(
                doc.problem(
                    path,
                    "invalid_value",
                    "reference_prefix is 1 to 10 capital letters or digits, starting "
                    "with a letter, like CAR",
                )
            )
        else:
            problems.append(doc.problem(path, "invalid_value", _pydantic_message(item)))
    return problems


def _item_types() -> list[str]:
    """What ``type`` may say in ``fields``: the field types, then section and page."""
    return [*TYPES, *LAYOUT]


def _keys_at(path: Path, doc: Document, model_at: ModelAt = _model_at) -> list[str]:
    model = model_at(path, doc.values)
    return list(model.model_fields) if model else []


def _value(doc: Document, path: Path) -> Any:
    node = doc.values
    for part in path:
        node = node[part]
    return node


#: What a list looks like for the list keys a newcomer meets first.
_LIST_EXAMPLES = {
    "locales": "[fi, en]",
    "fields": "[{name: email, type: email, label: Email}]",
    "accept": "[image/jpeg, application/pdf]",
    "to": "[service@example.com]",
    "cc": "[boss@example.com]",
    "tags": "[car-service, web]",
    "deliver": "[{email: {to: [service@example.com]}}]",
}


def _pydantic_message(item: Any) -> str:
    message = str(item["msg"])
    if item["type"] in ("bool_parsing", "bool_type"):
        return "write true or false"
    key = item["loc"][-1] if item["loc"] else None
    if item["type"] == "list_type" and isinstance(key, str):
        example = _LIST_EXAMPLES.get(key, "[first, second]")
        return (
            f"{key} takes a list: write {key}: {example}, or each item on a line of "
            "its own below, indented and starting with '- '"
        )
    if item["type"] in ("dict_type", "model_type") and key == "choices":
        return (
            "choices takes a map from key to text: write choices: {yes: Yes, no: No}, "
            "or one 'key: text' a line below, indented"
        )
    if (
        item["type"] in ("dict_type", "model_type")
        and item["loc"]
        and item["loc"][-1]
        in (
            "label",
            "title",
            "help",
            "placeholder",
            "description",
            "unit",
            "from_name",
            "intro",
        )
    ):
        return "write text, or a map from locale to text like {en: Email, fi: Sähköposti}"
    return message[0].lower() + message[1:]
