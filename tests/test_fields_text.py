"""One-line and multi-line text, email and web addresses."""

from __future__ import annotations

import pytest

from intakeforms.fields import FieldProblem
from intakeforms.fields.text import check_email, check_text, check_url, compile_pattern


def code(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(FieldProblem) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.code


def test_text_is_trimmed_and_limited() -> None:
    assert (
        check_text("  hi  ", multiline=False, min_length=None, max_length=5, pattern=None) == "hi"
    )
    assert (
        code(check_text, "toolong", multiline=False, min_length=None, max_length=5, pattern=None)
        == "too_long"
    )


@pytest.mark.parametrize(
    "bad", ["a\nb", "a\rb", "a\x00b", "a\x1bb", "a\u202eb", "a\u2066b", "a\x7fb"]
)
def test_one_line_refuses_controls_and_bidi(bad: str) -> None:
    assert code(check_text, bad, multiline=False, min_length=None, max_length=99, pattern=None) == (
        "control_characters"
    )


def test_lines_are_normalised() -> None:
    assert check_text(
        "a\r\nb\rc\td", multiline=True, min_length=None, max_length=99, pattern=None
    ) == ("a\nb\nc\td")


def test_pattern_is_whole_value_and_linear() -> None:
    pattern = compile_pattern("[0-9]{3}")
    assert (
        check_text("123", multiline=False, min_length=None, max_length=9, pattern=pattern) == "123"
    )
    assert code(
        check_text, "1234", multiline=False, min_length=None, max_length=9, pattern=pattern
    ) == ("pattern")
    with pytest.raises(ValueError, match="invalid"):
        compile_pattern(r"(a)\1")


def test_email() -> None:
    assert check_email(" Matti.Meikalainen@EXAMPLE.fi ") == "Matti.Meikalainen@example.fi"
    assert check_email("käyttäjä@esimerkki.fi") == "käyttäjä@esimerkki.fi"
    for bad in ("no-at", "a@b", "a@@b.fi", "a b@c.fi", "x" * 250 + "@a.fi", 5):
        assert code(check_email, bad) in ("invalid_email", "not_text")


def test_url() -> None:
    assert check_url("HTTP://Example.com/path", max_length=99) == "http://Example.com/path"
    for bad in (
        "example.com",
        "javascript:alert(1)",
        "https://[",
        "https://a\x00b",
        "mailto:a@b.fi",
    ):
        assert code(check_url, bad, max_length=99) == "invalid_url"
    assert code(check_url, "https://example.com/" + "x" * 100, max_length=50) == "too_long"
