"""Site owners' patterns: linear-time, and read alike by every engine."""

from __future__ import annotations

import pytest

from intakeforms.fields.patterns import PatternError, compile_site_pattern


def test_a_portable_pattern_compiles_to_a_whole_value_matcher() -> None:
    compiled = compile_site_pattern("[A-Z]{2}-[0-9]+")
    assert compiled.fullmatch("AB-12")
    assert not compiled.fullmatch("xAB-12")


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)a", "(?!b)a", "(?<=a)b"])
def test_backtracking_only_features_are_unsafe(pattern: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_site_pattern(pattern)
    assert caught.value.code == "unsafe_pattern"
    assert "linear-time" in str(caught.value)


@pytest.mark.parametrize(
    "pattern", ["[a-", "a{2,1}", "(?i)abc", "(?P<x>a)", r"\Aabc", "[[:alpha:]]", r"\p{L}"]
)
def test_patterns_read_differently_somewhere_are_invalid(pattern: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_site_pattern(pattern)
    assert caught.value.code == "invalid_pattern"
