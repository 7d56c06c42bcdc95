"""Message catalogs: complete fi/sv translations, a template in step with the
code, and messages written the way each language writes numbers and dates."""

from __future__ import annotations

import datetime as dt
import shutil
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from intakeforms import i18n, validate
from intakeforms.fields import FieldProblem
from intakeforms.i18n import CATALOG_LOCALES, DOMAIN, gettext_for, negotiate

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "intakeforms" / "locale"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
#: Languages whose catalog must translate every message (English is the msgid).
TRANSLATED = [language for language in CATALOG_LOCALES if language != "en"]

#: Representative values for every placeholder a message has (``{example}``
#: comes from the field's region, not from the problem).
PARAMS: dict[str, dict[str, Any]] = {
    "too_short": {"min": 3},
    "too_long": {"max": 1000},
    "too_small": {"min": 1_000_000},
    "too_large": {"max": 2.5},
    "too_few_choices": {"min": 2},
    "too_many_choices": {"max": 3},
    "date_too_early": {"min": dt.date(2026, 12, 1)},
    "date_too_late": {"max": dt.date(2027, 1, 31)},
    "time_too_early": {"min": dt.time(8, 30)},
    "time_too_late": {"max": dt.time(16, 0)},
    "file_type": {"types": "image/jpeg, application/pdf"},
    "file_too_large": {"max": 10_500_000},
    "too_many_files": {"max": 5},
}


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a ``str.format`` template."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def msgids(catalog: Catalog) -> set[str]:
    return {str(message.id) for message in catalog if message.id}


def field(region: str | None = "FI") -> Any:
    """The attributes of a field that ``message_for`` reads."""
    return SimpleNamespace(unit=None, region=region)


@pytest.fixture
def fresh_catalogs() -> Iterator[None]:
    """An empty catalog cache before and after the test."""
    i18n._catalog.cache_clear()
    yield
    i18n._catalog.cache_clear()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    catalog = load(po_path(language), language)
    problems = []
    for code, msgid in validate.MESSAGES.items():
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"{code}: missing {msgid!r}")
        elif not message.string or message.fuzzy:
            problems.append(f"{code}: untranslated or fuzzy {msgid!r}")
        elif placeholders(str(message.string)) != placeholders(msgid):
            problems.append(f"{code}: placeholders differ in {message.string!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", CATALOG_LOCALES)
def test_catalog_placeholders_match_and_nothing_is_fuzzy(language: str) -> None:
    catalog = load(po_path(language), language)
    assert catalog.locale is not None
    assert str(catalog.locale) == language
    for message in catalog:
        if message.id and message.string:
            assert not message.fuzzy, message.id
            assert placeholders(str(message.string)) == placeholders(str(message.id))


def test_template_is_up_to_date(tmp_path: Path) -> None:
    """The .pot holds exactly what ``pybabel extract`` finds in the code now."""
    fresh = tmp_path / f"{DOMAIN}.pot"
    pybabel = "import sys; from babel.messages.frontend import main; sys.exit(main())"
    command = [
        *(sys.executable, "-c", pybabel, "-q", "extract"),
        *("-k", "N_", "-o", str(fresh), "intakeforms"),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert msgids(load(fresh)) == msgids(load(TEMPLATE)), (
        "intakeforms.pot is out of date: run the extract command in docs/translations.md"
    )


def test_template_covers_every_message() -> None:
    assert set(validate.MESSAGES.values()) <= msgids(load(TEMPLATE))


@pytest.mark.parametrize("language", CATALOG_LOCALES)
def test_catalogs_follow_the_template(language: str) -> None:
    assert msgids(load(po_path(language), language)) == msgids(load(TEMPLATE)), (
        f"{language} catalog differs from intakeforms.pot: run pybabel update"
    )


def test_no_compiled_catalogs_in_the_source_tree() -> None:
    """A .mo in the checkout would shadow its .po, and go stale when it is edited."""
    assert sorted(LOCALES.rglob("*.mo")) == [], "delete them; the wheel build compiles them"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fi", "Vastaa tähän kysymykseen."),
        ("fi-FI", "Vastaa tähän kysymykseen."),
        ("fi_FI", "Vastaa tähän kysymykseen."),
        ("sv", "Svara på den här frågan."),
        ("sv-SE", "Svara på den här frågan."),
        ("sv-FI", "Svara på den här frågan."),
        ("en", "Please answer this question."),
        ("en-GB", "Please answer this question."),
        ("de-DE", "Please answer this question."),
        ("xx-unknown", "Please answer this question."),
        ("", "Please answer this question."),
        (None, "Please answer this question."),
    ],
)
def test_gettext_for(fresh_catalogs: None, locale: str | None, expected: str) -> None:
    assert gettext_for(validate.MESSAGES["required"], locale) == expected


def test_gettext_for_an_unknown_message_gives_it_back(fresh_catalogs: None) -> None:
    assert gettext_for("Not in any catalog.", "fi") == "Not in any catalog."


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_every_code_has_a_message(fresh_catalogs: None, locale: str) -> None:
    for code, msgid in validate.MESSAGES.items():
        params = PARAMS.get(code, {})
        assert set(params) == placeholders(msgid) - {"example"}, code
        text = validate.message_for(field(), FieldProblem(code, **params), locale)
        assert text, code
        assert "{" not in text, (code, text)
        assert "}" not in text, (code, text)
        if locale == "en":
            assert text.startswith(msgid.split("{")[0]), (code, text)
        else:
            assert text != validate.message_for(field(), FieldProblem(code, **params), "en")


@pytest.mark.parametrize(
    ("code", "params", "locale", "expected"),
    [
        ("too_small", {"min": 1_000_000}, "fi", "Anna vähintään 1\u00a0000\u00a0000."),
        ("too_small", {"min": 1_000_000}, "sv-SE", "Ange minst 1\u00a0000\u00a0000."),
        ("too_small", {"min": 1_000_000}, "en", "Enter 1,000,000 or more."),
        ("too_large", {"max": 2.5}, "fi", "Anna enintään 2,5."),
        ("date_too_early", {"min": dt.date(2026, 12, 1)}, "fi", "Valitse aikaisintaan 1.12.2026."),
        (
            "date_too_early",
            {"min": dt.date(2026, 12, 1)},
            "fi-FI",
            "Valitse aikaisintaan 1.12.2026.",
        ),
        ("date_too_late", {"max": dt.date(2026, 12, 1)}, "sv", "Välj senast 1 dec. 2026."),
        ("time_too_early", {"min": dt.time(8, 30)}, "fi", "Valitse aikaisintaan 8.30."),
        ("time_too_late", {"max": dt.time(16, 0)}, "sv", "Välj senast 16:00."),
        ("too_long", {"max": 2000}, "fi", "Kirjoita enintään 2\u00a0000 merkkiä."),
        (
            "file_too_large",
            {"max": 10_500_000},
            "fi",
            "Tiedosto on liian suuri. Enimmäiskoko on 10,5 Mt.",
        ),
        ("invalid_plate", {}, "fi", "Anna rekisteritunnus, esimerkiksi ABC-123."),
        (
            "invalid_iban",
            {},
            "sv",
            "Ange ett giltigt IBAN-kontonummer, till exempel FI21 1234 5600 0007 85.",
        ),
    ],
)
def test_message_formats_values_for_the_locale(
    fresh_catalogs: None, code: str, params: dict[str, Any], locale: str, expected: str
) -> None:
    assert validate.message_for(field(), FieldProblem(code, **params), locale) == expected


def test_unit_follows_a_bound(fresh_catalogs: None) -> None:
    km = SimpleNamespace(unit={"fi": "km", "sv": "km", "en": "km"}, region=None)
    text = validate.message_for(km, FieldProblem("too_large", max=500_000), "fi")
    assert text == "Anna enintään 500\u00a0000\u00a0km."


def _fuzzy_catalog() -> Catalog:
    """A catalog with a fuzzy and an untranslated message, both to be left out."""
    catalog = Catalog(locale="fi", domain=DOMAIN)
    catalog.add("Enter a number.", "Anna luku.")
    catalog.add("Enter text.", "Kirjoita vanhaa tekstiä.", flags=["fuzzy"])
    catalog.add("Answer yes or no.", "")
    return catalog


def test_mo_and_po_give_the_same_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_catalogs: None
) -> None:
    sources = {language: po_path(language) for language in CATALOG_LOCALES}
    for language, source in sources.items():
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        shutil.copy(source, folder / source.name)
    fuzzy = tmp_path / "fuzzy" / "LC_MESSAGES"
    fuzzy.mkdir(parents=True)
    with (fuzzy / f"{DOMAIN}.po").open("wb") as handle:
        write_po(handle, _fuzzy_catalog())
    languages = [*CATALOG_LOCALES, "fuzzy"]
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)

    from_po = {language: i18n._catalog(language) for language in languages}

    # Compile as the build hook does, then drop the .po so only the .mo is read.
    for po in sorted(tmp_path.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = load(po, po.parent.parent.name)
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        po.unlink()
    i18n._catalog.cache_clear()
    from_mo = {language: i18n._catalog(language) for language in languages}

    assert from_mo == from_po
    assert from_po["fuzzy"] == {"Enter a number.": "Anna luku."}
    assert from_po["en"] == {}
    for language in TRANSLATED:
        assert set(validate.MESSAGES.values()) <= set(from_po[language])


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        ("sv", None, "sv"),
        ("fi-FI", None, "fi"),  # a host page's <html lang="fi-FI">
        ("sv_SE", "fi", "sv"),
        ("de", "sv-SE,sv;q=0.9", "sv"),  # not offered: the browser's choice
        (None, "en-GB,en;q=0.8", "en"),
        (None, "de", "fi"),  # nothing matches: the form's first language
    ],
)
def test_negotiate(requested: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(["fi", "sv", "en"], requested, accept) == expected
