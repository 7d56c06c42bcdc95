"""Every example in docs/*.md runs, and the docs cover the whole language.

Fenced blocks are read in order; an HTML comment on the line before a fence
says what the block is for:

- ```yaml starting with ``form:`` must load; starting with ``- name:`` it is a
  list of questions, wrapped into a minimal form, and must load.
- ``<!-- error: CODE -->`` before a ```yaml block: loading must fail with CODE.
  A ```text block after it marked ``<!-- output -->`` is exactly what
  ``intakeforms check`` prints for it (the file name is taken from the output).
- ``<!-- not-a-form -->`` before a ```yaml block: any YAML file (CI settings);
  it must parse.
- ``<!-- answers -->`` before a ```json block: answers to the form of the
  nearest ```yaml block above; they must validate, unless the next ```json
  block is marked ``<!-- errors -->`` and lists the errors they give. A ```json
  block marked ``<!-- normalised -->`` is what validating them returns.
- Any other ```json block must parse.
- ```python blocks run and ```pycon blocks run as doctests, each file's blocks
  in one namespace, in the repository's root folder.
"""

from __future__ import annotations

import ast
import doctest
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from intakeforms import FormError, InvalidAnswers, language_schema, load_form_text
from intakeforms.fields import identifiers, plate, postal
from intakeforms.fields.base import FieldModel
from intakeforms.form import Form
from intakeforms.language.models import (
    FIELD_MODELS,
    FIELD_TYPES,
    Autorespond,
    FormDefinition,
    PageItem,
    SectionItem,
    Thanks,
    Theme,
)
from intakeforms.language.source import read_document
from intakeforms.language.target_kinds import target_kinds
from intakeforms.targets.checks import INLINE_SECRET_KEYS
from intakeforms.targets.email import EmailTarget
from intakeforms.targets.webhook import WebhookTarget
from intakeforms.validate import MESSAGES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOC_FILES = sorted(DOCS.glob("*.md"))
SCHEMA_FILE = DOCS / "form-language.schema.json"

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*(.*?)\s*-->$")

WRAPPER = "form: example\ntitle: Example\nlocales: [en]\nfields:\n"


@dataclass
class Block:
    """One fenced block of a Markdown file."""

    file: str
    line: int  # of the opening fence
    lang: str
    text: str
    marker: str  # the HTML comment just above the fence, without <!-- -->

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, in order."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        start = i
        indent = len(opening.group(1))
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:])
            i += 1
        assert i < len(lines), f"{path.name}:{start + 1}: the block is never closed"
        marker = ""
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above >= 0 and (found := _MARKER.match(lines[above].strip())):
            marker = found.group(1)
        blocks.append(Block(path.name, start + 1, opening.group(2), "\n".join(body) + "\n", marker))
        i += 1
    return blocks


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return ""


def form_source(block: Block) -> str:
    """The block as a whole form file: a list of questions gets wrapped."""
    if _first_line(block.text).startswith("- name:"):
        return WRAPPER + "".join(f"  {line}\n" for line in block.text.splitlines())
    return block.text


@dataclass
class Answers:
    """A marked answers block, the form block above it, and what it gives."""

    form: Block
    answers: Block
    expected: Block | None  # marked normalised or errors


@dataclass
class Cases:
    forms: list[Block]
    errors: list[tuple[Block, Block | None]]  # the yaml block, its output block
    others: list[Block]  # not-a-form yaml, plain json
    answers: list[Answers]
    python: dict[str, list[Block]]


def collect() -> Cases:
    cases = Cases([], [], [], [], {})
    for path in DOC_FILES:
        blocks = read_blocks(path)
        form: Block | None = None
        for i, block in enumerate(blocks):
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            if block.lang == "yaml":
                if block.marker.startswith("error:"):
                    output = following if following and following.marker == "output" else None
                    cases.errors.append((block, output))
                elif block.marker == "not-a-form":
                    cases.others.append(block)
                else:
                    cases.forms.append(block)
                    form = block
            elif block.lang == "json":
                if block.marker == "answers":
                    assert form is not None, f"{block.id}: answers with no form above them"
                    expected = None
                    if following and following.marker in ("normalised", "errors"):
                        expected = following
                    cases.answers.append(Answers(form, block, expected))
                elif block.marker not in ("normalised", "errors"):
                    cases.others.append(block)
            elif block.lang in ("python", "pycon"):
                cases.python.setdefault(path.name, []).append(block)
    return cases


CASES = collect()


def _load(block: Block) -> Form:
    return load_form_text(form_source(block), f"{block.file}:{block.line}")


# -- examples ------------------------------------------------------------------


def test_the_docs_have_examples() -> None:
    names = {path.name for path in DOC_FILES}
    assert {"language.md", "errors.md", "editors.md", "python-api.md"} <= names
    assert len(CASES.forms) > 20
    assert len(CASES.errors) > 20


@pytest.mark.parametrize("block", CASES.forms, ids=lambda b: b.id)
def test_yaml_example_loads(block: Block) -> None:
    first = _first_line(block.text)
    assert first.startswith(("form:", "- name:")), (
        f"{block.id}: a ```yaml block starts with form: or - name:, "
        "or is marked <!-- error: CODE --> or <!-- not-a-form -->"
    )
    try:
        _load(block)
    except FormError as exc:
        pytest.fail(f"{block.id}: the example does not load:\n{exc}")


@pytest.mark.parametrize(("block", "output"), CASES.errors, ids=[b.id for b, _ in CASES.errors])
def test_error_example_fails_with_its_code(block: Block, output: Block | None) -> None:
    code = block.marker.removeprefix("error:").strip()
    file = output.text.split(":", 1)[0] if output else "form.yaml"
    with pytest.raises(FormError) as caught:
        load_form_text(form_source(block), file)
    codes = [p.code for p in caught.value.problems]
    assert code in codes, f"{block.id}: expected {code}, got {codes}"
    if output is not None:
        printed = "\n".join(str(p) for p in caught.value.problems)
        assert printed == output.text.strip(), f"{output.id}: the output differs"


@pytest.mark.parametrize("block", CASES.others, ids=lambda b: b.id)
def test_other_block_parses(block: Block) -> None:
    if block.lang == "json":
        json.loads(block.text)
    else:
        assert yaml.safe_load(block.text) is not None


@pytest.mark.parametrize("case", CASES.answers, ids=lambda c: c.answers.id)
def test_answers_example(case: Answers) -> None:
    form = _load(case.form)
    answers = json.loads(case.answers.text)
    expected: Any = json.loads(case.expected.text) if case.expected else None
    if case.expected is not None and case.expected.marker == "errors":
        with pytest.raises(InvalidAnswers) as caught:
            form.validate(answers, locale="en")
        got = [error.as_dict() for error in caught.value.errors]
        assert got == expected, f"{case.expected.id}: the errors differ"
        return
    try:
        result = form.validate(answers, locale="en")
    except InvalidAnswers as exc:
        pytest.fail(f"{case.answers.id}: the answers do not validate: {exc}")
    if expected is not None:
        assert dict(result) == expected, f"{case.answers.id}: the normalised answers differ"


@pytest.mark.parametrize("name", sorted(CASES.python))
def test_python_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for block in CASES.python[name]:
        if block.lang == "python":
            exec(compile(block.text, block.id, "exec"), namespace)
            continue
        test = parser.get_doctest(block.text, namespace, block.id, name, block.line)
        report: list[str] = []
        result = runner.run(test, out=report.append, clear_globs=False)
        assert result.failed == 0, "".join(report)
        namespace.update(test.globs)  # a doctest works on a copy


# -- the language schema file -------------------------------------------------


def test_language_schema_file_is_current() -> None:
    expected = json.dumps(language_schema(), indent=2, ensure_ascii=False) + "\n"
    actual = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert actual == expected, (
        "docs/form-language.schema.json is out of date; regenerate it with\n"
        "    intakeforms schema --language > docs/form-language.schema.json"
    )


# -- coverage of the language --------------------------------------------------


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_language_documents_every_field_type() -> None:
    text = _doc("language.md")
    assert len(FIELD_TYPES) == 21
    missing = [t for t in FIELD_TYPES if f"### `{t}`\n" not in text]
    assert not missing, f"docs/language.md has no section for {missing}"


def test_language_documents_every_key() -> None:
    text = _doc("language.md")
    models: list[type[BaseModel]] = [FormDefinition, EmailTarget, WebhookTarget, Autorespond]
    models.extend([Thanks, Theme, SectionItem, PageItem])
    models.extend(FIELD_MODELS.values())
    missing = sorted(
        {key for model in models for key in model.model_fields if f"`{key}`" not in text}
    )
    assert not missing, f"docs/language.md does not mention {missing}"


def test_language_has_a_runnable_example_for_every_key() -> None:
    """Each key of the language is used in a ```yaml example of language.md
    that loads: the keys every question has in any question, a type's own
    keys in a question of that type, a target's keys in that target."""
    used: dict[str, set[str]] = {}

    def mark(where: str, keys: Any) -> None:
        used.setdefault(where, set()).update(keys if isinstance(keys, dict) else ())

    for block in CASES.forms:
        if block.file != "language.md":
            continue
        values = read_document(form_source(block), block.id).values
        _load(block)  # test_yaml_example_loads says why, when it does not
        mark("form", values)
        for key in ("autorespond", "thanks", "theme"):
            mark(key, values.get(key))
        for item in values.get("fields") or []:
            mark(str(item.get("type")), item)
            mark("question", item)
        for target in values.get("deliver") or []:
            for kind, settings in target.items():
                mark(kind, settings)
    common = set(FieldModel.model_fields)
    models: dict[str, type[BaseModel]] = {
        "form": FormDefinition,
        "autorespond": Autorespond,
        "thanks": Thanks,
        "theme": Theme,
        "question": FieldModel,
        "section": SectionItem,
        "page": PageItem,
        **FIELD_MODELS,
        **{name: kind.model for name, kind in target_kinds().items() if name != "autoreply"},
    }
    missing = []
    for where, model in models.items():
        keys = set(model.model_fields) - {"type"} - set(INLINE_SECRET_KEYS)
        if where in FIELD_MODELS:
            keys -= common
        missing += [f"{where}.{key}" for key in sorted(keys - used.get(where, set()))]
    assert not missing, f"docs/language.md has no loading example using {missing}"


@pytest.mark.parametrize(
    ("kind", "regions"),
    [
        ("plate", plate.PLATE_REGIONS),
        ("postal_code", postal.POSTAL_REGIONS),
        ("national_id", identifiers.NATIONAL_ID_REGIONS),
        ("business_id", identifiers.BUSINESS_ID_REGIONS),
    ],
)
def test_language_lists_the_regions(kind: str, regions: tuple[str, ...]) -> None:
    rows = [line for line in _doc("language.md").splitlines() if line.startswith(f"| `{kind}` |")]
    assert rows, f"docs/language.md has no regions row for {kind}"
    listed = re.findall(r"`([A-Z]{2})`", rows[0])
    assert sorted(listed) == sorted(regions)


def _author_codes() -> set[str]:
    """The codes of every author error, read from the source."""
    package = ROOT / "intakeforms"
    files = [*sorted((package / "language").glob("*.py")), package / "load.py"]
    positions = {"problem": 1, "_fail": 1, "ConditionError": 1, "Problem": 3}
    codes: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            index = positions.get(name)
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.add(arg.value)
    return codes


def test_errors_documents_every_author_code() -> None:
    text = _doc("errors.md")
    codes = _author_codes()
    assert {"unknown_field_type", "yaml_tag", "duplicate_form"} <= codes
    missing = sorted(code for code in codes if f"### `{code}`\n" not in text)
    assert not missing, f"docs/errors.md has no section for {missing}"


def test_errors_documents_every_data_code() -> None:
    rows = {
        found.group(1): line
        for line in _doc("errors.md").splitlines()
        if (found := re.match(r"^\| `([a-z_]+)` \|", line))
    }
    missing = sorted(code for code in MESSAGES if code not in rows)
    assert not missing, f"docs/errors.md has no row for {missing}"
    wrong = sorted(code for code, message in MESSAGES.items() if f"| {message} |" not in rows[code])
    assert not wrong, f"docs/errors.md shows other messages for {wrong}"


def _cell_values(cell: str, numbers: bool) -> list[Any]:
    """The `values` of a table cell: JSON where written as JSON, else text.

    Digits are text (a postal code, a business id) unless ``numbers``.
    """
    values: list[Any] = []
    for raw in re.findall(r"`([^`]+)`", cell):
        if raw[0] in '"[' or raw in ("true", "false") or numbers:
            values.append(json.loads(raw))
        else:
            values.append(raw)
    return values


def _normalised_rows() -> list[tuple[str, str | None, list[Any], Any]]:
    text = _doc("language.md")
    table = text.split("## Normalised answers", 1)[1].split("\n\n")[2]
    rows = []
    for line in table.splitlines()[2:]:
        kind, typed, answer = (cell.strip() for cell in line.strip("|").split("|"))
        names = re.findall(r"`([^`]+)`", kind)
        numbers = names[0] in ("integer", "number")
        rows.append(
            (names[0], names[1] if len(names) > 1 else None, _cell_values(typed, numbers), answer)
        )
    return rows


NORMALISED_ROWS = _normalised_rows()


@pytest.mark.parametrize(
    ("kind", "region", "typed", "answer"),
    NORMALISED_ROWS,
    ids=[f"{k}-{r}" if r else k for k, r, _, _ in NORMALISED_ROWS],
)
def test_normalised_answers_table(
    kind: str, region: str | None, typed: list[Any], answer: str
) -> None:
    expected = _cell_values(answer, kind in ("integer", "number"))[0]
    source = f"- name: answer\n  type: {kind}\n  label: Answer\n"
    if region:
        source += f"  region: {region}\n"
    if kind == "multichoice":
        source += "  choices: {product: Product, receipt: Receipt}\n"
    form = load_form_text(WRAPPER + "".join(f"  {line}\n" for line in source.splitlines()))
    for value in typed:
        assert form.validate({"answer": value})["answer"] == expected, value
