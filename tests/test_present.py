"""How answers are shown to people: one fallback rule for a form's texts,
values in the reader's language, rows in the form's order, tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import make_form

from intakeforms import Form
from intakeforms.present import (
    MASK,
    answer_rows,
    answered,
    attachment_names,
    blank,
    confirmation_rows,
    escape,
    format_answer,
    html_table,
    intro,
    localized,
    plain,
    submitted,
    summary,
    text_rows,
    with_unit,
)
from intakeforms.present.values import grouped_phone, time_zone
from intakeforms.store.base import StoredFile, StoredSubmission

NBSP = "\u00a0"
MOMENT = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)

FIELDS = """
- {name: topic, type: choice, label: {fi: Aihe, en: Topic},
   choices: {car: {fi: Auto, en: Car}, bike: {fi: Pyörä, en: Bike}}}
- {name: extras, type: multichoice, required: false, label: {fi: Lisät, en: Extras},
   choices: {wash: {fi: Pesu, en: Wash}, wax: {fi: Vahaus, en: Wax}}}
- {name: km, type: integer, required: false, label: {fi: Lukema, en: Mileage}, unit: km}
- {name: ok, type: boolean, required: false, label: {fi: Sopiiko, en: Fine}}
- {name: day, type: date, required: false, label: {fi: Päivä, en: Day}}
- {name: note, type: textarea, required: false, label: {fi: Huomio, en: Note}}
- {name: code, type: text, required: false, sensitive: true, label: {fi: Koodi, en: Code}}
- {name: privacy, type: consent, label: {fi: Suostumus, en: Consent}}
- {name: photo, type: file, required: false, label: {fi: Kuva, en: Photo}, accept: [image/jpeg]}
"""


@pytest.fixture(scope="module")
def form() -> Form:
    return make_form(FIELDS, locales="[fi, en]", summary="'{topic} {km}'")


def stored(
    form: Form, data: dict[str, Any], files: tuple[StoredFile, ...] = ()
) -> StoredSubmission:
    return StoredSubmission(
        reference="TES-4F7K2Q",
        form=form.id,
        form_version=form.version,
        locale="fi",
        data=data,
        files=files,
        submitted_at=MOMENT,
        spam=False,
        client=None,
    )


# -- localized ------------------------------------------------------------------


def test_localized_takes_the_locale_then_its_language_then_the_default() -> None:
    text = {"en": "Car", "fi": "Auto", "sv": "Bil"}
    assert localized(text, "sv", "fi") == "Bil"
    assert localized(text, "sv-FI", "fi") == "Bil"
    assert localized(text, "sv_FI", "fi") == "Bil"
    assert localized(text, "de", "fi") == "Auto"
    assert localized(text, None, "fi") == "Auto"


def test_localized_falls_back_to_every_language_then_the_first() -> None:
    assert localized({"*": "Car"}, "fi", "sv") == "Car"
    assert localized({"en": "Car", "fi": "Auto"}, "de") == "Car"
    assert localized({"en": "Car", "fi": "Auto"}, None, None) == "Car"


def test_a_form_and_its_spec_use_the_same_rule(form: Form) -> None:
    label = form.fields["topic"].label
    assert form.text(label, "en") == localized(label, "en", "fi") == "Topic"
    assert form.text(label, "de") == "Aihe"
    assert form.text(label, "en-GB") == "Topic"
    assert form.spec("en")["fields"][0]["label"] == "Topic"


# -- values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "locale", "shown"),
    [
        ("topic", "car", "fi", "Auto"),
        ("topic", "car", "en", "Car"),
        ("topic", "gone", "en", "gone"),
        ("extras", ["wax", "wash"], "en", "Wax, Wash"),
        ("extras", ["wax", 3], "en", "Wax, 3"),
        ("km", 184000, "fi", f"184{NBSP}000{NBSP}km"),
        ("km", 184000, "en", f"184,000{NBSP}km"),
        ("km", True, "en", "true"),
        ("ok", True, "fi", "Kyllä"),
        ("ok", False, "en", "No"),
        ("privacy", True, "en", "Given"),
        ("privacy", False, "fi", "Ei annettu"),
        ("day", "2026-12-01", "fi", "1.12.2026"),
        ("day", "2026-12-01", "en", "Dec 1, 2026"),
        ("day", "someday", "en", "someday"),
        ("note", {"a": 1}, "en", '{"a": 1}'),
    ],
)
def test_format_answer(form: Form, name: str, value: Any, locale: str, shown: str) -> None:
    assert format_answer(form, form.fields[name], value, locale) == shown


def test_plain_and_blank() -> None:
    assert plain(None) == ""
    assert plain(["a", 2, None]) == "a, 2, "
    assert plain(False) == "false"
    values: list[Any] = [None, [], " \n", "x", 0, False]
    assert [blank(v) for v in values] == [True, True, True, False, False, False]


def test_with_unit_keeps_the_number_and_unit_together() -> None:
    assert with_unit("5", "km") == f"5{NBSP}km"
    assert with_unit("5", None) == "5"


def test_submitted_is_written_in_utc() -> None:
    helsinki = dt.timezone(dt.timedelta(hours=2))
    assert submitted(MOMENT.astimezone(helsinki), "en") == "Mar 2, 2026 9:15\u202fAM UTC"
    assert submitted(MOMENT.replace(tzinfo=None), "fi") == "2.3.2026 9.15 UTC"


def test_submitted_in_the_readers_time_zone_names_it() -> None:
    assert submitted(MOMENT, "fi", "Europe/Helsinki") == "2.3.2026 11.15 Europe/Helsinki (UTC+2)"
    summer = MOMENT.replace(month=7)
    assert submitted(summer, "fi", "Europe/Helsinki").endswith(" 12.15 Europe/Helsinki (UTC+3)")
    assert submitted(MOMENT, "en", "Asia/Kolkata") == (
        "Mar 2, 2026 2:45\u202fPM Asia/Kolkata (UTC+5:30)"
    )
    assert submitted(MOMENT, "en", "America/St_Johns").endswith("(UTC-3:30)")
    assert submitted(MOMENT, "sv", "UTC") == submitted(MOMENT, "sv")
    assert intro("R-1", "T", MOMENT, "sv", "Europe/Stockholm") == (
        "R-1 · T · skickat 2 mars 2026 10:15 Europe/Stockholm (UTC+1)"
    )


@pytest.mark.parametrize("name", ["Europe/Helsingfors", "", " UTC", "/etc/localtime", "../x"])
def test_a_time_zone_that_is_not_one(name: str) -> None:
    with pytest.raises(ValueError, match="is not a time zone; write an IANA name like"):
        time_zone(name)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+358401234567", "+358 40 123 4567"),
        ("+35891234567", "+358 9 123 4567"),
        ("+3589123456", "+358 9 123 456"),
        ("+46701234567", "+46 70 123 45 67"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+3584012345678", "+358 40 1234 5678"),
        ("040 123", "040 123"),  # not E.164 (an old row): as it is
        ("not a number", "not a number"),
    ],
)
def test_phone_numbers_are_grouped_for_reading(stored: str, shown: str) -> None:
    assert grouped_phone(stored) == shown
    form = make_form("- {name: phone, type: phone, label: Phone}")
    assert format_answer(form, form.fields["phone"], stored, "fi") == shown


# -- rows -----------------------------------------------------------------------


def test_answer_rows_in_form_order_blank_left_out_unknown_last(form: Form) -> None:
    data = {
        "unknown": "kept",
        "privacy": True,
        "note": "line one\r\nline\x00two\n",
        "topic": "bike",
        "extras": [],
        "km": 12,
    }
    assert answer_rows(form, stored(form, data), "en") == [
        ("Topic", "Bike"),
        ("Mileage", f"12{NBSP}km"),
        ("Note", "line one\nline two"),
        ("Consent given", "Consent"),
        ("unknown", "kept"),
    ]
    assert [name for name, _, _ in answered(form, data)] == ["topic", "km", "note", "privacy"]


def test_answer_rows_list_files_by_their_attached_names(form: Form) -> None:
    photos = (
        StoredFile("photo", "me\nat home.jpg", "image/jpeg", 2_500_000, "a"),
        StoredFile("photo", "two.jpg", "image/jpeg", 900, "b"),
    )
    sub = stored(form, {"privacy": True, "photo": [{"name": "x"}, {"name": "y"}]}, photos)
    assert attachment_names(sub) == ["TES-4F7K2Q-photo-1.jpg", "TES-4F7K2Q-photo-2.jpg"]
    rows = dict(answer_rows(form, sub, "en", unattached=[photos[1]]))
    assert rows["Photo"] == (
        "TES-4F7K2Q-photo-1.jpg (2.5 MB), named by the customer “me at home.jpg”\n"
        "TES-4F7K2Q-photo-2.jpg (900 byte), named by the customer “two.jpg” "
        "– file missing, not attached"
    )
    # Known only from the answers: the stored file is gone.
    gone = stored(form, {"privacy": True, "photo": [{"name": "x.jpg", "size": 10}]})
    assert dict(answer_rows(form, gone, "en"))["Photo"] == (
        "named by the customer “x.jpg” (10 byte) – file missing, not attached"
    )


def test_confirmation_rows_repeat_only_the_forms_own_words(form: Form) -> None:
    data = {"topic": "car", "km": 5, "code": "secret", "privacy": True, "day": "2026-01-02"}
    rows, typed = confirmation_rows(form, stored(form, data), "en")
    assert rows == [("Topic", "Car"), ("Day", "Jan 2, 2026"), ("Consent given", "Consent")]
    assert typed
    choice = make_form(
        "- {name: t, type: choice, sensitive: true, label: T, choices: {a: A}}",
    )
    assert confirmation_rows(choice, stored(choice, {"t": "a"}), "en") == ([("T", MASK)], False)


def test_summary_and_intro(form: Form) -> None:
    assert summary(form, {"topic": "car", "km": 7}, "en") == f"Car 7{NBSP}km"
    assert summary(form, {"topic": "car"}, "fi") == "Auto "
    titled = make_form("- {name: a, type: text, label: A}", title="Call me back")
    assert summary(titled, {"a": "x"}, "en") == "Call me back"
    assert intro("R-1", "Title", MOMENT, "fi") == "R-1 · Title · lähetetty 2.3.2026 9.15 UTC"


# -- tables ---------------------------------------------------------------------


def test_text_rows_indent_later_lines() -> None:
    assert text_rows([("A", "one\n\ntwo"), ("B", "x")]) == ["A: one", "", "    two", "B: x"]


def test_html_table_escapes_every_text() -> None:
    assert escape('<b a="1">\n') == "&lt;b a=&quot;1&quot;&gt;<br>\n"
    assert html_table([("<L>", "v&")], styled=False) == [
        "<table>",
        '<tr><th scope="row">&lt;L&gt;</th><td>v&amp;</td></tr>',
        "</table>",
    ]
    assert 'style="' in html_table([("a", "b")])[1]
