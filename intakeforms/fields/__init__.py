"""Per-type checks and normalisation of answers.

Each checker takes an already-stripped string (or a JSON value) and returns the
normalised value or raises :class:`FieldProblem` with a stable code. The input
patterns exported next to each checker are the very patterns the compiled JSON
Schema publishes, so the server, the widgets and third parties agree on shape;
the checkers add what a pattern cannot say (checksums, number plans).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FieldProblem"]


class FieldProblem(ValueError):
    """An answer is wrong; ``code`` is stable, ``params`` fill the message."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(code)
