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

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from intakeforms.errors import InvalidAnswers
from intakeforms.fields import FieldProblem
from intakeforms.fields.phone import normalise_phone
from intakeforms.fields.registry import TYPES
from intakeforms.form import Form
from intakeforms.language.target_kinds import AUTOREPLY_TARGET
from intakeforms.store import NewSubmission, Store, StoredFile
from intakeforms.validate import Answers, check_partial, contact_questions

__all__ = [
    "Channel",
    "JobTarget",
    "Receipt",
    "checked",
    "contact_keys",
    "delivery_targets",
    "incomplete",
    "job_targets",
    "submit",
]

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


def incomplete(context: Mapping[str, Any] | None) -> bool:
    """Whether a submission's ``context`` marks an incomplete contact (the
    customer chose to talk to a person before answering every question)."""
    return context is not None and context.get("incomplete") is not None


def _stored_context(context: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``context`` as the store keeps it: a JSON-able dict, None when empty.

    ``ValueError`` names what cannot be stored: a caller's mistake, found
    before anything is written.
    """
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise ValueError(f"context must be a mapping or None, not {type(context).__name__}")
    if not context:
        return None
    try:
        # A round trip: the stored context is plain JSON, whatever mapping came in.
        copied: dict[str, Any] = json.loads(json.dumps(dict(context), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"context must be JSON-able (dicts, lists, text, numbers): {exc}"
        ) from None
    return copied


_PLAIN_ADDRESS = re.compile(r"[^@\s]+@[A-Za-z0-9.-]+")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _contact_text(kind: str, value: Any, region: str | None) -> str | None:
    """One contact answer as it is compared: an address casefolded in the
    ASCII form email-validator gives it (the domain in IDNA), a phone number
    in E.164; None when the answer is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    # Stored and validated answers are normalised already (an ASCII address
    # as email-validator writes it, a number in E.164): the libraries are
    # asked only for what may still differ, which spares every submission
    # and delivery a parse.
    if kind == "write" and value.isascii() and _PLAIN_ADDRESS.fullmatch(value):
        return f"email:{value.casefold()}"
    if kind == "call" and _E164.fullmatch(value):
        return f"phone:{value}"
    if kind == "write":
        try:
            checked = validate_email(value.strip(), check_deliverability=False)
        except EmailNotValidError:
            return None
        # ascii_email is None only for a non-ASCII local part: then the
        # normalised (NFC) address, whose domain is IDNA-decoded alike.
        return f"email:{(checked.ascii_email or checked.normalized).casefold()}"
    if kind == "call":
        try:
            return f"phone:{normalise_phone(value.strip(), region)}"
        except (FieldProblem, KeyError):
            return None
    return None


def contact_keys(form: Form, answers: Mapping[str, Any], secret: str) -> tuple[str, ...]:
    """The customer's contact keys: for each answer that lets the service
    reach the customer (:func:`~intakeforms.validate.contact_questions`: an
    email address to write to, a phone number to call), the hex HMAC-SHA256
    under ``secret`` of the normalised answer (an address casefolded, its
    domain in IDNA ASCII; a number in E.164). Each key once, in the order of
    the questions.

    Two submissions with the same address or number, however written, get
    the same key under the same secret, so the store finds a customer's
    earlier contacts by key without keeping the address itself; without the
    secret a key cannot be turned back into it, nor matched against a list
    of addresses.
    """
    if not secret:
        raise ValueError("contact_keys needs a secret (INTAKE_SECRET); it is empty")
    key = secret.encode("utf-8")
    found: dict[str, None] = {}
    for name in contact_questions(form):
        field = form.fields[name]
        kind = TYPES[field.type].contact
        text = _contact_text(kind or "", answers.get(name), getattr(field, "region", None))
        if text is not None:
            found[hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()] = None
    return tuple(found)


def checked(
    form: Form,
    answers: Mapping[str, Any],
    *,
    locale: str,
    context: Mapping[str, Any] | None = None,
) -> tuple[Answers, dict[str, Any] | None]:
    """The answers and the context as :func:`submit` stores them.

    ``answers`` that :meth:`Form.validate` or
    :func:`~intakeforms.validate.check_partial` returned are taken as they
    are. Others are validated in ``locale``; those of an incomplete contact
    (:func:`incomplete`) by ``check_partial``, with the context's
    ``incomplete.missing`` filled in from them. Raises
    :class:`~intakeforms.InvalidAnswers`, or ``ValueError`` for a context
    that is not JSON-able.
    """
    stored = _stored_context(context)
    if isinstance(answers, Answers):
        return answers, stored
    if stored is None or not incomplete(stored):
        return form.validate(answers, locale=locale), stored
    clean, missing, errors = check_partial(form, answers, locale)
    if errors:
        raise InvalidAnswers(errors)
    given = stored["incomplete"]
    stored["incomplete"] = {**(given if isinstance(given, dict) else {}), "missing": missing}
    return clean, stored


@dataclass(frozen=True, slots=True)
class Receipt:
    """What :func:`submit` did: the reference to show the customer.

    ``created`` is False when ``idempotency_key`` was seen before for this
    form: the earlier submission's reference comes back and nothing new is
    stored. ``spam`` says it was kept for review, with no deliveries.
    ``context`` is the one stored with it (an incomplete contact's with its
    ``missing`` questions filled in), None when there was none.
    """

    reference: str
    created: bool
    spam: bool
    channel: Channel
    answers: Answers
    context: dict[str, Any] | None = None


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
    context: Mapping[str, Any] | None = None,
    draft: str | None = None,
    secret: str | None = None,
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

    ``context`` is what the agent should know beside the answers, stored
    with them and shown in the agent email, tickets and webhooks::

        {"faq": {"search": ID, "shown": [{"faq", "entry", "question"}]},
         "incomplete": {"missing": [question names]}}

    (either key optional; JSON-able, and never the customer's own text). A
    context with ``incomplete`` is a contact sent before every question was
    answered: its answers are checked by
    :func:`~intakeforms.validate.check_partial` instead (raising
    :class:`~intakeforms.InvalidAnswers` only when nothing lets the service
    reach the customer) and ``missing`` is filled in from them; answers that
    ``check_partial`` already returned are taken, with the caller's
    ``missing``, as they are. It is delivered like any other submission.
    A context may also say which answers came from a prefilled link
    (``"link": {"given": [names], "locked": [names]}``) and which hidden
    answers the page gave (``"page": [names]``): the agent email marks them.

    ``draft`` is the id of the draft these answers continue (read from its
    ``?d=`` link): the store deletes that draft with the save. ``secret``
    (the first of ``INTAKE_SECRET``) makes the customer's contact keys
    (:func:`contact_keys`), stored with the submission so that agents see
    the customer's earlier contacts; None stores none (no history). A spam
    submission gets no keys either.

    A new submission is logged (``intakeforms.intake``, INFO) by form,
    reference, ``channel`` and whether it is incomplete, only.

    Raises ``ValueError`` for a ``context`` that is not JSON-able,
    :class:`~intakeforms.StoreUnavailable` when nothing could be
    written (try again), :class:`~intakeforms.UnstorableSubmission` when this
    submission alone cannot be kept (an answer the database refuses).
    """
    locale = locale if locale in form.locales else form.default_locale
    clean, stored_context = checked(form, answers, locale=locale, context=context)
    partial = incomplete(stored_context)
    spam = spam_reason is not None
    keys = contact_keys(form, clean, secret) if secret is not None and not spam else ()
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
            context=stored_context,
            draft=draft,
            contact_keys=keys,
        )
    )
    if result.created:
        # References and form ids only: the answers and the address stay out of logs.
        logger.info(
            "%s: stored %s via %s%s%s",
            form.id,
            result.reference,
            channel,
            " (incomplete)" if partial else "",
            " as spam, kept for review" if spam_reason is not None else "",
        )
    return Receipt(
        reference=result.reference,
        created=result.created,
        spam=spam_reason is not None,
        channel=channel,
        answers=clean,
        context=stored_context,
    )
