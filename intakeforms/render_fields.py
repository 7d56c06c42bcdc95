"""The view of each question of the HTML form page.

:func:`build_question` turns one field of the localized spec, the customer's
posted answer and its error into a :class:`Question`: what the templates need
to draw it (its control, options, notes and the ``data-`` attributes form.js
reads), so the page shows again what the server read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from intakeforms.i18n import format_value
from intakeforms.render_texts import condition_text

__all__ = ["Option", "Question", "build_question"]

# HTML forms post these for a ticked box or a yes/no radio; the same words
# check_boolean accepts, so a re-filled page shows what the server read.
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


@dataclass
class Option:
    """One radio, box or drop-down entry, ticked or selected when ``checked``."""

    id: str
    value: str
    label: str
    checked: bool


@dataclass
class Question:
    """What the templates need to draw one question; built by :func:`build_question`."""

    name: str
    id: str
    kind: str  # input, textarea, select, file, radio, checkbox, consent or hidden
    label: str
    required: bool
    attrs: dict[str, str | bool | None] = field(default_factory=dict)
    wrapper: dict[str, str | bool | None] = field(default_factory=dict)
    value: str = ""
    options: list[Option] = field(default_factory=list)
    when_note: str | None = None
    help: str | None = None
    file_hint: str | None = None
    file_again: str | None = None
    unit: str | None = None
    error: str | None = None
    describedby: str | None = None
    #: The values a locked answer posts (its controls are disabled), else empty.
    locked: list[str] = field(default_factory=list)
    #: The note under a locked answer.
    locked_note: str | None = None

    @property
    def group(self) -> bool:
        """Drawn as a fieldset with a legend (radios and multichoice boxes)."""
        return self.kind in ("radio", "checkbox")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return value.isoformat("minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _texts(value: Any) -> list[str]:
    """A posted answer as a list of strings (one for a single input)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_as_text(v) for v in value]
    return [_as_text(value)]


def _boolean(value: Any) -> bool | None:
    for text in _texts(value)[:1]:
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def _file_types(accept: Iterable[str]) -> str:
    # image/jpeg → JPEG: what people call their files, not media types.
    names: list[str] = []
    for media_type in accept:
        name = media_type.rsplit("/", 1)[-1].split("+")[0].split(".")[-1].upper()
        if name not in names:
            names.append(name)
    return ", ".join(names)


def build_question(
    spec_field: Mapping[str, Any],
    spec: Mapping[str, Any],
    answer: Any,
    error: str | None,
    had_errors: bool,
    ui: Mapping[str, str],
    locked: bool = False,
) -> Question:
    """The view of ``spec_field`` showing ``answer`` (as posted) and its ``error``.

    ``had_errors`` says the page came back with problems (files must be chosen
    again); ``ui`` is :func:`intakeforms.render_texts.page_texts` of the spec's locale.
    """
    name = str(spec_field["name"])
    kind = str(spec_field["type"])
    control = (spec_field.get("input") or {}).get("control", "input")
    # A box with no choices to pick from is one box to tick: a consent.
    if control == "checkbox" and "choices" not in spec_field:
        control = "consent"
    q = Question(
        name=name,
        id=f"field-{name}",
        kind=control,
        label=str(spec_field.get("label") or name),
        required=bool(spec_field.get("required")),
        help=spec_field.get("help") or None,
        error=error,
    )
    # What form.js needs to read this answer the way the server would.
    q.wrapper = {"data-field": name, "data-type": kind}
    for bound in ("min", "max"):
        # Numbers and counts of picks; dates and times are the input's own.
        value = spec_field.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            q.wrapper[f"data-{bound}"] = json.dumps(value)
    when = spec_field.get("when")
    if when:
        q.wrapper["data-when"] = json.dumps(when, ensure_ascii=False)
    if control == "hidden":
        # Given by the page's address, never asked: no label, notes or lock
        # (the server keeps a link's locked value whatever is posted).
        _add_control(q, spec_field, answer)
        q.attrs = {k: v for k, v in q.attrs.items() if k in ("id", "name", "type", "maxlength")}
        return q
    if when:
        q.when_note = condition_text(when, spec)
    _add_notes(q, spec_field, str(spec["locale"]), had_errors, ui)
    if q.group:
        _add_options(q, spec_field, answer, ui)
    else:
        _add_control(q, spec_field, answer)
    if locked:
        _lock(q, answer, ui)
    return q


def _lock(q: Question, answer: Any, ui: Mapping[str, str]) -> None:
    """An answer given by a signed link: shown, not changed. Text can be
    read-only; choices cannot, so their controls are disabled (and marked
    for form.js, which would enable them again) and hidden inputs post the
    value. The server keeps the signed value whatever is posted."""
    q.locked_note = ui["locked"]
    if q.kind in ("input", "textarea"):
        q.attrs["readonly"] = True
    else:
        q.attrs["disabled"] = True
        q.attrs["data-locked"] = True
        q.locked = _texts(answer)
    q.describedby = " ".join(filter(None, [q.describedby, f"{q.id}-locked"])) or None
    if not q.group:  # a group's fieldset carries it
        q.attrs["aria-describedby"] = q.describedby


def _add_notes(
    q: Question,
    spec_field: Mapping[str, Any],
    locale: str,
    had_errors: bool,
    ui: Mapping[str, str],
) -> None:
    if spec_field.get("unit"):
        q.unit = str(spec_field["unit"])
    if q.kind == "file":
        size = format_value(round(int(spec_field.get("max_size") or 0) / 1_000_000, 1), locale)
        hint = ui["file_hint"].format(types=_file_types(spec_field.get("accept", [])), size=size)
        max_files = int(spec_field.get("max_files") or 1)
        if max_files > 1:
            hint = f"{hint} {ui['file_count'].format(count=format_value(max_files, locale))}"
        q.file_hint = hint
        # A browser can never be told which file to send again.
        if had_errors:
            q.file_again = ui["file_again"]
    described = [
        f"{q.id}-{suffix}"
        for suffix, present in (
            ("when", q.when_note),
            ("help", q.help),
            ("files", q.file_hint),
            ("again", q.file_again),
            ("error", q.error),
            ("unit", q.unit),
        )
        if present
    ]
    q.describedby = " ".join(described) or None


def _add_options(
    q: Question, spec_field: Mapping[str, Any], answer: Any, ui: Mapping[str, str]
) -> None:
    """Radios or boxes in a fieldset; the fieldset carries aria-describedby."""
    if "choices" not in spec_field:
        # Radios with no choices listed: yes or no.
        picked = _boolean(answer)
        choices = [("true", ui["yes"], picked is True), ("false", ui["no"], picked is False)]
    else:
        chosen = set(_texts(answer))
        choices = [
            (str(c["value"]), str(c["label"]), str(c["value"]) in chosen)
            for c in spec_field.get("choices", [])
        ]
    # The first option has the question's id: the error summary links there.
    q.options = [
        Option(q.id if i == 0 else f"{q.id}-{i + 1}", value, label, checked)
        for i, (value, label, checked) in enumerate(choices)
    ]
    # A required box in a multichoice group would demand every box.
    q.attrs = {
        "required": q.required and q.kind == "radio",
        "aria-invalid": "true" if q.error else None,
    }


def _add_control(q: Question, spec_field: Mapping[str, Any], answer: Any) -> None:
    """One input, textarea, select or consent box with the question's id."""
    q.attrs = {
        "id": q.id,
        "name": q.name,
        "aria-describedby": q.describedby,
        "aria-invalid": "true" if q.error else None,
        "required": q.required,
    }
    texts = _texts(answer)
    if q.kind == "consent":
        q.attrs["checked"] = _boolean(answer) is True
    elif q.kind == "select":
        q.options = [
            Option("", str(c["value"]), str(c["label"]), str(c["value"]) in texts[:1])
            for c in spec_field.get("choices", [])
        ]
    elif q.kind == "file":
        q.attrs |= {
            "type": "file",
            "accept": ",".join(spec_field.get("accept") or []) or None,
            "multiple": int(spec_field.get("max_files") or 1) > 1,
        }
    else:
        q.value = texts[0] if texts else ""
        hints: Mapping[str, str] = spec_field.get("input") or {}
        for key in ("type", "inputmode", "autocomplete", "autocapitalize", "spellcheck"):
            if key in hints and not (key == "type" and q.kind == "textarea"):
                q.attrs[key] = hints[key]
        if spec_field.get("max_length") is not None:
            q.attrs["maxlength"] = str(spec_field["max_length"])
        for bound in ("min", "max"):
            # A date's or time's bounds: the input's own min and max.
            if isinstance(spec_field.get(bound), str):
                q.attrs[bound] = str(spec_field[bound])
        if spec_field.get("placeholder"):
            q.attrs["placeholder"] = str(spec_field["placeholder"])
