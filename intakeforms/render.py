"""The HTML form page and the thank-you page, rendered from the localized spec.

The page works with JavaScript off: every question is shown, a question with a
``when`` says in words when to answer it, and the server's validation is the
authority (the form has ``novalidate`` and no ``pattern`` attributes, so the
customer only ever sees the server's translated messages). ``form.js``
(:data:`ASSETS_DIR`) then hides the questions whose condition is false, as
``data-when`` on their wrapper says; its ``evaluate`` mirrors
:func:`intakeforms.language.conditions.evaluate` (see the header of form.js).

Every template is autoescaped, and the page has no inline script, style or
event handler, so it runs under ``script-src 'self'; style-src 'self'``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from intakeforms.errors import FieldError
from intakeforms.i18n import N_, format_value, gettext_for

__all__ = [
    "ASSETS_DIR",
    "UI_TEXTS",
    "Language",
    "condition_text",
    "render_form_page",
    "render_home_page",
    "render_thanks_page",
]

#: ``form.css`` and ``form.js``, for the web app to serve under ``assets``.
ASSETS_DIR = Path(__file__).parent / "assets"

#: One language switcher link: (language code, its name in itself, URL).
Language = tuple[str, str, str]

#: Every text of the page chrome, by key; translated per page with gettext.
UI_TEXTS: dict[str, str] = {
    # Translators: the page title when the form came back with problems (GOV.UK style).
    "error_title": N_("Error: {title}"),
    "problem": N_("There is a problem"),
    # Translators: read by screen readers before each inline error message.
    "error_prefix": N_("Error:"),
    "required": N_("(required)"),
    "yes": N_("Yes"),
    "no": N_("No"),
    # Translators: the empty first entry of a drop-down list.
    "choose": N_("Choose one"),
    "send": N_("Send"),
    # Translators: the label of a trap field that only spam robots fill in.
    "honeypot": N_("Leave this empty"),
    # Translators: the name of the language switcher, for screen readers.
    "languages": N_("Language"),
    "file_again": N_("Choose the file again: files are not kept when the form has a problem."),
    # Translators: {types} is like "PDF, JPEG"; {size} is a number of megabytes.
    "file_hint": N_("Accepted file types: {types}. Largest file: {size} MB."),
    "file_count": N_("You can attach up to {count} files."),
    "thanks": N_("Thank you"),
    "thanks_title": N_("Thank you – {title}"),
    "reference": N_("Your reference"),
    "received": N_("We have received your message. Our team will answer you by email."),
    "keep_reference": N_("Keep the reference if you contact us about this again."),
    "back": N_("Back to the form"),
    "copy_button": N_("Copy"),
    "copied_status": N_("Copied"),
}

# The words of a condition note ("Answer only if “Topic” is “Car”.").
# Translators put the quotation marks their language uses into these.
# Translators: under a question asked only sometimes; {condition} is built
# from the messages below, like: “What do you need?” is “Repair”.
_ANSWER_ONLY_IF = N_("Answer only if {condition}.")
# Translators: a question's answer quoted inside a condition; use your quotes.
_QUOTED = N_("“{text}”")
_AND = N_("{first} and {second}")
_OR = N_("{first} or {second}")
_COMPARE: dict[tuple[str, bool], str] = {
    # Translators: {field} is a question, {value} an answer (already quoted) or a number.
    ("eq", False): N_("“{field}” is {value}"),
    ("ne", False): N_("“{field}” is not {value}"),
    ("eq", True): N_("“{field}” includes {value}"),
    ("ne", True): N_("“{field}” does not include {value}"),
    ("gt", False): N_("“{field}” is more than {value}"),
    ("gte", False): N_("“{field}” is at least {value}"),
    ("lt", False): N_("“{field}” is less than {value}"),
    ("lte", False): N_("“{field}” is at most {value}"),
}
_TICKED = N_("“{field}” is ticked")
_NOT_TICKED = N_("“{field}” is not ticked")

# HTML forms post these for a ticked box or a yes/no radio; the same words
# check_boolean accepts, so a re-filled page shows what the server read.
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


@cache
def _environment() -> Environment:
    # autoescape=True for every template, whatever its name: nothing from the
    # spec, the answers or the messages may ever reach the page unescaped.
    return Environment(
        loader=PackageLoader("intakeforms", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _ui(locale: str) -> dict[str, str]:
    return {key: gettext_for(message, locale) for key, message in UI_TEXTS.items()}


# -- condition notes ----------------------------------------------------------


def _flatten(condition: Mapping[str, Any], key: str) -> Iterable[Mapping[str, Any]]:
    # "A and (B and C)" reads the same as "A and B and C".
    for item in condition[key]:
        if key in item:
            yield from _flatten(item, key)
        else:
            yield item


def _join(parts: Sequence[str], template: str, locale: str) -> str:
    text = parts[0]
    for part in parts[1:]:
        text = gettext_for(template, locale).format(first=text, second=part)
    return text


def _value_text(spec_field: Mapping[str, Any] | None, value: Any, locale: str) -> str:
    def quoted(text: str) -> str:
        return gettext_for(_QUOTED, locale).format(text=text)

    kind = None if spec_field is None else spec_field.get("type")
    if isinstance(value, bool):
        return quoted(gettext_for(UI_TEXTS["yes" if value else "no"], locale))
    if isinstance(value, int | float):
        number = format_value(value, locale)
        unit = None if spec_field is None else spec_field.get("unit")
        return f"{number}\u00a0{unit}" if unit else number
    if kind in ("choice", "multichoice") and spec_field is not None:
        labels = {c["value"]: c["label"] for c in spec_field.get("choices", [])}
        return quoted(str(labels.get(value, value)))
    return quoted(str(value))


def _describe(
    condition: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]], locale: str
) -> str:
    for key, template in (("all", _AND), ("any", _OR)):
        if key in condition:
            parts = [_describe(c, fields, locale) for c in _flatten(condition, key)]
            return _join(parts, template, locale)
    name = str(condition["field"])
    spec_field = fields.get(name)
    label = name if spec_field is None else str(spec_field.get("label") or name)
    op, value = str(condition["op"]), condition["value"]
    multiple = bool(condition.get("multiple"))
    if spec_field is not None and spec_field.get("type") == "consent" and isinstance(value, bool):
        ticked = value if op == "eq" else not value
        return gettext_for(_TICKED if ticked else _NOT_TICKED, locale).format(field=label)
    if op == "in":
        op = "eq"
        values = [_value_text(spec_field, v, locale) for v in value]
        shown = _join(values, _OR, locale)
    else:
        shown = _value_text(spec_field, value, locale)
    template = _COMPARE.get((op, multiple)) or _COMPARE[(op, False)]
    return gettext_for(template, locale).format(field=label, value=shown)


def condition_text(when: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """The note shown under a conditional question, in the spec's language.

    ``when`` is a condition tree from ``spec["fields"][i]["when"]``; the result
    reads like ``Answer only if “What do you need?” is “Repair”.``, with the
    spec's labels and choice labels and numbers written the language's way.
    """
    locale = str(spec["locale"])
    fields = {str(f["name"]): f for f in spec["fields"]}
    condition = _describe(when, fields, locale)
    return gettext_for(_ANSWER_ONLY_IF, locale).format(condition=condition)


# -- the view of each question --------------------------------------------------


@dataclass
class _Option:
    id: str
    value: str
    label: str
    checked: bool


@dataclass
class _Question:
    """What the templates need to draw one question; built by :func:`_question`."""

    name: str
    id: str
    kind: str  # input, textarea, select, file, radio, checkbox or consent
    label: str
    required: bool
    attrs: dict[str, str | bool | None] = field(default_factory=dict)
    wrapper: dict[str, str | bool | None] = field(default_factory=dict)
    value: str = ""
    options: list[_Option] = field(default_factory=list)
    when_note: str | None = None
    help: str | None = None
    file_hint: str | None = None
    file_again: str | None = None
    unit: str | None = None
    error: str | None = None
    describedby: str | None = None

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


def _question(
    spec_field: Mapping[str, Any],
    spec: Mapping[str, Any],
    answer: Any,
    error: str | None,
    had_errors: bool,
    ui: Mapping[str, str],
) -> _Question:
    name = str(spec_field["name"])
    kind = str(spec_field["type"])
    control = (spec_field.get("input") or {}).get("control", "input")
    q = _Question(
        name=name,
        id=f"field-{name}",
        kind="consent" if kind == "consent" else control,
        label=str(spec_field.get("label") or name),
        required=bool(spec_field.get("required")),
        help=spec_field.get("help") or None,
        error=error,
    )
    # What form.js needs to read this answer the way the server would.
    q.wrapper = {"data-field": name, "data-type": kind}
    if kind in ("integer", "number", "multichoice"):
        for bound in ("min", "max"):
            if spec_field.get(bound) is not None:
                q.wrapper[f"data-{bound}"] = json.dumps(spec_field[bound])
    when = spec_field.get("when")
    if when:
        q.wrapper["data-when"] = json.dumps(when, ensure_ascii=False)
        q.when_note = condition_text(when, spec)
    _add_notes(q, spec_field, str(spec["locale"]), had_errors, ui)
    if q.group:
        _add_options(q, spec_field, answer, ui)
    else:
        _add_control(q, spec_field, answer)
    return q


def _add_notes(
    q: _Question,
    spec_field: Mapping[str, Any],
    locale: str,
    had_errors: bool,
    ui: Mapping[str, str],
) -> None:
    if spec_field["type"] in ("integer", "number") and spec_field.get("unit"):
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
    q: _Question, spec_field: Mapping[str, Any], answer: Any, ui: Mapping[str, str]
) -> None:
    """Radios or boxes in a fieldset; the fieldset carries aria-describedby."""
    if spec_field["type"] == "boolean":
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
        _Option(q.id if i == 0 else f"{q.id}-{i + 1}", value, label, checked)
        for i, (value, label, checked) in enumerate(choices)
    ]
    # A required box in a multichoice group would demand every box.
    q.attrs = {
        "required": q.required and q.kind == "radio",
        "aria-invalid": "true" if q.error else None,
    }


def _add_control(q: _Question, spec_field: Mapping[str, Any], answer: Any) -> None:
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
            _Option("", str(c["value"]), str(c["label"]), str(c["value"]) in texts[:1])
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
        if spec_field["type"] in ("date", "time"):
            for bound in ("min", "max"):
                if spec_field.get(bound) is not None:
                    q.attrs[bound] = str(spec_field[bound])
        if spec_field.get("placeholder"):
            q.attrs["placeholder"] = str(spec_field["placeholder"])


def _page_assets(assets: str) -> dict[str, str]:
    prefix = assets.rstrip("/")
    return {"css": f"{prefix}/form.css", "js": f"{prefix}/form.js"}


def render_form_page(
    spec: Mapping[str, Any],
    *,
    action: str,
    values: Mapping[str, str | Sequence[str]] | None = None,
    errors: Sequence[FieldError] = (),
    hidden: Mapping[str, str] | None = None,
    honeypot: str | None = None,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
) -> str:
    """The HTML page of a form, in the spec's language.

    ``spec`` is ``form.spec(locale)``. ``values`` are the customer's raw posted
    answers (a string, or a list of strings for repeated names) to show again
    after ``errors``; on a fresh page (no values and no errors) the form's
    defaults are filled in instead. ``errors`` show in a summary at the top
    and next to their question; an error for a name that is not a question
    shows in the summary only. ``hidden`` inputs and the ``honeypot`` text
    input are added as they are. ``languages`` are the switcher links; the one
    whose code is the spec's locale is marked current. ``assets`` is the URL
    prefix of form.css and form.js (:data:`ASSETS_DIR`).
    """
    locale = str(spec["locale"])
    ui = _ui(locale)
    fields: list[Mapping[str, Any]] = list(spec["fields"])
    names = {str(f["name"]) for f in fields}
    by_field: dict[str, str] = {}
    for problem in errors:
        by_field.setdefault(problem.field, problem.message)
    # "Label – message": a label's own closing full stop or colon would
    # otherwise run into the separator ("…varaamiseen.: Rastita ruutu.").
    labels = {str(f["name"]): str(f.get("label") or f["name"]).rstrip(" .:") for f in fields}
    summary = [
        {
            "href": f"#field-{e.field}" if e.field in names else None,
            "label": labels.get(e.field),
            "message": e.message,
        }
        for e in errors
    ]
    answers: Mapping[str, Any]
    if values or errors:
        answers = values or {}
    else:
        answers = {str(f["name"]): f["default"] for f in fields if f.get("default") is not None}
    questions = [
        _question(
            f,
            spec,
            answers.get(str(f["name"])),
            by_field.get(str(f["name"])),
            bool(errors),
            ui,
        )
        for f in fields
    ]
    title = str(spec["title"])
    template = _environment().get_template("form.html")
    return template.render(
        locale=locale,
        ui=ui,
        page_title=ui["error_title"].format(title=title) if errors else title,
        title=title,
        description=spec.get("description"),
        action=action,
        multipart=any(q.kind == "file" for q in questions),
        questions=questions,
        summary=summary,
        hidden=dict(hidden or {}),
        honeypot=honeypot,
        languages=_languages(languages, locale),
        assets=_page_assets(assets),
    )


def _languages(languages: Sequence[Language], locale: str) -> list[dict[str, Any]]:
    # One language needs no switcher.
    if len(languages) < 2:
        return []
    return [
        {"code": code, "name": name, "href": href, "current": code == locale}
        for code, name, href in languages
    ]


def render_thanks_page(
    spec: Mapping[str, Any],
    *,
    reference: str,
    back: str | None = None,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
) -> str:
    """The page shown once a submission is stored: its reference, prominent
    and easy to copy, that the team answers by email, and a link ``back``."""
    locale = str(spec["locale"])
    ui = _ui(locale)
    title = str(spec["title"])
    template = _environment().get_template("thanks.html")
    return template.render(
        locale=locale,
        ui=ui,
        page_title=ui["thanks_title"].format(title=title),
        title=title,
        reference=reference,
        back=back,
        languages=_languages(languages, locale),
        assets=_page_assets(assets),
    )


def render_home_page(
    forms: Sequence[Mapping[str, str]],
    *,
    locale: str,
    title: str,
    question: str,
    widget: str,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
) -> str:
    """The front page: a link to each form (``{"title", "url"}``) under
    ``question``, and the chat pop-up loaded from ``widget``."""
    template = _environment().get_template("home.html")
    return template.render(
        locale=locale,
        ui=_ui(locale),
        page_title=title,
        title=title,
        question=question,
        forms=forms,
        widget=widget,
        languages=_languages(languages, locale),
        assets=_page_assets(assets),
    )
