"""Reading YAML safely, with locations."""

from __future__ import annotations

import time

import pytest

from intakeforms.language.source import (
    MAX_FILE_BYTES,
    Location,
    SourceError,
    format_path,
    read_document,
)


def test_scalars_stay_as_written() -> None:
    doc = read_document("a: NO\nb: 0123\nc: 12:30\nd: 1e3\ne: yes\nf: ~\ng:\nh: 'null'\n", "f.yaml")
    assert doc.values == {
        "a": "NO",
        "b": "0123",
        "c": "12:30",
        "d": "1e3",
        "e": "yes",
        "f": None,
        "g": None,
        "h": "null",
    }


def test_locations_of_values_and_keys() -> None:
    doc = read_document("a:\n  - x\n  - {y: z}\n", "f.yaml")
    assert doc.locate(("a", 1, "y")) == Location(3, 9)
    assert doc.locate(("a", 1, "y"), key=True) == Location(3, 6)
    # A path that was never written points at its nearest written parent.
    assert doc.locate(("a", 1, "missing")) == Location(3, 5)


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(SourceError) as caught:
        read_document("form: a\ntitle: T\nform: b\n", "f.yaml")
    problem = caught.value.problem
    assert (problem.line, problem.column, problem.code) == (3, 1, "duplicate_key")
    assert "line 1" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !!binary aGk=\n",
        "a: !custom x\n",
        "!!python/name:os.system\n",
    ],
)
def test_tags_are_refused(text: str) -> None:
    with pytest.raises(SourceError) as caught:
        read_document(text, "f.yaml")
    assert caught.value.problem.code == "yaml_tag"


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        read_document("\n".join(lines) + "\n", "bomb.yaml")
    assert caught.value.problem.code == "yaml_too_complex"
    assert time.perf_counter() - started < 1.0


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(SourceError) as caught:
        read_document("a: &a [*a]\n", "f.yaml")
    assert caught.value.problem.code in ("yaml_too_complex", "yaml_syntax")


def test_merge_keys_are_refused() -> None:
    with pytest.raises(SourceError) as caught:
        read_document("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")
    assert (caught.value.problem.line, caught.value.problem.code) == (3, "yaml_merge")


def test_syntax_error_has_location() -> None:
    with pytest.raises(SourceError) as caught:
        read_document("form: a\nfields: [1, 2\n", "f.yaml")
    problem = caught.value.problem
    assert problem.code == "yaml_syntax"
    assert problem.file == "f.yaml" and problem.line >= 2
    assert str(problem).startswith(f"f.yaml:{problem.line}:{problem.column}: YAML syntax error")


def test_size_cap() -> None:
    with pytest.raises(SourceError) as caught:
        read_document("a: " + "x" * MAX_FILE_BYTES + "\n", "big.yaml")
    assert caught.value.problem.code == "file_too_large"


def test_non_scalar_key_is_refused() -> None:
    with pytest.raises(SourceError) as caught:
        read_document("? [a, b]\n: c\n", "f.yaml")
    assert caught.value.problem.code == "yaml_key"


def test_empty_document() -> None:
    assert read_document("", "f.yaml").values is None


def test_format_path() -> None:
    assert format_path(("fields", 2, "type")) == "fields[2].type"
    assert format_path(()) == ""


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("form: x\nfields:\n\t- name: a\n", (3, 1)),
        ("form: x\nfields:\n  - name: a\n  \ttype: text\n", (4, 3)),
        ("form: x\nfields:\n  - name: a\n\ttype: text\n", (4, 1)),
        ("a:\n  - x\n  -\ty\n", (3, 4)),
    ],
)
def test_a_tab_in_the_indentation_is_named(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(SourceError) as caught:
        read_document(text, "f.yaml")
    problem = caught.value.problem
    assert (problem.line, problem.column, problem.code) == (*where, "yaml_syntax")
    assert "a tab in the indentation" in problem.message
    assert "replace the tab with spaces" in problem.message


def test_a_tab_inside_a_value_is_text() -> None:
    assert read_document("title: A\tB\n", "f.yaml").values == {"title": "A\tB"}
