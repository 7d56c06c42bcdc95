"""Vehicle registration plates (ordinary, non-personalised series only): the
type plate.

Each region has an *input* pattern, published in the JSON Schema, and a
canonical form that the normaliser returns:

====== ======================================== ============== ===============
region shape                                    letters        canonical
====== ======================================== ============== ===============
FI     2-3 letters, 1-3 digits                  A-Z, Å, Ä, Ö   ``ABC-123``
SE     3 letters, 2 digits, digit or letter     see below      ``ABC 123``
NO     2 letters, 4 or 5 digits                 A-Z            ``AB 12345``
DK     2 letters, 5 digits                      A-Z            ``AB 12 345``
EE     3 digits, 3 letters                      A-Z            ``123 ABC``
====== ======================================== ============== ===============

Input may be in either case and may have one space or hyphen between the
letter and digit groups (DK also accepts the printed ``AB 12 345`` grouping).

Deliberate limits, so that a caller knows what is *not* covered: personalised
("vanity") plates and diplomatic, military, trade and temporary plates are
rejected. Offensive letter combinations that the
authorities never issue are not modelled; the checker answers "could this be an
ordinary plate", not "was this plate issued".

Patterns use only the syntax shared by ECMAScript (including the ``v`` flag
used by HTML ``pattern``), Python ``re`` and RE2, and are meant to be
full-matched: the caller wraps them in ``^(?:...)$``.
"""

from __future__ import annotations

import re
from typing import Literal

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, fixed_input, string_schema
from intakeforms.fields.text import as_string

__all__ = ["PLATE", "PLATE_REGIONS", "PlateField", "normalise_plate", "plate_pattern"]

PLATE_REGIONS: tuple[str, ...] = ("FI", "SE", "NO", "DK", "EE")

# Finnish ordinary plates draw on the whole Finnish alphabet, so Å, Ä and Ö
# do occur (Åland plates start with ÅL, e.g. ÅLA-123). Only the precomposed
# (NFC) code points are accepted: the pattern is a plain character class, and a
# normaliser that quietly composed NFD input would accept strings that the
# published pattern rejects.
_FI_LETTER = "A-ZÅÄÖa-zåäö"

# Swedish plates use 23 of the 29 letters of the Swedish alphabet: I, Q, V, Å,
# Ä and Ö are never issued, to avoid misreadings (1, O, W, A). Since 2019 the
# last character may be a letter too; O is not used there, because in that
# position it would be read as the digit 0.
_SE_LETTER = "A-HJ-PR-UW-Za-hj-pr-uw-z"
_SE_LAST = "0-9A-HJ-NPR-UW-Za-hj-npr-uw-z"

# Norway, Denmark and Estonia issue from A-Z without their national letters
# (Æ, Ø, Å, Õ, Ä, Ö, Ü). Each skips a few more letters in practice, but the
# published lists disagree, so rejecting them would risk refusing real plates.
_ASCII_LETTER = "A-Za-z"

# A hyphen inside a class is escaped because the ECMAScript ``v`` flag (which
# browsers use for the HTML ``pattern`` attribute) rejects a bare one there.
_SEP = r"[ \-]?"

_PATTERNS: dict[str, str] = {
    "FI": f"[{_FI_LETTER}]{{2,3}}{_SEP}[0-9]{{1,3}}",
    "SE": f"[{_SE_LETTER}]{{3}}{_SEP}[0-9]{{2}}[{_SE_LAST}]",
    "NO": f"[{_ASCII_LETTER}]{{2}}{_SEP}[0-9]{{4,5}}",
    "DK": f"[{_ASCII_LETTER}]{{2}}{_SEP}[0-9]{{2}} ?[0-9]{{3}}",
    "EE": f"[0-9]{{3}}{_SEP}[{_ASCII_LETTER}]{{3}}",
}

_COMPILED: dict[str, re.Pattern[str]] = {
    region: re.compile(pattern) for region, pattern in _PATTERNS.items()
}


def plate_pattern(region: str) -> str:
    """Return the input pattern for plates of ``region`` (one of PLATE_REGIONS).

    The pattern describes every string that :func:`normalise_plate` accepts for
    the region, is meant to be full-matched, and raises :class:`KeyError` for a
    region outside :data:`PLATE_REGIONS`.
    """
    try:
        return _PATTERNS[region]
    except KeyError:
        raise KeyError(f"unsupported plate region: {region!r}") from None


def normalise_plate(value: str, region: str) -> str:
    """Return the canonical upper-case form of the plate ``value`` for ``region``.

    Raises :class:`FieldProblem` ``invalid_plate`` if ``value`` is not the
    shape of an ordinary plate of the region, and :class:`KeyError` for a
    region outside :data:`PLATE_REGIONS`.
    """
    compiled = _COMPILED.get(region)
    if compiled is None:
        raise KeyError(f"unsupported plate region: {region!r}")
    # The published pattern is the gate, so whatever is accepted here is
    # exactly what browsers and third parties were told would be accepted.
    if compiled.fullmatch(value) is None:
        raise FieldProblem("invalid_plate")
    compact = value.replace(" ", "").replace("-", "").upper()
    if region == "FI":
        # The letter group is 2 or 3 long, so find where the digits start.
        split = next(i for i, char in enumerate(compact) if char.isdigit())
        return f"{compact[:split]}-{compact[split:]}"
    if region == "DK":
        return f"{compact[:2]} {compact[2:4]} {compact[4:]}"
    if region == "NO":
        return f"{compact[:2]} {compact[2:]}"
    # SE and EE: both have a fixed three-character first group.
    return f"{compact[:3]} {compact[3:]}"


# -- the field type ----------------------------------------------------------------


class PlateField(FieldModel):
    """A vehicle registration plate; the region decides its format."""

    type: Literal["plate"]
    region: str


PLATE = FieldType(
    name="plate",
    codes=("not_text", "invalid_plate"),
    model=PlateField,
    schema=lambda f, p: string_schema(plate_pattern(f.region)),
    check=lambda f, v, p, t: normalise_plate(as_string(v), f.region),
    input=fixed_input(
        control="input",
        type="text",
        autocomplete="off",
        autocapitalize="characters",
        spellcheck="false",
    ),
    regions=PLATE_REGIONS,
    examples={"invalid_plate": {"FI": "ABC-123", "SE": "ABC 123", "NO": "AB 12345"}},
)
