"""FAQ files: they load like forms, and each mistake has its place and code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from intakeforms.cli import main
from intakeforms.errors import FormError, Problem
from intakeforms.faq.load import Faq, faq_schema, load_faq, load_faq_text, load_faqs
from intakeforms.load import load_forms

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "workshop-faq.yaml"
SCHEMA_FILE = ROOT / "docs" / "faq.schema.json"

GOOD = """\
faq: workshop
locales: [fi, en]
entries:
  - id: winter-tyres
    question: {fi: Milloin talvirenkaat vaihdetaan?, en: When do winter tyres go on?}
    answer: {fi: "Joulukuun alusta.", en: "From the start of December."}
    forms: [car-service]
    keywords: {fi: [nastarenkaat, kitkarenkaat]}
  - id: opening-hours
    question: {fi: Milloin olette auki?, en: When are you open?}
    answer: {fi: "Arkisin 7.30–17.", en: "Weekdays 7.30–17.00."}
"""

FORM = "form: car-service\ntitle: Car service\nfields: [{name: a, type: text, label: A}]\n"


def _problems(text: str, forms: list[str] | None = None) -> list[Problem]:
    with pytest.raises(FormError) as caught:
        load_faq_text(text, "faq.yaml", forms=forms)
    return caught.value.problems


def _one(text: str, forms: list[str] | None = None) -> Problem:
    problems = _problems(text, forms)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_valid_faq_loads() -> None:
    faq = load_faq_text(GOOD, forms=["car-service"])
    assert isinstance(faq, Faq)
    assert faq.id == "workshop"
    assert faq.locales == ["fi", "en"]
    assert [entry.id for entry in faq.entries] == ["winter-tyres", "opening-hours"]
    entry = faq.entry("winter-tyres")
    assert entry is not None and entry.forms == ["car-service"]
    assert entry.keywords == {"fi": ["nastarenkaat", "kitkarenkaat"]}
    assert faq.text(entry.question, "sv") == "Milloin talvirenkaat vaihdetaan?"
    assert faq.entry("nothing") is None


def test_without_the_forms_the_forms_key_is_not_checked() -> None:
    assert load_faq_text(GOOD.replace("[car-service]", "[car-servce]")).id == "workshop"


def test_unknown_key_with_did_you_mean() -> None:
    problem = _one(GOOD.replace('    answer: {fi: "Arkisin', '    answr: {fi: "Arkisin'))
    assert (problem.file, problem.line, problem.column) == ("faq.yaml", 11, 5)
    assert problem.code == "unknown_key"
    assert "unknown key 'answr' (did you mean 'answer'?)" in problem.message


def test_unknown_top_level_key() -> None:
    problem = _one(GOOD.replace("locales:", "locale:"))
    assert (problem.line, problem.column, problem.code) == (2, 1, "unknown_key")
    assert "did you mean 'locales'?" in problem.message


def test_duplicate_entry_id() -> None:
    problem = _one(GOOD.replace("id: opening-hours", "id: winter-tyres"))
    assert (problem.line, problem.column, problem.code) == (9, 9, "duplicate_entry")
    assert "entries[1].id" in problem.message and "entries[0]" in problem.message


def test_entry_id_is_a_slug() -> None:
    problem = _one(GOOD.replace("id: opening-hours", "id: Opening_Hours"))
    assert (problem.line, problem.column, problem.code) == (9, 9, "invalid_slug")


def test_missing_locale_text() -> None:
    problem = _one(GOOD.replace(', en: "Weekdays 7.30–17.00."', ""))
    assert (problem.line, problem.column, problem.code) == (11, 13, "missing_translation")
    assert "entries[1].answer: no text for locale 'en'" in problem.message


def test_empty_text() -> None:
    problem = _one(GOOD.replace('en: "Weekdays 7.30–17.00."', 'en: " "'))
    assert (problem.line, problem.code) == (11, "empty_text")


def test_unknown_locale() -> None:
    problem = _one(GOOD.replace("locales: [fi, en]", "locales: [fi, en, xx]"))
    assert (problem.line, problem.column, problem.code) == (2, 19, "unknown_locale")


def test_keywords_in_a_locale_the_faq_does_not_have() -> None:
    problem = _one(GOOD.replace("keywords: {fi:", "keywords: {sv:"))
    assert (problem.line, problem.code) == (8, "unknown_locale")


def test_unknown_form_with_did_you_mean() -> None:
    problem = _one(GOOD.replace("[car-service]", "[car-servce]"), forms=["car-service"])
    assert (problem.line, problem.column, problem.code) == (7, 13, "unknown_form")
    assert "no form 'car-servce' (did you mean 'car-service'?)" in problem.message


def test_not_a_map() -> None:
    problem = _one("- just a list\n")
    assert (problem.line, problem.column, problem.code) == (1, 1, "not_a_faq")


def test_every_mistake_is_listed() -> None:
    text = GOOD.replace("id: opening-hours", "id: winter-tyres").replace(
        ', en: "Weekdays 7.30–17.00."', ""
    )
    assert [p.code for p in _problems(text)] == ["duplicate_entry", "missing_translation"]


def test_a_folder_of_forms_and_faq_files(tmp_path: Path) -> None:
    (tmp_path / "car-service.yaml").write_text(FORM, encoding="utf-8")
    (tmp_path / "workshop.yaml").write_text(GOOD, encoding="utf-8")
    forms = load_forms([tmp_path])
    assert [form.id for form in forms] == ["car-service"]
    faqs = load_faqs([tmp_path], forms=forms)
    assert [(faq.id, faq.path) for faq in faqs] == [("workshop", tmp_path / "workshop.yaml")]


def test_a_folder_with_an_faq_naming_a_missing_form(tmp_path: Path) -> None:
    (tmp_path / "car-service.yaml").write_text(FORM, encoding="utf-8")
    (tmp_path / "workshop.yaml").write_text(
        GOOD.replace("[car-service]", "[car-servce]"), encoding="utf-8"
    )
    assert len(load_forms([tmp_path])) == 1
    with pytest.raises(FormError) as caught:
        load_faqs([tmp_path], forms=load_forms([tmp_path]))
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.code) == (
        str(tmp_path / "workshop.yaml"),
        7,
        "unknown_form",
    )


def test_two_faq_files_with_one_id(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(FormError) as caught:
        load_faqs([tmp_path])
    assert [p.code for p in caught.value.problems] == ["duplicate_faq"]


def test_a_file_with_both_keys_is_a_form_with_a_stray_key(tmp_path: Path) -> None:
    (tmp_path / "both.yaml").write_text("faq: x\n" + FORM, encoding="utf-8")
    with pytest.raises(FormError) as caught:
        load_forms([tmp_path])
    assert [p.code for p in caught.value.problems] == ["unknown_key"]
    assert load_faqs([tmp_path]) == []


def test_check_prints_faq_problems_with_their_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "car-service.yaml").write_text(FORM, encoding="utf-8")
    bad = tmp_path / "workshop.yaml"
    bad.write_text(GOOD.replace("[car-service]", "[car-servce]"), encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{bad}:7:13: entries[0].forms[0]: there is no form")
    assert "1 problem(s) in 1 of 2 file(s)" in captured.err


def test_check_counts_forms_and_faq_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "car-service.yaml").write_text(FORM, encoding="utf-8")
    (tmp_path / "workshop.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 0
    assert "1 form(s) OK, 1 FAQ file(s)" in capsys.readouterr().out


def test_the_example_faq() -> None:
    faq = load_faq(EXAMPLE, forms=load_forms([ROOT / "examples"]))
    assert faq.path == EXAMPLE
    assert faq.locales == ["fi", "sv", "en"]
    assert len(faq.entries) >= 15
    for entry in faq.entries:
        for text in (entry.question, entry.answer):
            for locale in ("fi", "sv", "en"):
                assert text.get(locale, "").strip(), f"{entry.id}: no {locale} text"


def test_the_example_faq_starts_with_the_modeline() -> None:
    first = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../docs/faq.schema.json"


def test_the_faq_schema_file_is_current() -> None:
    expected = json.dumps(faq_schema(), indent=2, ensure_ascii=False) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "docs/faq.schema.json is out of date; regenerate it with\n"
        "    intakeforms schema --faq > docs/faq.schema.json"
    )


def test_editor_schema_accepts_the_example_faq() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    errors = [e.message for e in Draft202012Validator(faq_schema()).iter_errors(document)]
    assert not errors


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--faq"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "entries" in schema["properties"]
