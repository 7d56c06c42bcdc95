"""Message catalogs (fi, sv, en) and locale-aware formatting with babel.

Catalogs live in ``intakeforms/locale/<lang>/LC_MESSAGES/intakeforms.po``; the
wheel's build hook compiles them to ``.mo``. A source checkout that was never
built reads the ``.po`` files directly, so both give the same text.
"""

from __future__ import annotations

import datetime as dt
import gettext
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

__all__ = [
    "CATALOG_LOCALES",
    "DEFAULT_LOCALE",
    "N_",
    "catalog_locale",
    "format_value",
    "gettext_for",
    "negotiate",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "intakeforms"
#: Languages with a full catalog; others fall back to English.
CATALOG_LOCALES = ("en", "fi", "sv")
DEFAULT_LOCALE = "en"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message for extraction without translating it yet."""
    return message


@cache
def catalog_locale(locale: str | None) -> str:
    """The catalog language for ``locale``: ``fi-FI`` → ``fi``, unknown → ``en``."""
    if not locale:
        return DEFAULT_LOCALE
    try:
        language = Locale.parse(locale.replace("-", "_")).language
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE
    return language if language in CATALOG_LOCALES else DEFAULT_LOCALE


@cache
def _catalog(language: str) -> dict[str, str]:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled = folder / f"{DOMAIN}.mo"
    if compiled.exists():
        with compiled.open("rb") as handle:
            translations = gettext.GNUTranslations(handle)
        return {
            str(k): str(v)
            for k, v in translations._catalog.items()  # type: ignore[attr-defined]
            if k and v
        }
    source = folder / f"{DOMAIN}.po"
    if not source.exists():
        return {}
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def gettext_for(message: str, locale: str | None) -> str:
    """``message`` translated for ``locale`` (the English text when missing)."""
    return _catalog(catalog_locale(locale)).get(message, message)


@cache
def _babel_locale(locale: str | None) -> Locale:
    # Parsing a locale reads babel's data files; every message needs one.
    try:
        return Locale.parse((locale or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def format_value(value: object, locale: str | None) -> str:
    """A number, date or time written the way ``locale`` writes it."""
    babel_locale = _babel_locale(locale)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_decimal(value, locale=babel_locale)
    if isinstance(value, dt.date):
        return format_date(value, format="medium", locale=babel_locale)
    if isinstance(value, dt.time):
        return format_time(value, format="short", locale=babel_locale)
    return str(value)


def negotiate(
    available: list[str], requested: str | None = None, accept_language: str | None = None
) -> str:
    """The language to answer in: ``requested`` (``?lang=``) when the form has
    it, else the best match for the ``Accept-Language`` header, else the
    form's default (the first of ``available``)."""
    if requested:
        if requested in available:
            return requested
        # lang="fi-FI" on a host page asks for Finnish.
        language = requested.replace("_", "-").split("-", 1)[0].lower()
        if language in available:
            return language
    if accept_language:
        preferred = []
        for part in accept_language.split(",")[:20]:
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            if tag and quality > 0:
                preferred.append((quality, tag.strip()))
        preferred.sort(key=lambda item: -item[0])
        ordered = [tag for _, tag in preferred]
        found = negotiate_locale(ordered, available, sep="-")
        if found is None:
            # fi-FI asks for fi; babel matches only when the form lists the region.
            found = negotiate_locale([t.split("-")[0] for t in ordered], available, sep="-")
        if found is not None:
            return str(found)
    return available[0]
