"""The exception tree of intakeforms.

Every error the library raises on purpose is an ``IntakeError``::

    IntakeError
    ├── FormError          a form file a site owner wrote is wrong;
    │                      ``.problems`` lists each one with file:line:col
    ├── InvalidAnswers     a customer's answers do not fit the form;
    │                      ``.errors`` lists every problem as {field, code, message}
    ├── SettingsError      a setting (``INTAKE_*``, the settings file, the
    │                      store URL) has a value that cannot be used
    ├── UnstorableSubmission   a submission holds what no store can keep
    │                      (also a ValueError); ``.field`` and ``.code`` say
    │                      what, nothing is stored
    ├── StoreUnavailable   the submission store cannot be read or written
    │                      (locked, disk full, read-only, missing folder, server
    │                      down); the web layer answers 503 and never
    │                      acknowledges the post
    ├── LeaseLost          a delivery worker reported on an outbox job it no
    │                      longer holds (its lease ran out and another worker
    │                      took the job over); nothing was changed
    ├── LinkError          a signed link or token cannot be used
    │   ├── LinkDamaged    its signature does not hold, it was made for another
    │   │                  form or reference, it is malformed, or a portal's
    │   │                  JWT has the wrong audience, issuer or algorithm;
    │   │                  ``.reason`` says which
    │   └── LinkExpired    it was genuine but its time is over; ``.expired_at``
    └── DeliveryError      one delivery of one submission to one target failed
        ├── TransientDeliveryError   worth retrying (SMTP 4xx, connection lost,
        │                            HTTP 5xx or 429); also a ConnectionError
        └── PermanentDeliveryError   retrying cannot help (SMTP 5xx, HTTP 4xx,
            │                        a target the form no longer has)
            └── BuildError           the submission cannot be made into the
                                     mail, ticket or payload of its target (an
                                     answer no builder can format); ``.field``
                                     names the answer when it is known

Author mistakes and bad data are kept apart (as pydantic does): a ``FormError``
is for the person editing YAML and carries locations, an ``InvalidAnswers`` is
for the customer and carries translated messages. A ``StoreUnavailable`` is
for whoever runs the service: its message says what failed and how to fix it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "BuildError",
    "DeliveryError",
    "FieldError",
    "FormError",
    "IntakeError",
    "InvalidAnswers",
    "LeaseLost",
    "LinkDamaged",
    "LinkError",
    "LinkExpired",
    "PermanentDeliveryError",
    "Problem",
    "SettingsError",
    "StoreUnavailable",
    "TransientDeliveryError",
    "UnstorableSubmission",
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


class SettingsError(IntakeError):
    """A setting has a value that cannot be used; the message says what to write."""


class UnstorableSubmission(IntakeError, ValueError):
    """A submission holds something no store can keep; nothing was stored.

    ``field`` is the answer (or part of the submission, like ``client``)
    that is the matter, ``code`` a stable reason: ``lone_surrogate``,
    ``nul_character``, ``not_json`` or ``too_large``. It concerns this one
    submission only, so the web layer answers it with a 4xx, not 503. A
    ``ValueError`` too, as the store's checks of the caller's data are.
    """

    def __init__(self, field: str, code: str, message: str) -> None:
        self.field = field
        self.code = code
        super().__init__(message)


class StoreUnavailable(IntakeError):
    """The submission store failed; the message says what and how to fix it.

    Raised for every database failure (locked beyond the busy timeout, disk
    full, read-only file, missing folder, a server that cannot be reached or
    refuses the login, a closed store). Nothing was stored
    by the call that raised it, so the submission must not be acknowledged.
    """


class LeaseLost(IntakeError):
    """A worker reported on an outbox job it no longer holds; nothing changed.

    Raised by ``complete``, ``retry_later`` and ``dead_letter`` of a store
    when the job is not claimed by that worker any more: its lease ran out
    and another worker took it over, an operator requeued it, or it was
    deleted. The other worker's outcome stands, so the caller only logs this.
    ``status`` and ``claimed_by`` are the job's now (``status`` is None when
    the job no longer exists).
    """

    def __init__(
        self, job_id: int, worker: str, status: str | None, claimed_by: str | None
    ) -> None:
        self.job_id = job_id
        self.worker = worker
        self.status = status
        self.claimed_by = claimed_by
        if status is None:
            now = "it no longer exists"
        elif status == "claimed":
            now = (
                f"its lease ran out and worker {claimed_by!r} took it over; make "
                "lease_seconds longer than the slowest delivery"
            )
        else:
            now = (
                f"it is {status} now (another worker took it over after its lease ran "
                "out, or an operator requeued it)"
            )
        super().__init__(f"outbox job {job_id} is no longer claimed by worker {worker!r}: {now}")


class LinkError(IntakeError):
    """A signed link or token (a prefilled form, a status page, a draft)
    cannot be used. Its message never holds the token or a value in it."""


class LinkDamaged(LinkError):
    """The token is not one this service made for this form or reference.

    ``reason`` is a stable word for logs: ``signature`` (no secret verifies
    it: altered, cut short, or signed with a secret no longer listed),
    ``form`` (made for another form or reference), ``malformed`` (not a
    token, or its contents have the wrong shape), ``portal`` (a JWT while no
    portal key is set), ``audience``, ``issuer``, ``algorithm`` or
    ``not_yet`` (a portal JWT's ``aud``, ``iss``, ``alg`` or ``nbf``/``iat``
    does not hold).
    """

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(message or f"the link is damaged or not for this form ({reason})")

    def __reduce__(self) -> tuple[type[LinkDamaged], tuple[str, str]]:
        return (type(self), (self.reason, str(self)))


class LinkExpired(LinkError):
    """The token was genuine, but its time ran out at ``expired_at`` (UTC)."""

    def __init__(self, expired_at: dt.datetime) -> None:
        self.expired_at = expired_at
        super().__init__(f"the link expired at {expired_at:%Y-%m-%d %H:%M} UTC")

    def __reduce__(self) -> tuple[type[LinkExpired], tuple[dt.datetime]]:
        return (type(self), (self.expired_at,))


class DeliveryError(IntakeError):
    """One delivery of one submission to one target failed; the reason is
    kept on the outbox job for ``intakeforms outbox show``."""


class TransientDeliveryError(DeliveryError, ConnectionError):
    """Worth retrying later; ``retry_after`` is the target's own wish (seconds)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help; the job goes to the dead-letter state at once."""


class BuildError(PermanentDeliveryError):
    """The submission cannot be built into what its target takes.

    A build is pure computation on stored data, so what failed once fails
    every time: the job goes to the dead-letter state at once instead of
    using up its attempts. ``field`` is the answer that cannot be built
    when it could be told (None otherwise); ``cause`` is the type of the
    original exception, like ``InvalidOperation``. The message holds these
    and never the answer itself.
    """

    def __init__(self, message: str, field: str | None = None, cause: str = "") -> None:
        self.field = field
        self.cause = cause
        super().__init__(message)

    def __reduce__(self) -> tuple[type[BuildError], tuple[str, str | None, str]]:
        # Built in another process and raised in the worker: keep every part.
        return (type(self), (str(self), self.field, self.cause))
