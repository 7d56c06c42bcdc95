"""Text cleaned for people to read: no control characters, no bidi overrides.

An answer or a label may hold anything a browser sends. Shown in a mail, a
ticket or a header, a line break could start a line of its own and a bidi
override could reverse what an agent reads, so every text is reduced to one
clean line (:func:`one_line`) or, for a long answer, clean lines
(:func:`clean_lines`).
"""

from __future__ import annotations

import re

from intakeforms.language.headers import NOT_IN_LINE

__all__ = ["BIDI_CONTROLS", "cap", "clean_lines", "collapse_spaces", "one_line"]

#: The bidirectional embedding, override and isolate characters, for a
#: regular expression's character class.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"

# As NOT_IN_LINE, but keeping line breaks and tabs (a textarea's answer).
_NOT_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")
_SPACES = re.compile(" {2,}")


def collapse_spaces(text: str) -> str:
    """``text`` with every run of spaces made one space."""
    return _SPACES.sub(" ", text)


def one_line(text: str) -> str:
    """``text`` as one clean line: control characters become spaces."""
    return _SPACES.sub(" ", NOT_IN_LINE.sub(" ", text)).strip()


def clean_lines(text: str) -> str:
    """``text`` with its line breaks kept and every other control character dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_IN_TEXT.sub(" ", text).strip("\n")


def cap(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters, an ellipsis included."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
