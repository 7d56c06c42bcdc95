"""Which extra mail headers a form's email target may add (``headers:``).

A question of the form language, checked when the form loads, and again by
the mail before it sends: only ``X-`` names that nothing of intakeforms
sets, each with one line of text. Extra headers come from configuration,
never from answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["EXTRA_HEADER_NAME", "NOT_IN_LINE", "check_extra_headers"]

#: Names an ``extra_headers`` entry may have: ``X-`` headers (``X-Zammad-…``,
#: ``X-OTRS-…``, ``X-Priority``), which only filters and helpdesks read.
#: ``X-Intake-…`` is ours and refused, as is every standard header (``To``,
#: ``Bcc``, ``Reply-To``…): those decide where the mail goes.
EXTRA_HEADER_NAME = re.compile(r"X-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")

# Control characters (CR and LF forge headers and lines), the Unicode line
# and paragraph separators, and bidi overrides and isolates (they make text
# read differently from what it is, the "Trojan source" trick).
_BIDI = "\u202a-\u202e\u2066-\u2069"

#: What a line of text written into a header or a mail may not hold.
NOT_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")


def check_extra_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """``headers`` as ``(name, value)`` pairs, or ``ValueError`` naming the
    first one that is not allowed.

    A name must match :data:`EXTRA_HEADER_NAME` and not start with
    ``X-Intake-``; a value must be text of one line with no control
    characters. Extra headers come from configuration, never from answers.
    """
    checked: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not EXTRA_HEADER_NAME.fullmatch(name) or len(name) > 76:
            raise ValueError(
                f"extra header {name!r} is not allowed; only X-… names (letters, digits "
                "and dashes) may be added, never To, Cc, Bcc, Reply-To or the like"
            )
        if name.lower().startswith("x-intake-") or name.lower() == "x-auto-response-suppress":
            raise ValueError(f"extra header {name!r} is set by intakeforms itself")
        if not isinstance(value, str) or NOT_IN_LINE.search(value) or len(value) > 900:
            raise ValueError(
                f"extra header {name!r} must have a value of one line of text (at most "
                "900 characters, no line breaks or other control characters)"
            )
        checked.append((name, value.strip()))
    return checked
