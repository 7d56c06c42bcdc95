"""VIN, IBAN, national and business ids: examples, properties, regex engines."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
import re2
from hypothesis import given
from hypothesis import strategies as st
from pattern_checks import assert_same_in_ecmascript, attempt, full, needs_node

from intakeforms.fields import FieldProblem
from intakeforms.fields.identifiers import (
    BUSINESS_ID_REGIONS,
    IBAN_PATTERN,
    NATIONAL_ID_REGIONS,
    VIN_PATTERN,
    business_id_pattern,
    national_id_pattern,
    normalise_business_id,
    normalise_iban,
    normalise_national_id,
    normalise_vin,
)

# A fixed "today" keeps the age- and future-dependent rules reproducible.
TODAY = datetime.date(2025, 6, 15)


def _code(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """Return the FieldProblem code raised by ``call(*args, **kwargs)``."""
    with pytest.raises(FieldProblem) as info:
        call(*args, **kwargs)
    return info.value.code


def _all_patterns() -> dict[str, str]:
    """Return every published pattern of the module by a readable name."""
    patterns = {"vin": VIN_PATTERN, "iban": IBAN_PATTERN}
    patterns.update({f"national_id:{r}": national_id_pattern(r) for r in NATIONAL_ID_REGIONS})
    patterns.update({f"business_id:{r}": business_id_pattern(r) for r in BUSINESS_ID_REGIONS})
    return patterns


@pytest.mark.parametrize("pattern", list(_all_patterns().values()), ids=list(_all_patterns()))
def test_patterns_compile_in_re_and_re2(pattern: str) -> None:
    re.compile(pattern)
    re2.compile(pattern)
    re.compile(f"^(?:{pattern})$")
    re2.compile(f"^(?:{pattern})$")


# --- VIN -------------------------------------------------------------------

VIN_ACCEPTED = [
    ("1M8GDM9AXKP042788", "1M8GDM9AXKP042788"),  # the textbook example, check digit X
    ("1m8gdm9axkp042788", "1M8GDM9AXKP042788"),
    ("11111111111111111", "11111111111111111"),
    ("1HGCM82633A004352", "1HGCM82633A004352"),
]

VIN_BAD_SHAPE = [
    "",
    "1M8GDM9AXKP04278",  # 16
    "1M8GDM9AXKP0427888",  # 18
    "1M8GDM9AXKP04278O",  # O is never used
    "1M8GDM9AXKP04278I",
    "1M8GDM9AXKP04278Q",
    "1M8GDM9AXKP 42788",
    "1M8-GDM9AXKP04278",
    "1M8GDM9AXKP04278\u0668",  # Arabic-Indic eight
]


@pytest.mark.parametrize(("value", "expected"), VIN_ACCEPTED)
def test_vin_accepted(value: str, expected: str) -> None:
    assert normalise_vin(value) == expected
    assert normalise_vin(value, check_digit=False) == expected
    assert full(VIN_PATTERN, value) == (True, True)
    assert normalise_vin(expected) == expected


@pytest.mark.parametrize("value", VIN_BAD_SHAPE)
def test_vin_bad_shape(value: str) -> None:
    assert _code(normalise_vin, value) == "invalid_vin"
    assert _code(normalise_vin, value, check_digit=False) == "invalid_vin"
    assert full(VIN_PATTERN, value) == (False, False)


@pytest.mark.parametrize("value", ["1M8GDM9A1KP042788", "1HGCM82643A004352", "WP0ZZZ99ZTS392124"])
def test_vin_check_digit(value: str) -> None:
    assert _code(normalise_vin, value) == "vin_check_digit"
    # European VINs usually carry no check digit (here: Z); they pass without the check.
    assert normalise_vin(value.lower(), check_digit=False) == value


_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@given(st.text(alphabet=_VIN_CHARS, min_size=16, max_size=16))
def test_vin_exactly_one_check_character_fits(chars: str) -> None:
    candidates = [chars[:8] + check + chars[8:] for check in "0123456789X"]
    outcomes = [attempt(normalise_vin, vin) for vin in candidates]
    accepted = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert len(accepted) == 1
    for outcome in outcomes:
        if isinstance(outcome, FieldProblem):
            assert outcome.code == "vin_check_digit"
    assert full(VIN_PATTERN, accepted[0]) == (True, True)


@given(st.from_regex(VIN_PATTERN, fullmatch=True), st.booleans())
def test_vin_properties(value: str, check_digit: bool) -> None:
    normalised = attempt(normalise_vin, value, check_digit=check_digit)
    if isinstance(normalised, FieldProblem):
        assert check_digit
        assert normalised.code == "vin_check_digit"
        return
    assert normalised == value.upper()
    assert full(VIN_PATTERN, normalised) == (True, True)
    assert normalise_vin(normalised, check_digit=check_digit) == normalised


@given(st.text(alphabet=_VIN_CHARS + "ioqIOQ -", max_size=18))
def test_vin_accepted_inputs_match_pattern(value: str) -> None:
    outcome = attempt(normalise_vin, value, check_digit=False)
    if isinstance(outcome, FieldProblem):
        assert outcome.code == "invalid_vin"
        assert full(VIN_PATTERN, value) == (False, False)
    else:
        assert full(VIN_PATTERN, value) == (True, True)


# --- IBAN ------------------------------------------------------------------

# Published specimen IBANs (Wikipedia / the national banking associations).
VALID_IBANS = [
    "FI2112345600000785",
    "SE4550000000058398257466",
    "NO9386011117947",
    "DK5000400440116243",
    "EE382200221020145685",
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "GR1601101050000010547023795",
    "FR1420041010050500013M02606",
]

IBAN_ACCEPTED = [
    ("FI21 1234 5600 0007 85", "FI2112345600000785"),
    ("fi2112345600000785", "FI2112345600000785"),
    ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
    ("gb82 west 1234 5698 7654 32", "GB82WEST12345698765432"),
    ("GR16 0110 1050 0000 1054 7023 795", "GR1601101050000010547023795"),
    ("NO93 8601 1117 947", "NO9386011117947"),
    ("DE89 370400440532013000", "DE89370400440532013000"),
]

IBAN_REJECTED = [
    "",
    "FI21 1234 5600 0007 86",  # check digits
    "FI12 1234 5600 0007 85",  # check digits swapped
    "FI21 1234 5600 0007 8",  # too short for Finland
    "FI21 1234 5600 0007 855",  # too long for Finland
    "XX21 1234 5600 0007 85",  # no such country
    "FI21-1234-5600-0007-85",
    "FI21  1234 5600 0007 85",  # two spaces
    "FI 21 1234 5600 0007 85",
    "IBAN FI21 1234 5600 0007 85",
    "DE89 3704 0044 0532 0130 00 00 00 00 00 00 00",  # over 34 characters
]


@pytest.mark.parametrize("value", VALID_IBANS)
def test_iban_specimens(value: str) -> None:
    assert normalise_iban(value) == value


@pytest.mark.parametrize(("value", "expected"), IBAN_ACCEPTED)
def test_iban_accepted(value: str, expected: str) -> None:
    assert normalise_iban(value) == expected
    assert full(IBAN_PATTERN, value) == (True, True)


@pytest.mark.parametrize("value", IBAN_REJECTED)
def test_iban_rejected(value: str) -> None:
    assert _code(normalise_iban, value) == "invalid_iban"


@given(st.sampled_from(VALID_IBANS), st.data())
def test_iban_spacing_and_case_do_not_matter(iban: str, data: st.DataObject) -> None:
    written = iban[:4]
    for char in iban[4:]:
        if data.draw(st.booleans()):
            written += " "
        written += char.lower() if data.draw(st.booleans()) else char
    assert full(IBAN_PATTERN, written) == (True, True)
    assert normalise_iban(written) == iban


@given(st.from_regex(IBAN_PATTERN, fullmatch=True))
def test_iban_properties(value: str) -> None:
    normalised = attempt(normalise_iban, value)
    if isinstance(normalised, FieldProblem):
        assert normalised.code == "invalid_iban"
        return
    assert full(IBAN_PATTERN, normalised) == (True, True)
    assert normalise_iban(normalised) == normalised


@given(st.text(alphabet="FIGBDE0123456789 -.x", max_size=36))
def test_iban_accepted_inputs_match_pattern(value: str) -> None:
    outcome = attempt(normalise_iban, value)
    if isinstance(outcome, FieldProblem):
        assert outcome.code == "invalid_iban"
    else:
        assert full(IBAN_PATTERN, value) == (True, True)


# --- National ids -------------------------------------------------------------

_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_SIGNS = {18: "+", 19: "-YXWVU", 20: "ABCDEF"}


def _hetu(birth: datetime.date, individual: int, sign: str) -> str:
    """Build a henkilötunnus from its parts (independently of stdnum)."""
    digits = f"{birth:%d%m}{birth.year % 100:02d}{individual:03d}"
    return f"{digits[:6]}{sign}{digits[6:]}{_HETU_CHECK[int(digits) % 31]}"


def _luhn_digit(digits: str) -> str:
    """Return the Luhn check digit for ``digits`` (independently of stdnum)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def _personnummer(birth: datetime.date, serial: int) -> str:
    """Return the 12 digits of a personnummer (with a correct Luhn digit)."""
    body = f"{birth:%m%d}{serial:03d}"
    short = f"{birth.year % 100:02d}{body}"
    return f"{birth.year:04d}{body}{_luhn_digit(short)}"


HETU_ACCEPTED = [
    ("131052-308T", "131052-308T"),  # the classic specimen
    ("131052-308t", "131052-308T"),
    ("131052Y308T", "131052Y308T"),  # 1900s sign introduced in 2023
    ("131052w308t", "131052W308T"),
    ("010101A123N", "010101A123N"),
    ("010101b123n", "010101B123N"),  # 2000s sign introduced in 2023
    # Born in the 1800s: the + century sign.
    (_hetu(datetime.date(1899, 12, 31), 2, "+"), _hetu(datetime.date(1899, 12, 31), 2, "+")),
]

HETU_REJECTED = [
    "",
    "131052-308U",  # check character
    "310252-308Y",  # 31 February
    "131052-001H",  # individual numbers start at 002
    "010594Y9032",  # temporary number (900-999), DVV's own example
    "131052A308T",  # born 2052
    "131052 308T",
    "131052308T",
    "131052-308TT",
    "131052G308T",  # no such century sign
    "1310522308T",
]


@pytest.mark.parametrize(("value", "expected"), HETU_ACCEPTED)
def test_hetu_accepted(value: str, expected: str) -> None:
    assert normalise_national_id(value, "FI", today=TODAY) == expected
    assert full(national_id_pattern("FI"), value) == (True, True)


@pytest.mark.parametrize("value", HETU_REJECTED)
def test_hetu_rejected(value: str) -> None:
    assert _code(normalise_national_id, value, "FI", today=TODAY) == "invalid_national_id"


def test_hetu_future_is_relative_to_today() -> None:
    born_2024 = _hetu(datetime.date(2024, 12, 24), 123, "A")
    assert normalise_national_id(born_2024, "FI", today=TODAY) == born_2024
    earlier = datetime.date(2024, 12, 23)
    assert _code(normalise_national_id, born_2024, "FI", today=earlier) == "invalid_national_id"


@given(
    st.dates(datetime.date(1850, 1, 1), TODAY),
    st.integers(2, 899),
    st.data(),
)
def test_hetu_properties(birth: datetime.date, individual: int, data: st.DataObject) -> None:
    sign = data.draw(st.sampled_from(_HETU_SIGNS[birth.year // 100]))
    hetu = _hetu(birth, individual, sign)
    written = hetu.lower() if data.draw(st.booleans()) else hetu
    pattern = national_id_pattern("FI")
    assert full(pattern, written) == (True, True)
    normalised = normalise_national_id(written, "FI", today=TODAY)
    assert normalised == hetu
    assert full(pattern, normalised) == (True, True)
    assert normalise_national_id(normalised, "FI", today=TODAY) == normalised


PERSONNUMMER_ACCEPTED = [
    ("880320-0016", "880320-0016"),  # the stdnum / Skatteverket-style specimens
    ("8803200016", "880320-0016"),
    ("198803200016", "880320-0016"),
    ("19880320-0016", "880320-0016"),
    ("811228-9841", "811228-9841"),
    ("890102-3286", "890102-3286"),
    ("121212-1212", "121212-1212"),  # born 2012
    ("121212+1212", "121212+1212"),  # born 1912
    ("19121212-1212", "121212+1212"),
    ("191212121212", "121212+1212"),
    ("19121212+1212", "121212+1212"),
    ("20121212-1212", "121212-1212"),
]

PERSONNUMMER_REJECTED = [
    "",
    "880320-0018",  # Luhn
    "880320 0016",
    "880320--0016",
    "88032-00016",
    "8803200016x",
    "19880320-00166",
    "20880320-0016",  # born 2088
    "880230-0016",  # 30 February (and the Luhn digit is off too)
    # A samordningsnummer (day + 60), valid Luhn digit: not a personnummer.
    "701063-239" + _luhn_digit("701063239"),
]


@pytest.mark.parametrize(("value", "expected"), PERSONNUMMER_ACCEPTED)
def test_personnummer_accepted(value: str, expected: str) -> None:
    assert normalise_national_id(value, "SE", today=TODAY) == expected
    assert full(national_id_pattern("SE"), value) == (True, True)


@pytest.mark.parametrize("value", PERSONNUMMER_REJECTED)
def test_personnummer_rejected(value: str) -> None:
    assert _code(normalise_national_id, value, "SE", today=TODAY) == "invalid_national_id"


def test_personnummer_plus_starts_in_the_year_of_the_hundredth_birthday() -> None:
    digits = _personnummer(datetime.date(1925, 12, 31), 123)
    ten = digits[2:8] + "-" + digits[8:]
    plus = digits[2:8] + "+" + digits[8:]
    assert normalise_national_id(digits, "SE", today=datetime.date(2024, 12, 31)) == ten
    assert normalise_national_id(digits, "SE", today=datetime.date(2025, 1, 1)) == plus
    # Written with a minus, the same ten digits mean a 2025 birth: in the future.
    assert (
        _code(normalise_national_id, ten, "SE", today=datetime.date(2025, 1, 1))
        == "invalid_national_id"
    )


@given(st.dates(datetime.date(1880, 1, 1), TODAY), st.integers(0, 999), st.data())
def test_personnummer_properties(birth: datetime.date, serial: int, data: st.DataObject) -> None:
    digits = _personnummer(birth, serial)
    sign = "+" if TODAY.year - birth.year >= 100 else "-"
    expected = f"{digits[2:8]}{sign}{digits[8:]}"
    written_forms = [digits, f"{digits[:8]}-{digits[8:]}", expected]
    if sign == "-":
        written_forms.append(expected.replace("-", ""))
    written = data.draw(st.sampled_from(written_forms))
    pattern = national_id_pattern("SE")
    assert full(pattern, written) == (True, True)
    normalised = normalise_national_id(written, "SE", today=TODAY)
    assert normalised == expected
    assert full(pattern, normalised) == (True, True)
    assert normalise_national_id(normalised, "SE", today=TODAY) == normalised


@given(st.data())
def test_national_id_pattern_matches_are_checked_not_crashing(data: st.DataObject) -> None:
    region = data.draw(st.sampled_from(NATIONAL_ID_REGIONS))
    pattern = national_id_pattern(region)
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    normalised = attempt(normalise_national_id, value, region, today=TODAY)
    if isinstance(normalised, FieldProblem):
        assert normalised.code == "invalid_national_id"
        return
    assert full(pattern, normalised) == (True, True)
    assert normalise_national_id(normalised, region, today=TODAY) == normalised


@given(st.sampled_from(NATIONAL_ID_REGIONS), st.text(alphabet="0123456789-+ AaTtYy", max_size=14))
def test_national_id_accepted_inputs_match_pattern(region: str, value: str) -> None:
    outcome = attempt(normalise_national_id, value, region, today=TODAY)
    if isinstance(outcome, FieldProblem):
        assert outcome.code == "invalid_national_id"
    else:
        assert full(national_id_pattern(region), value) == (True, True)


def test_national_id_default_today_is_the_clock() -> None:
    assert normalise_national_id("131052-308T", "FI") == "131052-308T"
    assert normalise_national_id("8803200016", "SE") == "880320-0016"


@pytest.mark.parametrize("region", ["NO", "fi", ""])
def test_national_id_unknown_region(region: str) -> None:
    with pytest.raises(KeyError):
        national_id_pattern(region)
    with pytest.raises(KeyError):
        normalise_national_id("131052-308T", region)


# --- Business ids ----------------------------------------------------------------

BUSINESS_ACCEPTED = [
    ("FI", "0112038-9", "0112038-9"),  # Nokia Oyj
    ("FI", "01120389", "0112038-9"),
    ("FI", "2077474-0", "2077474-0"),
    ("FI", "0245437-2", "0245437-2"),
    ("SE", "556036-0793", "556036-0793"),
    ("SE", "5560360793", "556036-0793"),
    ("SE", "556042-7220", "556042-7220"),  # H & M Hennes & Mauritz AB
    ("SE", "202100-5489", "202100-5489"),
    ("SE", "880320-0016", "880320-0016"),  # a sole trader's personnummer
]

BUSINESS_REJECTED = [
    ("FI", ""),
    ("FI", "0112038-8"),  # check digit
    ("FI", "112038-9"),  # old six-digit form, not zero-padded
    ("FI", "01120-389"),
    ("FI", "FI01120389"),  # that is the VAT number
    ("FI", "0112038 9"),
    ("SE", "556036-0794"),
    ("SE", "55603-60793"),
    ("SE", "16556036-0793"),  # 12-digit form with the 16 prefix
    ("SE", "SE556036079301"),  # that is the VAT number
]


@pytest.mark.parametrize(("region", "value", "expected"), BUSINESS_ACCEPTED)
def test_business_id_accepted(region: str, value: str, expected: str) -> None:
    assert normalise_business_id(value, region) == expected
    assert full(business_id_pattern(region), value) == (True, True)
    assert normalise_business_id(expected, region) == expected


@pytest.mark.parametrize(("region", "value"), BUSINESS_REJECTED)
def test_business_id_rejected(region: str, value: str) -> None:
    assert _code(normalise_business_id, value, region) == "invalid_business_id"


_DIGITS = "0123456789"


@given(st.text(alphabet=_DIGITS, min_size=7, max_size=7))
def test_ytunnus_at_most_one_check_digit_fits(prefix: str) -> None:
    outcomes = [attempt(normalise_business_id, f"{prefix}-{check}", "FI") for check in _DIGITS]
    fitting = [outcome for outcome in outcomes if isinstance(outcome, str)]
    # Prefixes whose weighted sum leaves remainder 1 are never issued.
    assert len(fitting) <= 1


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_orgnr_exactly_one_check_digit_fits(prefix: str) -> None:
    outcomes = [attempt(normalise_business_id, prefix + check, "SE") for check in _DIGITS]
    fitting = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert len(fitting) == 1


@given(st.data())
def test_business_id_properties(data: st.DataObject) -> None:
    region = data.draw(st.sampled_from(BUSINESS_ID_REGIONS))
    pattern = business_id_pattern(region)
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    normalised = attempt(normalise_business_id, value, region)
    if isinstance(normalised, FieldProblem):
        assert normalised.code == "invalid_business_id"
        return
    assert full(pattern, normalised) == (True, True)
    assert normalise_business_id(normalised, region) == normalised


@given(st.sampled_from(BUSINESS_ID_REGIONS), st.text(alphabet="0123456789- .FISE", max_size=13))
def test_business_id_accepted_inputs_match_pattern(region: str, value: str) -> None:
    outcome = attempt(normalise_business_id, value, region)
    if isinstance(outcome, FieldProblem):
        assert outcome.code == "invalid_business_id"
    else:
        assert full(business_id_pattern(region), value) == (True, True)


@pytest.mark.parametrize("region", ["NO", "se", ""])
def test_business_id_unknown_region(region: str) -> None:
    with pytest.raises(KeyError):
        business_id_pattern(region)
    with pytest.raises(KeyError):
        normalise_business_id("0112038-9", region)


# --- ECMAScript --------------------------------------------------------------


@needs_node
def test_patterns_behave_the_same_in_ecmascript() -> None:
    samples = (
        [value for value, _ in VIN_ACCEPTED]
        + VIN_BAD_SHAPE
        + [value for value, _ in IBAN_ACCEPTED]
        + IBAN_REJECTED
        + [value for value, _ in HETU_ACCEPTED]
        + HETU_REJECTED
        + [value for value, _ in PERSONNUMMER_ACCEPTED]
        + PERSONNUMMER_REJECTED
        + [value for _, value, _ in BUSINESS_ACCEPTED]
        + [value for _, value in BUSINESS_REJECTED]
    )
    cases = {name: (pattern, samples) for name, pattern in _all_patterns().items()}
    assert_same_in_ecmascript(cases)
