"""Answers → the normalised submission, or every problem at once.

Each field type's entry (:mod:`intakeforms.fields.registry`) checks its
answers: it takes the raw answer and returns the normalised value or raises
:class:`~intakeforms.fields.FieldProblem`; :func:`validate_answers` runs them in
condition order, drops questions whose ``when`` is false, and turns problems
into translated :class:`~intakeforms.errors.FieldError` s.

:func:`check_partial` takes an incomplete contact ("Talk to a person"): the
valid answers so far and what is still missing, refused only when nothing
given lets the service answer the customer (:func:`contact_questions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from intakeforms.errors import FieldError, InvalidAnswers
from intakeforms.fields import FieldProblem
from intakeforms.fields.registry import TYPES, on_change
from intakeforms.fields.text import has_surrogates, is_storable
from intakeforms.i18n import N_, format_value, gettext_for
from intakeforms.language.conditions import evaluate
from intakeforms.present.texts import localized

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.language.rules import Analysis

__all__ = [
    "LABELLED_MESSAGES",
    "MESSAGES",
    "PARTIAL_MESSAGES",
    "Answers",
    "check_answer",
    "check_answers",
    "check_partial",
    "contact_questions",
    "custom_message",
    "required_message",
    "validate_answers",
]


class Answers(dict[str, Any]):
    """Normalised answers by field name, in the form's order.

    Its ``repr`` masks answers of ``sensitive`` fields, so logging a
    submission never writes an identity code or a health detail.
    """

    def __init__(self, values: Mapping[str, Any], sensitive: frozenset[str]) -> None:
        super().__init__(values)
        self.sensitive = sensitive

    def redacted(self) -> dict[str, Any]:
        """A copy with every sensitive answer replaced by ``"***"``."""
        return {k: ("***" if k in self.sensitive else v) for k, v in self.items()}

    def __repr__(self) -> str:
        return f"Answers({self.redacted()!r})"


def check_answer(field: Any, value: Any, analysis: Analysis, today: dt.date | None = None) -> Any:
    """One answer for one field: its normalised value, or ``FieldProblem``."""
    prepared = analysis.prepared.get(field.name)
    return TYPES[field.type].check(field, value, prepared, today or dt.date.today())


def is_blank(value: Any) -> bool:
    """No answer: missing, null, an empty or all-space string, an empty list.

    HTML forms post empty strings for empty inputs, so these mean "not
    answered" rather than "answered with nothing".
    """
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


#: Every data error code and its English message; ``{min}``/``{max}`` and the
#: like are filled with values formatted for the customer's language.
MESSAGES: dict[str, str] = {
    "not_object": N_("The answers must be a JSON object with one key per question."),
    "unknown_field": N_("This form has no such question."),
    "required": N_("Please answer this question."),
    "not_text": N_("Enter text."),
    "control_characters": N_("Remove line breaks and other control characters."),
    "invalid_text": N_("The answer contains characters that cannot be stored. Type it again."),
    "too_short": N_("Enter at least {min} characters."),
    "too_long": N_("Enter at most {max} characters."),
    "pattern": N_("The answer is not in the expected format."),
    "not_integer": N_("Enter a whole number."),
    "not_number": N_("Enter a number."),
    "too_small": N_("Enter {min} or more."),
    "too_large": N_("Enter {max} or less."),
    "number_too_large": N_("The number is too large: use at most 15 digits."),
    "not_boolean": N_("Answer yes or no."),
    "consent_required": N_("Tick the box to continue."),
    "invalid_choice": N_("Pick one of the listed answers."),
    "duplicate_choice": N_("Pick each answer only once."),
    "not_list": N_("Pick answers from the list."),
    "too_few_choices": N_("Pick at least {min}."),
    "too_many_choices": N_("Pick at most {max}."),
    "invalid_email": N_("Enter an email address, like name@example.com."),
    "invalid_phone": N_("Enter a phone number, with the country code if it is not local."),
    "invalid_url": N_("Enter a web address starting with https://."),
    "invalid_date": N_("Enter a date as YYYY-MM-DD."),
    "date_too_early": N_("Pick {min} or later."),
    "date_too_late": N_("Pick {max} or earlier."),
    "invalid_time": N_("Enter a time as HH:MM."),
    "time_too_early": N_("Pick {min} or later."),
    "time_too_late": N_("Pick {max} or earlier."),
    "invalid_file": N_("The file could not be read."),
    "file_type": N_("This type of file is not accepted. Use: {types}."),
    "file_too_large": N_("The file is too large; the limit is {max} MB."),
    "too_many_files": N_("Attach at most {max} files."),
    "invalid_plate": N_("Enter a registration plate, like {example}."),
    "invalid_vin": N_("Enter the 17-character vehicle identification number (VIN)."),
    "vin_check_digit": N_("Check the VIN: one of its characters seems mistyped."),
    "invalid_iban": N_("Enter a valid IBAN account number, like {example}."),
    "invalid_postal_code": N_("Enter a postal code, like {example}."),
    "invalid_national_id": N_("Enter a valid personal identity code."),
    "invalid_business_id": N_("Enter a valid business ID, like {example}."),
}


#: Messages that name the question by its label, where the customer reads
#: them: a label is often not a question ("Email", "Sähköposti"), so "answer
#: this question" reads wrong beside it, and a list of errors away from the
#: questions (the chat, an API client's log) needs to say which. Quoting the
#: label keeps it as written, uninflected (Finnish would inflect it after a
#: verb). The plain texts of :data:`MESSAGES` remain for where no label is
#: known (the widgets' own checks).
LABELLED_MESSAGES: dict[str, str] = {
    # Translators: {label} is the question's label as the form writes it.
    "required": N_("Please fill in “{label}”."),
}


#: Example answers by region, by problem code, gathered from the types on
#: first use: every invalid answer asks, so one lookup, not one per type.
_EXAMPLES: dict[str, Mapping[str, str]] = {}
on_change(_EXAMPLES.clear)


def _examples(code: str) -> Mapping[str, str]:
    """Example answers by region for the problem ``code``, from its type."""
    if not _EXAMPLES:
        for entry in TYPES.values():
            for problem, examples in entry.examples.items():
                _EXAMPLES.setdefault(problem, examples)
    return _EXAMPLES.get(code, {})


def message_for(field: Any, problem: FieldProblem, locale: str | None) -> str:
    """The problem's message in ``locale``, with its values formatted there."""
    params: dict[str, str] = {}
    # vars(): a missing attribute on a pydantic model is slow to find out.
    unit = vars(field).get("unit")
    unit_text = ""
    if unit:
        unit_text = localized(unit, locale)
    for key, value in problem.params.items():
        if problem.code == "file_too_large":
            value = round(value / 1_000_000, 1)
        text = format_value(value, locale)
        if key in ("min", "max") and unit_text and problem.code in ("too_small", "too_large"):
            text = f"{text}\u00a0{unit_text}"
        params[key] = text
    region = vars(field).get("region")
    examples = _examples(problem.code)
    params["example"] = examples.get(region or "", next(iter(examples.values()), ""))
    own = custom_message(field, problem.code, locale)
    if own is not None:
        # The author's text is not a format string: a brace written in it
        # stays, and only the placeholders the built-in text has are filled.
        for key, value in params.items():
            own = own.replace("{" + key + "}", value)
        return own
    template = gettext_for(MESSAGES.get(problem.code, MESSAGES["pattern"]), locale)
    return template.format(**params)


def custom_message(field: Any, code: str, locale: str | None) -> str | None:
    """The question's own text for the error ``code`` (its ``messages``) in
    ``locale``, or None when it has none and the built-in text is shown."""
    own = vars(field).get("messages")
    if not own or code not in own:
        return None
    return localized(own[code], locale)


def required_message(field: Any, locale: str | None) -> str:
    """What a required question left blank says: the question's own
    ``messages.required``, else its type's built-in text."""
    own = custom_message(field, "required", locale)
    if own is not None:
        return own
    code = TYPES[field.type].required_message
    if code in LABELLED_MESSAGES:
        label = localized(field.label, locale)
        return gettext_for(LABELLED_MESSAGES[code], locale).format(label=label)
    return gettext_for(MESSAGES[code], locale)


def _shown_name(name: Any) -> str:
    """An answer's key as text that can always be encoded."""
    text = str(name)
    if has_surrogates(text):
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def check_answers(
    form: Form,
    answers: Any,
    *,
    locale: str | None = None,
    today: dt.date | None = None,
) -> tuple[Answers, list[FieldError]]:
    """Every valid answer normalised, and every problem; never raises.

    The widgets check answers one at a time with this: the errors of the
    answers given so far, and those answers normalised for display.
    """
    locale = locale or form.default_locale
    analysis = form.analysis
    prepared = analysis.prepared
    fields = form.fields
    sensitive = frozenset(name for name, f in fields.items() if f.sensitive)
    if not isinstance(answers, Mapping):
        error = FieldError("", "not_object", gettext_for(MESSAGES["not_object"], locale))
        return Answers({}, sensitive), [error]
    errors: dict[str, FieldError] = {}
    for name in answers:
        if name not in fields:
            # The error names the key, and a lone surrogate in it could not
            # be written into the response.
            shown = _shown_name(name)
            errors[shown] = FieldError(
                shown, "unknown_field", gettext_for(MESSAGES["unknown_field"], locale)
            )
    clean: dict[str, Any] = {}
    day = today or dt.date.today()
    for name in analysis.order:
        field = fields[name]
        if not all(evaluate(c, clean) for c in analysis.visibility.get(name, ())):
            continue
        value = answers.get(name)
        entry = TYPES[field.type]
        if is_blank(value):
            if field.required:
                errors[name] = FieldError(name, "required", required_message(field, locale))
            continue
        try:
            # Before the checker, which may pass text on to libraries that
            # cannot encode it; after it, for what the checker let through
            # (a NUL in a file's name): nothing a store cannot hold is kept.
            if has_surrogates(value):
                raise FieldProblem("invalid_text")
            checked = entry.check(field, value, prepared.get(name), day)
            if not is_storable(checked):
                raise FieldProblem("invalid_text")
            clean[name] = checked
        except FieldProblem as problem:
            errors[name] = FieldError(name, problem.code, message_for(field, problem, locale))
    position = {name: i for i, name in enumerate(fields)}
    ordered = sorted(errors.values(), key=lambda e: position.get(e.field, len(position)))
    return Answers({name: clean[name] for name in fields if name in clean}, sensitive), ordered


def validate_answers(
    form: Form,
    answers: Any,
    *,
    locale: str | None = None,
    today: dt.date | None = None,
) -> Answers:
    """Check and normalise every answer; raise :class:`InvalidAnswers` listing
    every problem. Questions whose ``when`` is false are dropped, never
    required."""
    clean, errors = check_answers(form, answers, locale=locale, today=today)
    if errors:
        raise InvalidAnswers(errors)
    return clean


#: The messages of an incomplete contact that was refused, by what the
#: customer must still give: an address to write to, a number to call (the
#: ``contact`` of the question's type), or every answer.
PARTIAL_MESSAGES: dict[str, str] = {
    # Translators: at the email question, when the customer asks to talk to a
    # person before answering every question but left no way to answer them.
    "write": N_("Enter your email address, so that we can answer you."),
    # Translators: as above, at the phone question of a form without email.
    "call": N_("Enter your phone number, so that we can call you."),
    # A form without an email or phone question: its answers are how the
    # service finds the customer, so it takes only complete contacts.
    "complete": N_("We need an answer to this question before you can send the form."),
}


def contact_questions(form: Form) -> list[str]:
    """The names of the questions whose answer lets the service reach the
    customer, best first: the ``role: reply_to`` question (where the agent
    email's Reply-To and the confirmation go), then the other questions of
    a type with an address to write to (email), then those with a number to
    call (phone), each in the form's order. The field types say which they
    are (``FieldType.contact``)."""
    known = _CONTACT_QUESTIONS.get(form)
    if known is None:
        first = form.field_with_role("reply_to")
        names = [first.name] if first is not None else []
        for way in ("write", "call"):
            names += [
                n for n, f in form.fields.items() if TYPES[f.type].contact == way and n not in names
            ]
        # Asked for every submission (its contact keys): a loaded form never
        # changes, so once per form.
        known = _CONTACT_QUESTIONS[form] = tuple(names)
    return list(known)


_CONTACT_QUESTIONS: WeakKeyDictionary[Form, tuple[str, ...]] = WeakKeyDictionary()


def check_partial(
    form: Form,
    answers: Any,
    locale: str | None = None,
    *,
    today: dt.date | None = None,
) -> tuple[Answers, list[str], list[FieldError]]:
    """An incomplete contact ("Talk to a person"): ``(clean, missing, errors)``.

    ``clean`` holds the answers given that are valid, normalised as
    :func:`validate_answers` would (the same :class:`Answers`, so
    :func:`intakeforms.submit` stores them without checking them again); an
    invalid answer is dropped, and so is a key the form does not have.
    ``missing`` names, in the form's order, the required questions that are
    asked (their ``when`` holds for ``clean``) and not validly answered.

    ``errors`` is empty unless no answer lets the service reach the
    customer (:func:`contact_questions`): then it is one error on the first
    asked email or phone question, ``required`` when it was left blank, its
    own problem (``invalid_email``) when its answer did not fit. A form
    with neither kind of question takes only complete contacts: while
    anything is missing, the error is ``required`` on its first missing
    question. Answers that are not a JSON object give ``not_object``.
    Messages are in ``locale`` (else the form's default language).
    """
    locale = locale or form.default_locale
    clean, problems = check_answers(form, answers, locale=locale, today=today)
    if problems and problems[0].code == "not_object":
        return clean, [], problems
    fields = form.fields
    by_field = {e.field: e for e in problems if e.field in fields}
    missing = [name for name in by_field if fields[name].required]
    contacts = contact_questions(form)
    if any(name in clean for name in contacts):
        return clean, missing, []
    visibility = form.analysis.visibility
    asked = [name for name in contacts if all(evaluate(c, clean) for c in visibility.get(name, ()))]
    if asked:
        name = asked[0]
        given = by_field.get(name)
        if given is not None and given.code != "required":
            return clean, missing, [given]
        way = TYPES[fields[name].type].contact or "write"
        text = gettext_for(PARTIAL_MESSAGES[way], locale)
        return clean, missing, [FieldError(name, "required", text)]
    if not missing:
        return clean, missing, []
    # No question to reach the customer by is asked (none in the form, or
    # their ``when`` waits on an answer still missing): ask for that answer.
    text = gettext_for(PARTIAL_MESSAGES["complete"], locale)
    return clean, missing, [FieldError(missing[0], "required", text)]
