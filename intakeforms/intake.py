"""Taking a submission in: validate, store with its delivery jobs, give a reference.

:func:`submit` is the one way a submission enters, whatever it came
through: the hosted HTML form, the JSON API and the widgets (through the
web service), the command line, or your own Python code. The web decides
what only it can know (the spam checks of its pages, uploaded files) and
hands the rest here; nothing in this module knows HTTP.

Each submission gets one outbox job per item of its form's ``deliver`` list
and one for the customer's confirmation; a :class:`JobTarget` names each
(stored as ``KIND:INDEX``, like ``zendesk:2``, or ``autoreply``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from intakeforms.form import Form
from intakeforms.language.target_kinds import AUTOREPLY_TARGET
from intakeforms.store import NewSubmission, Store, StoredFile
from intakeforms.validate import Answers

__all__ = ["Channel", "JobTarget", "Receipt", "delivery_targets", "job_targets", "submit"]

logger = logging.getLogger("intakeforms.intake")

#: Where a submission came from: the hosted page, the JSON API (widgets
#: included), the command line, or a Python caller.
Channel = Literal["html", "api", "cli", "python"]


@dataclass(frozen=True, slots=True)
class JobTarget:
    """What one outbox job delivers to: item ``index`` of the form's
    ``deliver`` list, of ``kind``; or the confirmation (``autoreply``, no index)."""

    kind: str
    index: int | None = None

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    @property
    def autoreply(self) -> bool:
        """Whether this is the customer's confirmation."""
        return self.kind == AUTOREPLY_TARGET and self.index is None

    @classmethod
    def parse(cls, name: str) -> JobTarget | None:
        """The target an outbox job's name stands for; None for a name no
        version of this package writes."""
        if name == AUTOREPLY_TARGET:
            return cls(AUTOREPLY_TARGET)
        kind, colon, index = name.partition(":")
        if not kind or not colon or not (index.isascii() and index.isdigit()):
            return None
        return cls(kind, int(index))


def job_targets(form: Form, answers: Mapping[str, Any]) -> list[JobTarget]:
    """One job per deliver item, and the confirmation when the form confirms
    to the customer and the customer gave an address. (A spam submission
    gets none of them: the store sees to that, so that a robot's made-up
    address never receives mail.)"""
    targets = [JobTarget(item.kind, index) for index, item in enumerate(form.definition.deliver)]
    if form.definition.autorespond is not None:
        field = form.field_with_role("reply_to")
        address = answers.get(field.name) if field is not None else None
        if isinstance(address, str) and address.strip():
            targets.append(JobTarget(AUTOREPLY_TARGET))
    return targets


def delivery_targets(form: Form, answers: Mapping[str, Any]) -> list[str]:
    """The outbox's names of :func:`job_targets` (``zendesk:2``, ``autoreply``)."""
    return [str(target) for target in job_targets(form, answers)]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What :func:`submit` did: the reference to show the customer.

    ``created`` is False when ``idempotency_key`` was seen before for this
    form: the earlier submission's reference comes back and nothing new is
    stored. ``spam`` says it was kept for review, with no deliveries.
    """

    reference: str
    created: bool
    spam: bool
    channel: Channel
    answers: Answers


async def submit(
    store: Store,
    form: Form,
    answers: Mapping[str, Any],
    *,
    channel: Channel = "python",
    locale: str | None = None,
    files: Sequence[StoredFile] = (),
    spam_reason: str | None = None,
    idempotency_key: str | None = None,
    client: str | None = None,
) -> Receipt:
    """Validate ``answers``, store them with their delivery jobs, and return
    the :class:`Receipt` once the store has written both.

    ``answers`` that :meth:`Form.validate` already returned are not checked
    again; any other mapping is, and raises :class:`~intakeforms.InvalidAnswers`
    with messages in ``locale`` (else the form's default language), the
    language the submission is also stored and confirmed in. ``files`` are
    uploads already in the store's upload folder. A ``spam_reason`` keeps the
    submission for review (``intakeforms spam``) without deliveries.
    ``client`` (an address, for rate limits) is stored apart from the answers.
    A new submission is logged (``intakeforms.intake``, INFO) by form,
    reference and ``channel`` only.

    Raises :class:`~intakeforms.StoreUnavailable` when nothing could be
    written (try again), :class:`~intakeforms.UnstorableSubmission` when this
    submission alone cannot be kept (an answer the database refuses).
    """
    locale = locale if locale in form.locales else form.default_locale
    clean = answers if isinstance(answers, Answers) else form.validate(answers, locale=locale)
    result = await store.save(
        NewSubmission(
            form=form.id,
            form_version=form.version,
            reference_prefix=form.reference_prefix,
            locale=locale,
            data=dict(clean),
            files=files,
            targets=delivery_targets(form, clean),
            spam=spam_reason is not None,
            spam_reason=spam_reason or "",
            idempotency_key=idempotency_key,
            client=client,
        )
    )
    if result.created:
        # References and form ids only: the answers and the address stay out of logs.
        logger.info(
            "%s: stored %s via %s%s",
            form.id,
            result.reference,
            channel,
            " as spam, kept for review" if spam_reason is not None else "",
        )
    return Receipt(
        reference=result.reference,
        created=result.created,
        spam=spam_reason is not None,
        channel=channel,
        answers=clean,
    )
