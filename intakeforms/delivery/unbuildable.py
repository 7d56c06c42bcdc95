"""Why a submission cannot be built, told without repeating its answers.

Building a mail, ticket or webhook payload is computation on stored data:
when it fails, it fails again on every retry. The worker dead-letters such
a job at once (:class:`~intakeforms.errors.BuildError`), and the reason
must say which answer is at fault without showing it: the exception's own
message may carry the value (``Exceeds the limit (4300 digits)…`` is
harmless, a ``ValueError`` quoting a date is not).

:func:`build_error` finds the answer by building again: once without each
answer in turn (the one whose absence lets the build succeed is at fault),
and once without any answer (a failure then is the form's or the
settings' — a bad ``mail_from`` — and its message, about configuration,
is kept). Only on failure, so it costs nothing when mail flows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from intakeforms.delivery.scrub import Scrubber, one_line
from intakeforms.errors import BuildError, DeliveryError

if TYPE_CHECKING:
    from intakeforms.store.base import StoredSubmission

__all__ = ["build_error", "transient"]

#: Builds what the target takes from a submission; raises what the build raises.
Probe = Callable[["StoredSubmission"], object]


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` says nothing about the data: worth another try."""
    # Out of memory is the machine's state, not the submission's; a build
    # process that died is handled where the processes are.
    return isinstance(exc, MemoryError | DeliveryError)


def _fails(probe: Probe, submission: StoredSubmission, like: BaseException) -> bool | None:
    """Whether the build of ``submission`` fails: True the same way as
    ``like``, None another way, False not at all."""
    try:
        probe(submission)
    except Exception as exc:
        return True if type(exc) is type(like) else None
    return False


def build_error(
    what: str,
    exc: Exception,
    submission: StoredSubmission,
    probe: Probe,
    scrub: Scrubber | None = None,
) -> BuildError:
    """The :class:`BuildError` for ``exc``, raised building ``what`` (like
    ``the agent email``) from ``submission`` with ``probe``; its message
    names the answer at fault and the exception's type, never the answer."""
    cause = type(exc).__name__
    retry = "then replay the job with intakeforms outbox retry"
    scrub = scrub or Scrubber.of(submission)
    bare = dataclasses.replace(submission, data={}, files=())
    try:
        probe(bare)
    except Exception as again:
        if type(again) is type(exc) and str(again) == str(exc):
            # The same failure without a single answer: the form or the
            # settings, whose message (about configuration) is worth keeping.
            said = one_line(scrub(str(exc))) or cause
            return BuildError(f"cannot build {what}: {said}", None, cause)
    data = submission.data
    for name in data:
        rest = {k: v for k, v in data.items() if k != name}
        if _fails(probe, dataclasses.replace(submission, data=rest), exc) is False:
            return _at_fault(what, name, cause, retry)
    for file in submission.files:
        others = tuple(f for f in submission.files if f is not file)
        if _fails(probe, dataclasses.replace(submission, files=others), exc) is False:
            return _at_fault(what, file.field, cause, retry)
    # More than one answer at fault: each fails on its own.
    alone = [
        name
        for name, value in data.items()
        if _fails(probe, dataclasses.replace(bare, data={name: value}), exc)
    ]
    if alone:
        names = ", ".join(repr(one_line(n, 100)) for n in alone)
        return BuildError(
            f"cannot build {what}: the stored answers to {names} cannot be written "
            f"({cause}); correct or erase the submission, {retry}",
            alone[0],
            cause,
        )
    return BuildError(
        f"cannot build {what} from the stored answers ({cause}); correct or erase "
        f"the submission, {retry}",
        None,
        cause,
    )


def _at_fault(what: str, name: str, cause: str, retry: str) -> BuildError:
    field = one_line(name, 100)
    return BuildError(
        f"cannot build {what}: the stored answer to {field!r} cannot be written "
        f"({cause}), as the form does not accept it; correct or erase the "
        f"submission, {retry}",
        field,
        cause,
    )
