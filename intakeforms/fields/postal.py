"""Postal codes: the type postal_code.

====== =============================== ==================================
region accepted input                   canonical form
====== =============================== ==================================
FI     ``12345``                        ``12345``
SE     ``12345``, ``123 45``            ``123 45``
NO     ``1234``                         ``1234``
DK     ``1234``                         ``1234``
DE     ``12345``                        ``12345``
EE     ``12345``                        ``12345``
US     ``12345``, ``12345-6789``,       ``12345`` or ``12345-6789``
       ``123456789``
GB     outward and inward code, either  upper case, one space:
       case, one optional space         ``SW1A 1AA``
====== =============================== ==================================

The checks are about shape only; whether a code is actually in use is not
known here. GB follows the Royal Mail letter rules per position (plus the
special ``GIR 0AA``); British Forces (BFPO) and overseas-territory codes such as
``ASCN 1ZZ`` are not accepted. Country prefixes (``FI-00100``, ``SE-123 45``)
are not accepted either: the region comes from the form, not from the answer.

Patterns use only the syntax shared by ECMAScript (including the ``v`` flag),
Python ``re`` and RE2, and are meant to be full-matched: the caller wraps them
in ``^(?:...)$``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, string_schema
from intakeforms.fields.text import as_string

__all__ = [
    "POSTAL_CODE",
    "POSTAL_REGIONS",
    "PostalCodeField",
    "normalise_postal_code",
    "postal_code_pattern",
]

POSTAL_REGIONS: tuple[str, ...] = ("FI", "SE", "NO", "DK", "DE", "EE", "US", "GB")


def _either_case(upper: str) -> str:
    """Return a character class matching ``upper`` (A-Z letters, ranges) in both cases."""
    # Case-insensitivity flags differ between engines (and Python's re would
    # also match the Kelvin sign for k), so both cases are spelled out.
    return f"[{upper}{upper.lower()}]"


# Royal Mail rules for the letters of a postcode, by position: Q, V, X never
# first; I, J, Z never second; a letter third (A9A) or fourth (AA9A) comes from
# a short list; the two inward letters never use C, I, K, M, O or V.
_GB_FIRST = _either_case("A-PR-UWYZ")
_GB_SECOND = _either_case("A-HK-Y")
_GB_THIRD = _either_case("A-HJKPSTUW")
_GB_FOURTH = _either_case("ABEHMNPRVWXY")
_GB_INWARD_LETTER = _either_case("ABD-HJLNP-UW-Z")
_GB_OUTWARD = (
    f"{_GB_FIRST}[0-9](?:[0-9]|{_GB_THIRD})?"  # A9, A99, A9A
    f"|{_GB_FIRST}{_GB_SECOND}[0-9](?:[0-9]|{_GB_FOURTH})?"  # AA9, AA99, AA9A
)
_GB = f"(?:{_GB_OUTWARD}) ?[0-9]{_GB_INWARD_LETTER}{{2}}|[Gg][Ii][Rr] ?0[Aa][Aa]"

_PATTERNS: dict[str, str] = {
    "FI": "[0-9]{5}",
    "SE": "[0-9]{3} ?[0-9]{2}",
    "NO": "[0-9]{4}",
    "DK": "[0-9]{4}",
    "DE": "[0-9]{5}",
    "EE": "[0-9]{5}",
    "US": "[0-9]{5}(?:-?[0-9]{4})?",
    "GB": _GB,
}

_COMPILED: dict[str, re.Pattern[str]] = {
    region: re.compile(pattern) for region, pattern in _PATTERNS.items()
}


def postal_code_pattern(region: str) -> str:
    """Return the input pattern for postal codes of ``region`` (one of POSTAL_REGIONS).

    The pattern describes every string that :func:`normalise_postal_code`
    accepts for the region, is meant to be full-matched, and raises
    :class:`KeyError` for a region outside :data:`POSTAL_REGIONS`.
    """
    try:
        return _PATTERNS[region]
    except KeyError:
        raise KeyError(f"unsupported postal code region: {region!r}") from None


def normalise_postal_code(value: str, region: str) -> str:
    """Return the canonical form of the postal code ``value`` for ``region``.

    Raises :class:`FieldProblem` ``invalid_postal_code`` if ``value`` does not
    have the region's shape, and :class:`KeyError` for a region outside
    :data:`POSTAL_REGIONS`.
    """
    compiled = _COMPILED.get(region)
    if compiled is None:
        raise KeyError(f"unsupported postal code region: {region!r}")
    # The published pattern is the gate, so the server never accepts anything
    # that browsers and third parties were told is invalid.
    if compiled.fullmatch(value) is None:
        raise FieldProblem("invalid_postal_code")
    compact = value.replace(" ", "").replace("-", "").upper()
    if region == "SE":
        return f"{compact[:3]} {compact[3:]}"
    if region == "US":
        return compact if len(compact) == 5 else f"{compact[:5]}-{compact[5:]}"
    if region == "GB":
        # The inward code is always digit + two letters, so the split point is
        # fixed from the end whatever the length of the outward code.
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


# -- the field type ----------------------------------------------------------------


class PostalCodeField(FieldModel):
    """A postal code; the region decides its format."""

    type: Literal["postal_code"]
    region: str


# Where postal codes are digits only, phones show their numeric keyboard.
_DIGITS_ONLY = ("FI", "SE", "NO", "DK", "DE", "EE", "US")


def _input(f: PostalCodeField) -> dict[str, str]:
    hints = {"control": "input", "type": "text", "autocomplete": "postal-code"}
    if f.region in _DIGITS_ONLY:
        hints["inputmode"] = "numeric"
    return hints


def _check(f: PostalCodeField, value: Any, prepared: Any, today: Any) -> str:
    return normalise_postal_code(as_string(value), f.region)


POSTAL_CODE = FieldType(
    name="postal_code",
    codes=("not_text", "invalid_postal_code"),
    model=PostalCodeField,
    schema=lambda f, p: string_schema(postal_code_pattern(f.region)),
    check=_check,
    input=_input,
    regions=POSTAL_REGIONS,
    examples={
        "invalid_postal_code": {
            "FI": "00100",
            "SE": "111 22",
            "NO": "0150",
            "DK": "1050",
            "DE": "10115",
            "EE": "10111",
            "US": "10001",
            "GB": "SW1A 1AA",
        },
    },
)
