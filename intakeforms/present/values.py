"""Answer values written for people: in their language, by the form's words.

Dates and times and numbers the locale's way, choices by their labels, yes
and no (given and not given for consent) in words, numbers with their unit,
a multichoice as its labels, files by name and size. A value whose type is
not what the form says (an edited form, an old row) is still shown, as
plain text (:func:`plain`). Emails, tickets and the page's condition notes
write values with these.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_time
from babel.units import format_unit

from intakeforms.i18n import N_, format_value, gettext_for
from intakeforms.present.lines import one_line
from intakeforms.present.texts import localized

if TYPE_CHECKING:
    from intakeforms.form import Form

__all__ = [
    "VALUE_TEXTS",
    "blank",
    "file_entry",
    "format_answer",
    "plain",
    "submitted",
    "value_words",
    "with_unit",
]

#: The words values are written with, translated into the reader's language.
VALUE_TEXTS: dict[str, str] = {
    "yes": N_("Yes"),
    "no": N_("No"),
    # Translators: the answer to a consent box (like a privacy notice) that was ticked.
    "given": N_("Given"),
    "not_given": N_("Not given"),
    # Translators: after an uploaded file's name in the agent email.
    "file_missing": N_("file missing, not attached"),
    # Translators: after the name an uploaded file is attached with, the name
    # the customer's own computer gave it; {name} is that name.
    "customer_named": N_("named by the customer “{name}”"),
}


@lru_cache(maxsize=64)
def value_words(locale: str) -> Mapping[str, str]:
    """:data:`VALUE_TEXTS` translated into ``locale`` (shared: do not change it)."""
    return {key: gettext_for(message, locale) for key, message in VALUE_TEXTS.items()}


def plain(value: Any) -> str:
    """Any stored value as text, for answers whose type is not what the form says."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict | bool):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def blank(value: Any) -> bool:
    """Whether ``value`` is no answer at all: None, an empty list, blank text."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def with_unit(number: str, unit: str | None) -> str:
    """A number already written for the reader, followed by its ``unit``."""
    # A no-break space, as babel puts between digit groups: "184 000 km"
    # never breaks between the number and its unit.
    return f"{number}\u00a0{unit}" if unit else number


def submitted(moment: dt.datetime, locale: str) -> str:
    """When a submission was sent, in UTC, written for ``locale``; a time
    without a zone (an old stored row) is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    utc = moment.astimezone(dt.UTC)
    day = format_date(utc.date(), format="medium", locale=locale)
    time = format_time(utc.time(), format="short", locale=locale)
    return f"{day} {time} UTC"


def _size(size: int, locale: str) -> str:
    if size >= 1_000_000:
        unit, amount, pattern = "digital-megabyte", size / 1_000_000, "#,##0.#"
    elif size >= 1000:
        unit, amount, pattern = "digital-kilobyte", size / 1000, "#,##0"
    else:
        unit, amount, pattern = "digital-byte", size, "#,##0"
    return str(format_unit(amount, unit, length="short", format=pattern, locale=locale))


def file_entry(attached_as: str | None, name: str, size: Any, missing: bool, locale: str) -> str:
    """``ATTACHED-NAME (size), named by the customer “their name”``: the
    customer's name is labelled as theirs, never passed off as the file's.
    ``attached_as`` is None for a file known only from the answers."""
    words = value_words(locale)
    named = words["customer_named"].format(name=one_line(name) or "file")
    sized = ""
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        sized = f" ({_size(size, locale)})"
    shown = f"{attached_as}{sized}, {named}" if attached_as else f"{named}{sized}"
    return f"{shown} – {words['file_missing']}" if missing else shown


def format_answer(form: Form, field: Any, value: Any, locale: str) -> str:
    """One (non-file) answer to ``field`` written for people reading ``locale``."""
    kind = field.type
    if kind in ("integer", "number") and isinstance(value, int | float):
        if isinstance(value, bool):
            return plain(value)
        unit = localized(field.unit, locale, form.default_locale) if field.unit else None
        return with_unit(format_value(value, locale), unit)
    if kind == "choice" and isinstance(value, str):
        label = field.choices.get(value)
        return localized(label, locale, form.default_locale) if label else value
    if kind == "multichoice" and isinstance(value, list):
        labels = []
        for key in value:
            label = field.choices.get(key) if isinstance(key, str) else None
            labels.append(localized(label, locale, form.default_locale) if label else plain(key))
        return ", ".join(labels)
    if kind in ("boolean", "consent") and isinstance(value, bool):
        words = value_words(locale)
        if kind == "boolean":
            return words["yes" if value else "no"]
        return words["given" if value else "not_given"]
    if kind in ("date", "time") and isinstance(value, str):
        try:
            parsed = (
                dt.date.fromisoformat(value) if kind == "date" else dt.time.fromisoformat(value)
            )
        except ValueError:
            return value
        return format_value(parsed, locale)
    return plain(value)
