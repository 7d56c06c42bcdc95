"""Telephone numbers, normalised to E.164 (``+358401234567``): the type phone.

:data:`PHONE_PATTERN` is a deliberately lenient *shape*: an optional leading
``+`` and then digits, spaces, ``-``, ``.``, ``(`` and ``)``, 5 to 30 characters
in all. Whether the number exists in a numbering plan is decided by
``phonenumbers``, which the pattern cannot express.

The pattern uses only the syntax shared by ECMAScript (including the ``v``
flag), Python ``re`` and RE2, and is meant to be full-matched: the caller wraps
it in ``^(?:...)$``.
"""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers
from pydantic import Field

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, fixed_input, string_schema
from intakeforms.fields.text import as_string

__all__ = ["PHONE", "PHONE_PATTERN", "PhoneField", "normalise_phone"]

# Two alternatives instead of ``\+?[...]{5,30}`` so that the 30-character
# limit includes the ``+``; lookaheads that could say it more briefly are not
# available in RE2. ``(``, ``)`` and ``-`` are escaped inside the class because
# the ECMAScript ``v`` flag rejects them bare there.
_PHONE_CHAR = r"[0-9 .\-\(\)]"
PHONE_PATTERN = rf"\+{_PHONE_CHAR}{{4,29}}|{_PHONE_CHAR}{{5,30}}"

_PHONE_RE = re.compile(PHONE_PATTERN)


def normalise_phone(value: str, region: str | None) -> str:
    """Return ``value`` as an E.164 string such as ``+358401234567``.

    ``region`` is the ISO 3166-1 alpha-2 code (upper case, e.g. ``"FI"``) used
    for numbers written without a country code; with ``None`` the number must
    start with ``+``. The number must be valid (not merely possible) in its
    numbering plan. Raises :class:`FieldProblem` ``invalid_phone`` for a bad
    number and :class:`KeyError` for a region ``phonenumbers`` does not know.
    """
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        # A programming or form-definition error, not the respondent's.
        raise KeyError(f"unsupported phone region: {region!r}")
    # The shape check must come first: phonenumbers itself converts vanity
    # letters (1-800-FLOWERS), full-width digits and "ext." suffixes, none of
    # which the published pattern admits.
    if _PHONE_RE.fullmatch(value) is None:
        raise FieldProblem("invalid_phone")
    if region is None and not value.startswith("+"):
        raise FieldProblem("invalid_phone")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise FieldProblem("invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise FieldProblem("invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- the field type ----------------------------------------------------------------


class PhoneField(FieldModel):
    """A phone number, normalised to E.164."""

    type: Literal["phone"]
    region: str | None = Field(
        default=None, description="Country assumed when the number has no +prefix (FI, SE…)."
    )


PHONE = FieldType(
    name="phone",
    codes=("not_text", "invalid_phone"),
    model=PhoneField,
    schema=lambda f, p: string_schema(PHONE_PATTERN),
    check=lambda f, v, p, t: normalise_phone(as_string(v), f.region),
    input=fixed_input(control="input", type="tel", autocomplete="tel", inputmode="tel"),
    regions=frozenset(phonenumbers.SUPPORTED_REGIONS),
    contact="call",
)
