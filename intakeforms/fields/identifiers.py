"""Identifiers with check digits: VIN, IBAN, personal and business ids (the
types vin, iban, national_id and business_id).

Every normaliser first full-matches its published input pattern and only then
applies the checksum or registry rules (mostly via ``python-stdnum``), so the
set of accepted strings is always a subset of what the pattern promises.

Patterns use only the syntax shared by ECMAScript (including the ``v`` flag),
Python ``re`` and RE2, and are meant to be full-matched: the caller wraps them
in ``^(?:...)$``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Literal

from pydantic import Field
from stdnum import iban as _iban
from stdnum.exceptions import ValidationError
from stdnum.fi import hetu as _hetu
from stdnum.fi import ytunnus as _ytunnus
from stdnum.se import orgnr as _orgnr
from stdnum.se import personnummer as _personnummer

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, fixed_input, string_schema
from intakeforms.fields.text import as_string

__all__ = [
    "BUSINESS_ID",
    "BUSINESS_ID_REGIONS",
    "IBAN",
    "IBAN_PATTERN",
    "NATIONAL_ID",
    "NATIONAL_ID_REGIONS",
    "VIN",
    "VIN_PATTERN",
    "BusinessIdField",
    "IbanField",
    "NationalIdField",
    "VinField",
    "business_id_pattern",
    "national_id_pattern",
    "normalise_business_id",
    "normalise_iban",
    "normalise_national_id",
    "normalise_vin",
]

# --- VIN -------------------------------------------------------------------

# I, O and Q are never used in a VIN, so that they cannot be misread as 1 and 0.
VIN_PATTERN = "[A-HJ-NPR-Za-hj-npr-z0-9]{17}"
_VIN_RE = re.compile(VIN_PATTERN)

# Transliteration and weights of the North American check digit (49 CFR 565),
# which ISO 3779 allows but does not require.
_VIN_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vin_check_digit(vin: str) -> str:
    """Return the expected check character (position 9) of an upper-case VIN."""
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


#: First characters of the world manufacturer identifiers of regions whose
#: rules make the check digit mandatory: North America (1-5) and China (L).
#: Elsewhere, notably in Europe, position 9 is often a plain serial character.
CHECK_DIGIT_REGIONS = frozenset("12345L")


def vin_needs_check_digit(vin: str) -> bool:
    """Whether ``vin`` comes from a region where the check digit is mandatory."""
    return vin[:1].upper() in CHECK_DIGIT_REGIONS


def normalise_vin(value: str, check_digit: bool = True) -> str:
    """Return the VIN ``value`` in upper case.

    With ``check_digit`` (the default) position 9 must hold the North American
    check digit, which vehicles built for North America always carry; pass
    ``False`` for markets (e.g. the EU) where most VINs do not have one.
    Raises :class:`FieldProblem` ``invalid_vin`` for a bad shape and
    ``vin_check_digit`` for a wrong check digit.
    """
    if _VIN_RE.fullmatch(value) is None:
        raise FieldProblem("invalid_vin")
    vin = value.upper()
    if check_digit and vin[8] != _vin_check_digit(vin):
        raise FieldProblem("vin_check_digit")
    return vin


# --- IBAN ------------------------------------------------------------------

# Country code, check digits, then 11-30 more characters (IBANs are 15-34 long
# in all), with single spaces anywhere after the check digits so that both the
# printed groups of four and pasted compact forms are accepted.
IBAN_PATTERN = "[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}"
_IBAN_RE = re.compile(IBAN_PATTERN)


def normalise_iban(value: str) -> str:
    """Return the IBAN ``value`` compact and upper case, e.g. ``FI2112345600000785``.

    Checks the mod-97 check digits, the country's length and BBAN structure
    and, for the countries ``python-stdnum`` knows, the national check digits.
    Raises :class:`FieldProblem` ``invalid_iban``.
    """
    if _IBAN_RE.fullmatch(value) is None:
        raise FieldProblem("invalid_iban")
    try:
        return str(_iban.validate(value.replace(" ", "").upper()))
    except ValidationError:
        raise FieldProblem("invalid_iban") from None


# --- National (personal) identity numbers ----------------------------------

NATIONAL_ID_REGIONS: tuple[str, ...] = ("FI", "SE")

_NATIONAL_ID_PATTERNS: dict[str, str] = {
    # Henkilötunnus DDMMYY C NNN Q. The century sign is + (1800s), - or Y X W V
    # U (1900s), A or B C D E F (2000s); the extra letters exist since 2023.
    "FI": (
        r"[0-3][0-9][01][0-9][0-9]{2}[\-+A-FU-Ya-fu-y][0-9]{3}"
        "[0-9A-FHJ-NPR-Ya-fhj-npr-y]"
    ),
    # Personnummer (YY)YYMMDD, optional - or + separator, NNNN.
    "SE": r"(?:[0-9]{2})?[0-9]{6}[\-+]?[0-9]{4}",
}
_NATIONAL_ID_RE: dict[str, re.Pattern[str]] = {
    region: re.compile(pattern) for region, pattern in _NATIONAL_ID_PATTERNS.items()
}


def national_id_pattern(region: str) -> str:
    """Return the input pattern for national ids of ``region`` (one of NATIONAL_ID_REGIONS).

    Raises :class:`KeyError` for a region outside :data:`NATIONAL_ID_REGIONS`.
    """
    try:
        return _NATIONAL_ID_PATTERNS[region]
    except KeyError:
        raise KeyError(f"unsupported national id region: {region!r}") from None


# Century of the birth year by henkilötunnus century sign.
_HETU_CENTURY = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


def _finnish_birth_date(hetu: str) -> datetime.date:
    """Return the birth date of a henkilötunnus that stdnum has validated."""
    year = _HETU_CENTURY[hetu[6]] + int(hetu[4:6])
    return datetime.date(year, int(hetu[2:4]), int(hetu[:2]))


def _swedish_birth_date(compact: str, today: datetime.date) -> datetime.date:
    """Return the birth date of a personnummer in stdnum's compact form."""
    if len(compact) == 13:
        return datetime.date(int(compact[:4]), int(compact[4:6]), int(compact[6:8]))
    # Same rule as the Swedish population register (and stdnum): the latest
    # year with these two digits, a century earlier after a plus. Computed
    # here rather than by stdnum so that ``today`` is honoured.
    year = today.year - (today.year - int(compact[:2])) % 100
    if compact[6] == "+":
        year -= 100
    return datetime.date(year, int(compact[2:4]), int(compact[4:6]))


def _swedish_national_id(value: str, today: datetime.date) -> str:
    """Return a valid personnummer in the 10-digit ``YYMMDD-NNNN`` form."""
    try:
        compact = str(_personnummer.validate(value))
        # ValueError: 29 February in a year that stdnum's guess (made with the
        # real clock) allowed but ``today`` does not.
        birth = _swedish_birth_date(compact, today)
    except ValueError:  # includes stdnum's ValidationError
        raise FieldProblem("invalid_national_id") from None
    age_in_years = today.year - birth.year
    # A future birth date is a typo (or a missing plus); 200 years and more
    # cannot be written in the 10-digit form, and nobody is that old anyway.
    if birth > today or age_in_years >= 200:
        raise FieldProblem("invalid_national_id")
    # The separator turns into a plus from the start of the year the holder
    # turns 100; that is what keeps the 10-digit form unambiguous.
    separator = "+" if age_in_years >= 100 else "-"
    digits = compact.replace("-", "").replace("+", "")[-10:]
    return f"{digits[:6]}{separator}{digits[6:]}"


def normalise_national_id(value: str, region: str, *, today: datetime.date | None = None) -> str:
    """Return the canonical form of the personal identity number ``value``.

    ``FI`` (henkilötunnus): upper case as written, e.g. ``131052-308T``; all
    century signs including those introduced in 2023 are accepted; temporary
    numbers (individual part 900-999) are rejected. ``SE`` (personnummer):
    10- or 12-digit input, always returned in the 10-digit ``YYMMDD-NNNN`` form,
    with ``+`` instead of ``-`` for people who turn 100 or more this year;
    coordination numbers (samordningsnummer) are rejected. For both regions
    the birth date may not lie in the future; ``today`` (default: the local
    date) fixes the current date. Raises :class:`FieldProblem`
    ``invalid_national_id`` and :class:`KeyError` for a region outside
    :data:`NATIONAL_ID_REGIONS`.
    """
    compiled = _NATIONAL_ID_RE.get(region)
    if compiled is None:
        raise KeyError(f"unsupported national id region: {region!r}")
    if compiled.fullmatch(value) is None:
        raise FieldProblem("invalid_national_id")
    today = today or datetime.date.today()
    if region == "SE":
        return _swedish_national_id(value, today)
    try:
        hetu = str(_hetu.validate(value.upper()))
    except ValidationError:
        raise FieldProblem("invalid_national_id") from None
    # stdnum checks that the date exists but not that it has happened; a
    # future date is a wrong century sign or a typo.
    if _finnish_birth_date(hetu) > today:
        raise FieldProblem("invalid_national_id")
    return hetu


# --- Business ids ------------------------------------------------------------

BUSINESS_ID_REGIONS: tuple[str, ...] = ("FI", "SE")

_BUSINESS_ID_PATTERNS: dict[str, str] = {
    # Y-tunnus NNNNNNN-C; the dash may be left out.
    "FI": "[0-9]{7}-?[0-9]",
    # Organisationsnummer NNNNNN-NNNN; the dash may be left out.
    "SE": "[0-9]{6}-?[0-9]{4}",
}
_BUSINESS_ID_RE: dict[str, re.Pattern[str]] = {
    region: re.compile(pattern) for region, pattern in _BUSINESS_ID_PATTERNS.items()
}


def business_id_pattern(region: str) -> str:
    """Return the input pattern for business ids of ``region`` (one of BUSINESS_ID_REGIONS).

    Raises :class:`KeyError` for a region outside :data:`BUSINESS_ID_REGIONS`.
    """
    try:
        return _BUSINESS_ID_PATTERNS[region]
    except KeyError:
        raise KeyError(f"unsupported business id region: {region!r}") from None


def normalise_business_id(value: str, region: str) -> str:
    """Return the business id ``value`` in its dashed form.

    ``FI`` (Y-tunnus): ``1234567-8``. ``SE`` (organisationsnummer):
    ``NNNNNN-NNNN``; sole traders use their personnummer, which has the same
    shape and check digit and is therefore accepted too. Raises
    :class:`FieldProblem` ``invalid_business_id`` and :class:`KeyError` for a
    region outside :data:`BUSINESS_ID_REGIONS`.
    """
    compiled = _BUSINESS_ID_RE.get(region)
    if compiled is None:
        raise KeyError(f"unsupported business id region: {region!r}")
    if compiled.fullmatch(value) is None:
        raise FieldProblem("invalid_business_id")
    module = _ytunnus if region == "FI" else _orgnr
    try:
        module.validate(value)
    except ValidationError:
        raise FieldProblem("invalid_business_id") from None
    return str(module.format(value))


# --- The field types -------------------------------------------------------


class VinField(FieldModel):
    """A vehicle identification number (17 characters)."""

    type: Literal["vin"]
    check_digit: bool | Literal["auto"] = Field(
        default="auto",
        description=(
            "Verify the check digit at position 9: auto (where it is mandatory: "
            "North American and Chinese VINs), true (always) or false (never)."
        ),
    )


class IbanField(FieldModel):
    """A bank account number (IBAN), mod-97 checked."""

    type: Literal["iban"]


class NationalIdField(FieldModel):
    """A personal identity code (FI henkilötunnus, SE personnummer)."""

    type: Literal["national_id"]
    region: str
    sensitive: bool = True


class BusinessIdField(FieldModel):
    """A business id (FI Y-tunnus, SE organisationsnummer)."""

    type: Literal["business_id"]
    region: str


def _check_vin(f: VinField, value: Any, prepared: Any, today: Any) -> str:
    text = as_string(value)
    check = f.check_digit if f.check_digit != "auto" else vin_needs_check_digit(text)
    return normalise_vin(text, check)


# Codes typed rather than spoken: no autofill, no spelling fixes, capitals.
_CODE_INPUT = fixed_input(
    control="input",
    type="text",
    autocomplete="off",
    autocapitalize="characters",
    spellcheck="false",
)

VIN = FieldType(
    name="vin",
    codes=("not_text", "invalid_vin", "vin_check_digit"),
    model=VinField,
    schema=lambda f, p: string_schema(VIN_PATTERN),
    check=_check_vin,
    input=_CODE_INPUT,
)
IBAN = FieldType(
    name="iban",
    codes=("not_text", "invalid_iban"),
    model=IbanField,
    schema=lambda f, p: string_schema(IBAN_PATTERN),
    check=lambda f, v, p, t: normalise_iban(as_string(v)),
    input=_CODE_INPUT,
    examples={"invalid_iban": {"FI": "FI21 1234 5600 0007 85"}},
)
NATIONAL_ID = FieldType(
    name="national_id",
    codes=("not_text", "invalid_national_id"),
    model=NationalIdField,
    schema=lambda f, p: string_schema(national_id_pattern(f.region)),
    check=lambda f, v, p, t: normalise_national_id(as_string(v), f.region),
    input=_CODE_INPUT,
    regions=NATIONAL_ID_REGIONS,
)
BUSINESS_ID = FieldType(
    name="business_id",
    codes=("not_text", "invalid_business_id"),
    model=BusinessIdField,
    schema=lambda f, p: string_schema(business_id_pattern(f.region)),
    check=lambda f, v, p, t: normalise_business_id(as_string(v), f.region),
    # Digits and a dash: nothing to capitalise.
    input=fixed_input(control="input", type="text", autocomplete="off", spellcheck="false"),
    regions=BUSINESS_ID_REGIONS,
    examples={"invalid_business_id": {"FI": "1572860-0", "SE": "556703-7485"}},
)
