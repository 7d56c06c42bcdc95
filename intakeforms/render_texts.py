"""The words of the hosted pages, in the customer's language.

:data:`UI_TEXTS` holds every text of the page chrome; :func:`condition_text`
writes the note under a question asked only sometimes ("Answer only if …"),
with the spec's labels, choice labels and numbers written the language's way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from intakeforms.i18n import N_, format_value, gettext_for
from intakeforms.present.values import VALUE_TEXTS, with_unit

__all__ = ["UI_TEXTS", "condition_text", "page_texts"]

#: Every text of the page chrome, by key; translated per page with gettext.
UI_TEXTS: dict[str, str] = {
    "locked": N_("Given by your link; it cannot be changed here."),
    # Translators: the page title when the form came back with problems (GOV.UK style).
    "error_title": N_("Error: {title}"),
    "problem": N_("There is a problem"),
    # Translators: read by screen readers before each inline error message.
    "error_prefix": N_("Error:"),
    "required": N_("(required)"),
    "yes": VALUE_TEXTS["yes"],
    "no": VALUE_TEXTS["no"],
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
    # Translators: above each step of a form in steps; {step} and {steps} are numbers.
    "step_of": N_("Step {step} of {steps}"),
    # Translators: the button that goes on to the next step of a form.
    "next": N_("Next"),
    # Translators: the button that goes back to the previous step of a form.
    "previous": N_("Back"),
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


def page_texts(locale: str) -> dict[str, str]:
    """Every text of :data:`UI_TEXTS`, translated into ``locale``."""
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
        unit = None if spec_field is None else spec_field.get("unit")
        return with_unit(format_value(value, locale), unit)
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
