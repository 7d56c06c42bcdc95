"""The example forms in examples/ load, and their sample answers validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from intakeforms import load_form
from intakeforms.cli import main
from intakeforms.language.models import (
    ANY_LOCALE,
    ChoiceField,
    MultichoiceField,
    PageItem,
    SectionItem,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FOLDERS = sorted(path for path in EXAMPLES.iterdir() if path.is_dir())
MODELINE = "# yaml-language-server: $schema=../../docs/form-language.schema.json"


def _form_file(folder: Path) -> Path:
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    assert len(files) == 1, f"{folder.name}: expected one form file, found {files}"
    return files[0]


def _answers(folder: Path) -> Any:
    return json.loads((folder / "answers.json").read_text(encoding="utf-8"))


def test_the_topics_are_there() -> None:
    names = {folder.name for folder in FOLDERS}
    assert {"car-service", "billing-question", "address-change", "product-return"} <= names


def test_the_examples_show_sections_steps_own_messages_and_thanks() -> None:
    """A site owner copying an example finds each part of the language in use."""
    forms = [load_form(_form_file(folder)) for folder in FOLDERS]
    items = [item for form in forms for item in form.definition.fields]
    assert any(isinstance(item, SectionItem) and item.text for item in items)
    assert any(isinstance(item, PageItem) for item in items)
    assert any(question.messages for form in forms for question in form.fields.values())
    assert any(f.definition.thanks and f.definition.thanks.text for f in forms)
    steps = next(f for f in forms if any(isinstance(i, PageItem) for i in f.definition.fields))
    spec = steps.spec("fi")
    assert [f["name"] for f in spec["fields"] if f["type"] == "page"] == ["page-1", "page-2"]
    assert spec["thanks"]["text"].startswith("Kiitos!")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_form_loads(folder: Path) -> None:
    path = _form_file(folder)
    form = load_form(path)
    assert form.id == folder.name == path.stem
    assert form.locales == ["fi", "sv", "en"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_form_starts_with_the_modeline(folder: Path) -> None:
    first = _form_file(folder).read_text(encoding="utf-8").splitlines()[0]
    assert first == MODELINE


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_answers_validate_and_fit_the_schema(folder: Path) -> None:
    form = load_form(_form_file(folder))
    answers = _answers(folder)
    result = form.validate(answers, locale="en")
    assert set(result) == set(answers), "every sample answer is a question that is asked"
    validator = Draft202012Validator(
        form.json_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = [error.message for error in validator.iter_errors(dict(result))]
    assert not errors


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_question_is_in_finnish_and_swedish(folder: Path) -> None:
    form = load_form(_form_file(folder))
    for name, field in form.fields.items():
        texts = {"label": field.label}
        if isinstance(field, ChoiceField | MultichoiceField):
            texts.update({f"choice {key}": text for key, text in field.choices.items()})
        for what, text in texts.items():
            assert ANY_LOCALE not in text, f"{name}: the {what} is one string for every language"
            for locale in ("fi", "sv"):
                assert text.get(locale, "").strip(), f"{name}: no {locale} {what}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_editor_schema_accepts_the_form(folder: Path) -> None:
    """What an editor sees: the file read as ordinary YAML, against the language schema."""
    schema = json.loads((ROOT / "docs" / "form-language.schema.json").read_text(encoding="utf-8"))
    document = yaml.safe_load(_form_file(folder).read_text(encoding="utf-8"))
    errors = [error.message for error in Draft202012Validator(schema).iter_errors(document)]
    assert not errors


def test_check_command_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "examples"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"{len(FOLDERS)} form(s) OK" in out
