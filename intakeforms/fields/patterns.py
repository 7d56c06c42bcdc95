"""Site owners' ``pattern`` keys: accepted only where every engine agrees."""

from __future__ import annotations

import re
import warnings
from typing import Any

import re2

__all__ = ["PatternError", "compile_pattern", "compile_site_pattern"]

#: Syntax that one of the engines reading a pattern (RE2 here, Python's
#: engine in JSON Schema validators, ECMAScript in browsers) reads differently
#: or not at all: inline flags, named groups, Python-only anchors.
_NOT_PORTABLE = re.compile(r"\(\?(?!:)|\\[AZzhHR]")


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    return options


def compile_pattern(pattern: str) -> Any:
    """Compile a site owner's pattern with RE2, which runs in linear time.

    Raises ``ValueError`` with the engine's reason when RE2 refuses it (for
    example backreferences or lookaround, which can take exponential time).
    """
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(str(reason)) from None


class PatternError(ValueError):
    """A pattern is refused; ``code`` is ``unsafe_pattern`` or ``invalid_pattern``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def compile_site_pattern(pattern: str) -> Any:
    """Compile a site owner's pattern with RE2, or raise :class:`PatternError`.

    A pattern is accepted only if every engine that will read it agrees:
    RE2 on the server (linear time), Python's engine in JSON Schema
    validators, and ECMAScript in browsers.
    """
    python_error = _python_pattern_error(pattern)
    try:
        compiled = compile_pattern(pattern)
    except ValueError as exc:
        if python_error is None:
            # Python's backtracking engine reads it, RE2 does not: a
            # backreference or lookaround, which can take exponential time.
            raise PatternError(
                "unsafe_pattern",
                f"the pattern is refused: {exc}. Patterns run on a linear-time engine "
                "(RE2): backreferences and lookaround are not available",
            ) from None
        python_error = str(exc)
    if python_error is None and _NOT_PORTABLE.search(pattern):
        python_error = (
            "inline flags, named groups and \\A \\Z anchors are read differently by browsers"
        )
    if python_error is not None:
        raise PatternError(
            "invalid_pattern",
            f"the pattern does not work in every validator: {python_error}; keep to the "
            "common syntax (classes, groups, quantifiers, alternation)",
        )
    return compiled


def _python_pattern_error(pattern: str) -> str | None:
    """Why Python's engine (used by JSON Schema validators) refuses the
    published, whole-value form of ``pattern``, or None."""
    with warnings.catch_warnings():
        # "Possible nested set" and the like: syntax whose meaning will change.
        warnings.simplefilter("error")
        try:
            re.compile(pattern)
            re.compile(f"^(?:{pattern})$")
        except (re.error, FutureWarning, DeprecationWarning) as exc:
            return str(exc)
    return None
