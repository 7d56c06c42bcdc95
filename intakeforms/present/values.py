"""Answer values written for people: in their language, by the form's words.

Dates and times and numbers the locale's way, choices by their labels, yes
and no (given and not given for consent) in words, numbers with their unit,
a multichoice as its labels, files by name and size, phone numbers grouped
for reading (``+358 40 123 4567``; the stored value stays E.164), and the
moment a submission was sent in the reader's time zone, named. A value whose type is
not what the form says (an edited form, an old row) is still shown, as
plain text (:func:`plain`). Emails, tickets and the page's condition notes
write values with these.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import phonenumbers
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
    "consent_row",
    "file_entry",
    "format_answer",
    "grouped_phone",
    "plain",
    "submitted",
    "time_zone",
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
    # Translators: a consent answer's row reads "Consent given: I agree that
    # my details are used to book the service." (the consent text follows).
    "consent_given": N_("Consent given"),
    "consent_not_given": N_("Consent not given"),
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


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (like ``Europe/Helsinki``); ``ValueError``
    says what to write for a name the time zone database does not know."""
    try:
        # "" and "/etc/passwd" are refused by zoneinfo too, but say less.
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ValueError(
            f"{name!r} is not a time zone; write an IANA name like Europe/Helsinki, "
            "Europe/Stockholm or UTC"
        ) from None


def _offset(moment: dt.datetime) -> str:
    """``UTC+2``, ``UTC+5:30``, ``UTC-3``: the offset of an aware ``moment``."""
    offset = moment.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def submitted(moment: dt.datetime, locale: str, zone: str | None = None) -> str:
    """When a submission was sent, written for ``locale`` in the time zone
    ``zone`` (an IANA name; UTC when None), the zone named:
    ``2.3.2026 11.15 Europe/Helsinki (UTC+2)``, ``Mar 2, 2026 9:15 AM UTC``.
    A time without a zone (an old stored row) is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    named = "UTC" if zone is None or zone == "UTC" else None
    local = moment.astimezone(dt.UTC if named else time_zone(zone or "UTC"))
    day = format_date(local.date(), format="medium", locale=locale)
    time = format_time(local.time(), format="short", locale=locale)
    return f"{day} {time} {named or f'{zone} ({_offset(local)})'}"


def _split_digits(group: str) -> str:
    """A run of six or more digits as groups of at most four: ``123456`` →
    ``123 456``, ``1234567`` → ``123 4567``; shorter runs as they are."""
    if len(group) < 6 or not group.isdigit():
        return group
    if len(group) == 6:
        return f"{group[:3]} {group[3:]}"
    return f"{_split_digits(group[:-4])} {group[-4:]}"


def grouped_phone(value: str) -> str:
    """A stored (E.164) phone number grouped for reading: the international
    format of ``phonenumbers``, with a subscriber number it leaves whole
    split as one reads it out (``+358401234567`` → ``+358 40 123 4567``, not
    ``+358 40 1234567``); any other text as it is."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return " ".join(_split_digits(group) for group in str(international).split(" "))


def consent_row(label: str, given: bool, locale: str, mark: str | None = None) -> tuple[str, str]:
    """A consent answer as a row that reads as a sentence: ``("Consent
    given", "I agree that my details are used to book the service.")``;
    ``label`` is the consent's text in ``locale``, ``mark`` (like *from the
    link*) is put after the row's label in brackets."""
    words = value_words(locale)
    title = words["consent_given" if given else "consent_not_given"]
    if mark:
        title = f"{title} ({one_line(mark)})"
    return title, one_line(label)


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
    if kind == "phone" and isinstance(value, str):
        return grouped_phone(value)
    if kind in ("date", "time") and isinstance(value, str):
        try:
            parsed = (
                dt.date.fromisoformat(value) if kind == "date" else dt.time.fromisoformat(value)
            )
        except ValueError:
            return value
        return format_value(parsed, locale)
    return plain(value)
