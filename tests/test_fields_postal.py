"""Postal codes: examples, pattern/normaliser agreement, regex engines."""

from __future__ import annotations

import re

import pytest
import re2
from hypothesis import given
from hypothesis import strategies as st
from pattern_checks import assert_same_in_ecmascript, attempt, full, needs_node

from intakeforms.fields import FieldProblem
from intakeforms.fields.postal import POSTAL_REGIONS, normalise_postal_code, postal_code_pattern

ACCEPTED = [
    ("FI", "00100", "00100"),
    ("FI", "33100", "33100"),
    ("FI", "99999", "99999"),
    ("SE", "11455", "114 55"),
    ("SE", "114 55", "114 55"),
    ("SE", "984 99", "984 99"),
    ("NO", "0150", "0150"),
    ("NO", "9170", "9170"),
    ("DK", "1050", "1050"),
    ("DK", "8000", "8000"),
    ("DE", "10115", "10115"),
    ("DE", "01067", "01067"),
    ("EE", "10111", "10111"),
    ("US", "90210", "90210"),
    ("US", "20500-0003", "20500-0003"),
    ("US", "205000003", "20500-0003"),
    ("GB", "SW1A 1AA", "SW1A 1AA"),
    ("GB", "sw1a1aa", "SW1A 1AA"),
    ("GB", "EC1A 1BB", "EC1A 1BB"),
    ("GB", "W1A 0AX", "W1A 0AX"),
    ("GB", "M1 1AE", "M1 1AE"),
    ("GB", "b338th", "B33 8TH"),
    ("GB", "CR2 6XH", "CR2 6XH"),
    ("GB", "DN55 1PT", "DN55 1PT"),
    ("GB", "Ec1a 1bb", "EC1A 1BB"),
    ("GB", "gir 0aa", "GIR 0AA"),
    ("GB", "GIR0AA", "GIR 0AA"),
]

REJECTED = [
    ("FI", ""),
    ("FI", "0010"),
    ("FI", "001000"),
    ("FI", "FI-00100"),
    ("FI", "00 100"),
    ("FI", "\u0661\u0662\u0663\u0664\u0665"),  # Arabic-Indic digits are not [0-9]
    ("SE", "114-55"),
    ("SE", "1145 5"),
    ("SE", "114  55"),
    ("SE", "SE-114 55"),
    ("NO", "150"),
    ("NO", "01500"),
    ("DK", "DK-1050"),
    ("DE", "1011"),
    ("DE", "D-10115"),
    ("EE", "1011"),
    ("US", "9021"),
    ("US", "90210-123"),
    ("US", "90210 1234"),
    ("US", "90210-"),
    ("GB", "SW1A  1AA"),  # two spaces
    ("GB", "SW1A-1AA"),
    ("GB", "QA1 1AA"),  # Q is never first
    ("GB", "AI1 1AA"),  # I is never second
    ("GB", "W1Z 1AA"),  # Z is not a district suffix (A9A)
    ("GB", "EC1C 1BB"),  # C is not a district suffix (AA9A)
    ("GB", "SW1A 1AC"),  # C is never an inward letter
    ("GB", "SW1A 1A"),
    ("GB", "SW1A1"),
    ("GB", "SW123 1AA"),
    ("GB", "BFPO 1234"),
    ("GB", "ASCN 1ZZ"),
]

_ALPHABET = "0123456789 -ABCGIKMNQRSWZabgirx"


@pytest.mark.parametrize(("region", "value", "expected"), ACCEPTED)
def test_accepted_examples(region: str, value: str, expected: str) -> None:
    assert normalise_postal_code(value, region) == expected
    assert full(postal_code_pattern(region), value) == (True, True)
    assert normalise_postal_code(expected, region) == expected


@pytest.mark.parametrize(("region", "value"), REJECTED)
def test_rejected_examples(region: str, value: str) -> None:
    with pytest.raises(FieldProblem) as info:
        normalise_postal_code(value, region)
    assert info.value.code == "invalid_postal_code"
    assert full(postal_code_pattern(region), value) == (False, False)


def test_regions() -> None:
    assert {"FI", "SE", "NO", "DK", "DE", "EE", "US", "GB"} <= set(POSTAL_REGIONS)


@pytest.mark.parametrize("region", ["XX", "gb", ""])
def test_unknown_region(region: str) -> None:
    with pytest.raises(KeyError):
        postal_code_pattern(region)
    with pytest.raises(KeyError):
        normalise_postal_code("12345", region)


@pytest.mark.parametrize("region", POSTAL_REGIONS)
def test_pattern_compiles_in_re_and_re2(region: str) -> None:
    pattern = postal_code_pattern(region)
    re.compile(pattern)
    re2.compile(pattern)
    # The way the caller uses it; GB has a top-level alternation.
    re.compile(f"^(?:{pattern})$")
    re2.compile(f"^(?:{pattern})$")


def test_gb_alternation_is_anchored_as_a_whole() -> None:
    wrapped = f"^(?:{postal_code_pattern('GB')})$"
    assert re.search(wrapped, "xGIR 0AA") is None
    assert re.search(wrapped, "SW1A 1AAx") is None


@given(st.sampled_from(POSTAL_REGIONS), st.text(alphabet=_ALPHABET, max_size=11))
def test_accepted_inputs_match_pattern(region: str, value: str) -> None:
    pattern = postal_code_pattern(region)
    matches = full(pattern, value)
    assert matches[0] == matches[1]
    outcome = attempt(normalise_postal_code, value, region)
    if isinstance(outcome, FieldProblem):
        assert outcome.code == "invalid_postal_code"
        assert matches == (False, False)
    else:
        assert matches == (True, True)


@given(st.data())
def test_pattern_matches_are_accepted_and_idempotent(data: st.DataObject) -> None:
    region = data.draw(st.sampled_from(POSTAL_REGIONS))
    pattern = postal_code_pattern(region)
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    normalised = normalise_postal_code(value, region)
    assert full(pattern, normalised) == (True, True)
    assert normalise_postal_code(normalised, region) == normalised
    assert normalise_postal_code(value.lower(), region) == normalised
    assert normalised == normalised.upper()
    if region == "GB":
        outward, inward = normalised.split(" ")
        assert len(inward) == 3
        assert 2 <= len(outward) <= 4


@needs_node
def test_patterns_behave_the_same_in_ecmascript() -> None:
    samples = [value for _, value, _ in ACCEPTED] + [value for _, value in REJECTED]
    cases = {region: (postal_code_pattern(region), samples) for region in POSTAL_REGIONS}
    assert_same_in_ecmascript(cases)
