"""Vehicle registration plates: examples, pattern/normaliser agreement, engines."""

from __future__ import annotations

import re

import pytest
import re2
from hypothesis import given
from hypothesis import strategies as st
from pattern_checks import assert_same_in_ecmascript, attempt, full, needs_node

from intakeforms.fields import FieldProblem
from intakeforms.fields.plate import PLATE_REGIONS, normalise_plate, plate_pattern

ACCEPTED = [
    ("FI", "ABC-123", "ABC-123"),
    ("FI", "abc123", "ABC-123"),
    ("FI", "ABC 123", "ABC-123"),
    ("FI", "abc-123", "ABC-123"),
    ("FI", "Xyz-7", "XYZ-7"),
    ("FI", "AB-12", "AB-12"),
    ("FI", "ÅLA-123", "ÅLA-123"),
    ("FI", "åla123", "ÅLA-123"),
    ("FI", "ÄÖK 45", "ÄÖK-45"),
    ("SE", "ABC 123", "ABC 123"),
    ("SE", "abc123", "ABC 123"),
    ("SE", "ABC 12A", "ABC 12A"),
    ("SE", "mlb84a", "MLB 84A"),
    ("SE", "WER-840", "WER 840"),
    ("NO", "AB 12345", "AB 12345"),
    ("NO", "ab12345", "AB 12345"),
    ("NO", "EL-12345", "EL 12345"),
    ("NO", "DA 1234", "DA 1234"),
    ("DK", "AB 12 345", "AB 12 345"),
    ("DK", "ab12345", "AB 12 345"),
    ("DK", "AB 12345", "AB 12 345"),
    ("DK", "AB-12 345", "AB 12 345"),
    ("EE", "123 ABC", "123 ABC"),
    ("EE", "123abc", "123 ABC"),
    ("EE", "123-ABC", "123 ABC"),
]

REJECTED = [
    ("FI", ""),
    ("FI", "A-123"),  # one letter: export and vanity plates only
    ("FI", "ABCD-123"),
    ("FI", "ABC-1234"),
    ("FI", "ABC-"),
    ("FI", "ABC--123"),
    ("FI", "ABC  123"),
    ("FI", "123-ABC"),
    ("FI", "ABÜ-123"),
    ("FI", "A\u030aLA-123"),  # decomposed Å (NFD) is not normalised silently
    ("SE", "ABC 1234"),
    ("SE", "AB 123"),
    ("SE", "IBC 123"),  # I is never issued
    ("SE", "QWE 123"),  # Q is never issued
    ("SE", "VOL 123"),  # V is never issued
    ("SE", "ÅÄÖ 123"),
    ("SE", "ABC 12O"),  # O would read as 0 in the last position
    ("SE", "ABC 1A2"),
    ("NO", "AB 123"),
    ("NO", "AB 123456"),
    ("NO", "ABC 12345"),
    ("NO", "ÆØ 12345"),
    ("DK", "AB 1234"),
    ("DK", "AB 12-345"),
    ("EE", "12 ABC"),
    ("EE", "ABC 123"),
    ("EE", "123 ÕÄÖ"),
]

_ALPHABET = "ABCIOQVXYZabciqvz019ÅÄÖåäöÆØÜ -_."


@pytest.mark.parametrize(("region", "value", "expected"), ACCEPTED)
def test_accepted_examples(region: str, value: str, expected: str) -> None:
    assert normalise_plate(value, region) == expected
    assert full(plate_pattern(region), value) == (True, True)


@pytest.mark.parametrize(("region", "value"), REJECTED)
def test_rejected_examples(region: str, value: str) -> None:
    with pytest.raises(FieldProblem) as info:
        normalise_plate(value, region)
    assert info.value.code == "invalid_plate"
    assert full(plate_pattern(region), value) == (False, False)


def test_regions() -> None:
    assert {"FI", "SE", "NO"} <= set(PLATE_REGIONS)


@pytest.mark.parametrize("region", ["XX", "fi", ""])
def test_unknown_region(region: str) -> None:
    with pytest.raises(KeyError):
        plate_pattern(region)
    with pytest.raises(KeyError):
        normalise_plate("ABC-123", region)


@pytest.mark.parametrize("region", PLATE_REGIONS)
def test_pattern_compiles_in_re_and_re2(region: str) -> None:
    pattern = plate_pattern(region)
    re.compile(pattern)
    re2.compile(pattern)
    # The way the caller uses it.
    re.compile(f"^(?:{pattern})$")
    re2.compile(f"^(?:{pattern})$")


@given(st.sampled_from(PLATE_REGIONS), st.text(alphabet=_ALPHABET, max_size=10))
def test_accepted_inputs_match_pattern(region: str, value: str) -> None:
    pattern = plate_pattern(region)
    matches = full(pattern, value)
    assert matches[0] == matches[1]
    outcome = attempt(normalise_plate, value, region)
    if isinstance(outcome, FieldProblem):
        assert outcome.code == "invalid_plate"
        assert matches == (False, False)
    else:
        assert matches == (True, True)


@given(st.data())
def test_pattern_matches_are_accepted_and_idempotent(data: st.DataObject) -> None:
    region = data.draw(st.sampled_from(PLATE_REGIONS))
    pattern = plate_pattern(region)
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    # For plates the pattern is the whole rule: no checksum to fail.
    normalised = normalise_plate(value, region)
    assert full(pattern, normalised) == (True, True)
    assert normalise_plate(normalised, region) == normalised
    assert normalise_plate(value.lower(), region) == normalised


@pytest.mark.parametrize(("region", "value", "expected"), ACCEPTED)
def test_normalised_form_is_a_fixed_point(region: str, value: str, expected: str) -> None:
    assert normalise_plate(expected, region) == expected


@needs_node
def test_patterns_behave_the_same_in_ecmascript() -> None:
    samples = [value for _, value, _ in ACCEPTED] + [value for _, value in REJECTED]
    cases = {region: (plate_pattern(region), samples) for region in PLATE_REGIONS}
    assert_same_in_ecmascript(cases)
