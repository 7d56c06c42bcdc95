"""Telephone numbers: shape check, E.164 normalisation, regex engines."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable

import phonenumbers
import pytest
import re2
from hypothesis import given
from hypothesis import strategies as st

from intakeforms.fields import FieldProblem
from intakeforms.fields.phone import PHONE_PATTERN, normalise_phone

ACCEPTED = [
    ("040 123 4567", "FI", "+358401234567"),
    ("0401234567", "FI", "+358401234567"),
    ("+358 40 123 4567", None, "+358401234567"),
    ("+358-40-123-4567", "SE", "+358401234567"),  # a country code wins
    ("09 1234 5678", "FI", "+358912345678"),
    ("00358 40 123 4567", "FI", "+358401234567"),  # Finnish international prefix
    ("08-123 456 78", "SE", "+46812345678"),
    ("+46 70 123 45 67", None, "+46701234567"),
    ("22 12 34 56", "NO", "+4722123456"),
    ("+45 32 12 34 56", None, "+4532123456"),
    ("030 1234567", "DE", "+49301234567"),
    ("+372 5123 4567", None, "+37251234567"),
    ("(650) 253-0000", "US", "+16502530000"),
    ("650.253.0000", "US", "+16502530000"),
    ("+1 (650) 253-0000", None, "+16502530000"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("+44 7400 123456", None, "+447400123456"),
]

REJECTED = [
    ("1-800-FLOWERS", "US"),  # phonenumbers would read the letters as digits
    ("+1 650 253 0000 ext. 12", None),
    ("+1 650 253 0000 x12", None),
    ("040 123 4567", None),  # no region, no +
    ("0401234567", None),
    ("\uff10\uff14\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "FI"),  # full-width
    ("++358401234567", None),
    ("358+401234567", "FI"),
    ("+358 40", None),
    ("123", "FI"),
    ("", "FI"),
    ("+", None),
    ("+1 123 456 7890", None),  # possible length, but no area code starts with 1
    ("(555) 123-4567", "US"),  # 555 is not an assigned area code
    ("+358 11 123 4567", None),  # no Finnish area code 011
    ("+999 123 4567", None),  # unassigned country code
    ("555-0100", "US"),  # too short for the North American plan
    ("+358 40 123 4567 123 4567 123 4567", None),  # over 30 characters
    ("+358 40 123 4567#", None),
    ("+358/40/1234567", None),
]


def _full(value: str) -> tuple[bool, bool]:
    """Return whether ``value`` full-matches PHONE_PATTERN in Python re and in RE2."""
    return (
        re.fullmatch(PHONE_PATTERN, value) is not None,
        re2.fullmatch(PHONE_PATTERN, value) is not None,
    )


def _attempt(call: Callable[..., str], *args: object, **kwargs: object) -> str | FieldProblem:
    """Return what ``call`` returns, or the FieldProblem it raises."""
    try:
        return call(*args, **kwargs)
    except FieldProblem as problem:
        return problem


@pytest.mark.parametrize(("value", "region", "expected"), ACCEPTED)
def test_accepted_examples(value: str, region: str | None, expected: str) -> None:
    assert normalise_phone(value, region) == expected
    assert _full(value) == (True, True)


@pytest.mark.parametrize(("value", "region"), REJECTED)
def test_rejected_examples(value: str, region: str | None) -> None:
    with pytest.raises(FieldProblem) as info:
        normalise_phone(value, region)
    assert info.value.code == "invalid_phone"


def test_vanity_number_is_otherwise_valid_for_phonenumbers() -> None:
    # Documents why the shape check has to run first.
    number = phonenumbers.parse("1-800-FLOWERS", "US")
    assert phonenumbers.is_valid_number(number)
    assert _full("1-800-FLOWERS") == (False, False)


@pytest.mark.parametrize("region", ["XX", "fi", ""])
def test_unknown_region(region: str) -> None:
    with pytest.raises(KeyError):
        normalise_phone("040 123 4567", region)


def test_pattern_compiles_in_re_and_re2() -> None:
    re.compile(PHONE_PATTERN)
    re2.compile(PHONE_PATTERN)
    re.compile(f"^(?:{PHONE_PATTERN})$")
    re2.compile(f"^(?:{PHONE_PATTERN})$")


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ("12345", True),
        ("+1234", True),
        ("1234", False),
        ("+123", False),
        ("1" * 30, True),
        ("+" + "1" * 29, True),
        ("1" * 31, False),
        ("+" + "1" * 30, False),
        ("(040) 123-45.67", True),
        ("040 123 4567 a", False),
    ],
)
def test_pattern_length_and_characters(value: str, matches: bool) -> None:
    assert _full(value) == (matches, matches)


@given(st.text(alphabet="0123456789+ -.()/#xAB\uff11", max_size=32))
def test_pattern_agrees_across_engines_and_gates_the_normaliser(value: str) -> None:
    matches = _full(value)
    assert matches[0] == matches[1]
    for region in (None, "FI", "US"):
        outcome = _attempt(normalise_phone, value, region)
        if isinstance(outcome, FieldProblem):
            assert outcome.code == "invalid_phone"
        else:
            assert matches == (True, True)


@given(st.text(max_size=30).filter(lambda text: any(char.isalpha() for char in text)))
def test_letters_are_never_allowed(value: str) -> None:
    assert _full(value) == (False, False)


_EXAMPLE_REGIONS = ("FI", "SE", "NO", "DK", "DE", "EE", "US", "GB", "FR", "IN", "JP", "BR")
_EXAMPLE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


def _example_numbers() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    """Return phonenumbers' own example numbers for a spread of regions."""
    examples = []
    for region in _EXAMPLE_REGIONS:
        for number_type in _EXAMPLE_TYPES:
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None:
                examples.append((region, number))
    return examples


@pytest.mark.parametrize(("region", "number"), _example_numbers())
def test_example_numbers_in_every_written_form(
    region: str, number: phonenumbers.PhoneNumber
) -> None:
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert normalise_phone(national, region) == expected
    assert normalise_phone(international, None) == expected
    assert normalise_phone(international, "FI") == expected
    for accepted in (national, international, expected):
        assert _full(accepted) == (True, True)
    # Idempotent, whatever the default region.
    assert normalise_phone(expected, None) == expected
    assert normalise_phone(expected, region) == expected


@given(
    st.sampled_from(_example_numbers()),
    st.lists(st.sampled_from(["", " ", "-", ".", " "]), min_size=20, max_size=20),
)
def test_separators_do_not_change_the_number(
    example: tuple[str, phonenumbers.PhoneNumber], separators: list[str]
) -> None:
    region, number = example
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = expected[1:]
    spaced = "+" + "".join(
        digit + separator for digit, separator in zip(digits, separators, strict=False)
    )
    if len(spaced) > 30:
        spaced = expected
    assert _full(spaced) == (True, True)
    normalised = normalise_phone(spaced, None)
    assert normalised == expected
    assert _full(normalised) == (True, True)
    assert normalise_phone(normalised, region) == normalised


_NODE = shutil.which("node")

_JS = """
const [pattern, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
let flags = ['', 'u'];
try { new RegExp('', 'v'); flags.push('v'); } catch (e) {}
const out = {};
for (const f of flags) {
  const re = new RegExp('^(?:' + pattern + ')$', f);
  out[f] = samples.map((s) => re.test(s));
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(_NODE is None, reason="node is not installed")
def test_pattern_behaves_the_same_in_ecmascript() -> None:
    assert _NODE is not None
    samples = [value for value, _, _ in ACCEPTED] + [value for value, _ in REJECTED]
    result = subprocess.run(
        [_NODE, "-e", _JS],
        input=json.dumps([PHONE_PATTERN, samples]),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = [re.fullmatch(PHONE_PATTERN, value) is not None for value in samples]
    for flag, matches in json.loads(result.stdout).items():
        assert matches == expected, flag
