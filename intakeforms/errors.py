"""The exception tree of intakeforms.

Every error the library raises on purpose is an ``IntakeError``::

    IntakeError
    ├── FormError          a form file a site owner wrote is wrong;
    │                      ``.problems`` lists each one with file:line:col
    ├── InvalidAnswers     a customer's answers do not fit the form;
    │                      ``.errors`` lists every problem as {field, code, message}
    └── StoreUnavailable   the submission store cannot be read or written
                           (locked, disk full, read-only, missing folder); the
                           web layer answers 503 and never acknowledges the post

Author mistakes and bad data are kept apart (as pydantic does): a ``FormError``
is for the person editing YAML and carries locations, an ``InvalidAnswers`` is
for the customer and carries translated messages. A ``StoreUnavailable`` is
for whoever runs the service: its message says what failed and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FieldError",
    "FormError",
    "IntakeError",
    "InvalidAnswers",
    "Problem",
    "StoreUnavailable",
]


class IntakeError(Exception):
    """The root of every error intakeforms raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a form file, with where it is and a stable code."""

    file: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FormError(IntakeError):
    """A form file cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one answer: the field's name, a stable code, a message."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape used by the HTTP API."""
        return {"field": self.field, "code": self.code, "message": self.message}


class InvalidAnswers(IntakeError):
    """The answers do not fit the form; ``errors`` lists every problem at once."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        listed = "; ".join(f"{e.field}: {e.message} ({e.code})" for e in errors)
        super().__init__(f"{len(errors)} invalid answer(s): {listed}")


class StoreUnavailable(IntakeError):
    """The submission store failed; the message says what and how to fix it.

    Raised for every database failure (locked beyond the busy timeout, disk
    full, read-only file, missing folder, a closed store). Nothing was stored
    by the call that raised it, so the submission must not be acknowledged.
    """
