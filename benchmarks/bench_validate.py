"""Validate + normalise one car-service submission: intakeforms vs baselines.

Contenders, all in the same run and on the same answers:

* ``intakeforms``: ``form.validate(answers, locale="fi")`` on the loaded
  ``examples/car-service/car-service.yaml``.
* ``pydantic``: a hand-written pydantic v2 model of the same form doing the
  same work (strip strings, FI plate regex + ``ABC-123``, int bounds with
  ``120 000`` accepted, choice as ``Literal``, symptoms only when repair via a
  ``model_validator``, ``EmailStr``, phone to E.164 with ``phonenumbers``).
  This is the ceiling: the goal is intakeforms within 2x of it.
* ``jsonschema``: ``Draft202012Validator`` with the format checker on
  ``form.json_schema()``, built once. It checks shape only and normalises
  nothing, and the schema describes *canonical* submissions, so it gets the
  answers with ``mileage`` as an int (``"120 000"`` is not a JSON Schema
  integer).

Scenarios: a valid submission with mileage ``"120 000"``, the same with the
int ``120000``, and an invalid submission with several errors (the error path
builds messages, which matters). Before timing, every contender's result is
checked, so a contender that silently did less work would be caught.

Run: ``.venv/bin/python benchmarks/bench_validate.py`` (``--quick`` for a smoke
test, ``--rounds N`` / ``--sample-seconds S`` to tune).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import phonenumbers
from _harness import Timing, add_arguments, describe_machine, measure, ratio_text
from jsonschema import Draft202012Validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    model_validator,
)

from intakeforms import Form, InvalidAnswers, load_form

ROOT = Path(__file__).resolve().parent.parent
FORM_FILE = ROOT / "examples" / "car-service" / "car-service.yaml"
GOAL = 2.0  # intakeforms at most this many times the hand-written pydantic model

# -- the answers -------------------------------------------------------------

VALID_STR: dict[str, Any] = {
    "plate": "abc123",
    "model": "Toyota Corolla 2018",
    "mileage": "120 000",
    "service": "repair",
    "symptoms": "A grinding noise from the front left wheel when braking.\nStarted last week.",
    "name": "Matti Meikäläinen",
    "email": "matti.meikalainen@example.com",
    "phone": "040 1234567",
    "privacy": True,
}
VALID_INT: dict[str, Any] = {**VALID_STR, "mileage": 120_000}

EXPECTED: dict[str, Any] = {
    **VALID_STR,
    "plate": "ABC-123",
    "mileage": 120_000,
    "phone": "+358401234567",
}

INVALID: dict[str, Any] = {
    "plate": "12",  # not a plate
    "model": "x" * 100,  # too long (max 80)
    "mileage": "lots",  # not a whole number
    "service": "repair",  # ... so symptoms are required, and missing
    "name": "",  # required
    "email": "not-an-email",
    "phone": "123",
    "privacy": False,  # consent not given
    "coupon": "SPRING",  # no such question
}

# -- the hand-written pydantic model (the ceiling) ---------------------------

_FI_PLATE = re.compile(r"[A-ZÅÄÖa-zåäö]{2,3}[ \-]?[0-9]{1,3}")
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009_")
_FI = "FI"


def _plate(value: str) -> str:
    if _FI_PLATE.fullmatch(value) is None:
        raise ValueError("not a Finnish registration plate, like ABC-123")
    compact = value.replace(" ", "").replace("-", "").upper()
    split = next(i for i, char in enumerate(compact) if char.isdigit())
    return f"{compact[:split]}-{compact[split:]}"


def _line(value: str) -> str:
    if _FORBIDDEN_IN_LINE.search(value):
        raise ValueError("remove line breaks and other control characters")
    return value


def _lines(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _FORBIDDEN_IN_TEXT.search(value):
        raise ValueError("remove control characters")
    return value


def _ungroup(value: object) -> object:
    return value.translate(_GROUPING) if isinstance(value, str) else value


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, _FI)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ticked(value: bool) -> bool:
    if not value:
        raise ValueError("tick the box to continue")
    return value


Line80 = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_line)]
Line100 = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_line)]


class CarService(BaseModel):
    """examples/car-service written by hand as a pydantic model."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    plate: Annotated[str, AfterValidator(_plate)]
    model: Line80
    mileage: Annotated[int, BeforeValidator(_ungroup), Field(ge=0, le=2_000_000)]
    service: Literal["annual", "repair", "tyres"]
    symptoms: Annotated[
        str | None,
        BeforeValidator(_blank_to_none),
        Field(default=None, max_length=2000),
        AfterValidator(_lines),
    ]
    preferred_date: Annotated[dt.date | None, BeforeValidator(_blank_to_none)] = None
    name: Line100
    email: EmailStr
    phone: Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_phone)] = None
    privacy: Annotated[bool, AfterValidator(_ticked)]

    @model_validator(mode="after")
    def _conditions(self) -> Self:
        if self.service == "repair":
            if self.symptoms is None:
                raise ValueError("symptoms: describe the problem")
        else:
            self.symptoms = None  # asked only for repairs
        if self.preferred_date is not None:
            today = dt.date.today()
            low, high = today + dt.timedelta(days=1), today + dt.timedelta(days=180)
            if not low <= self.preferred_date <= high:
                raise ValueError("preferred_date: out of range")
        return self


# -- the contenders ----------------------------------------------------------


def ours(form: Form, answers: Mapping[str, Any]) -> Callable[[], object]:
    def run() -> object:
        try:
            return form.validate(answers, locale="fi")
        except InvalidAnswers as exc:
            return exc.errors

    return run


def pydantic_validate(answers: Mapping[str, Any]) -> Callable[[], object]:
    def run() -> object:
        try:
            return CarService.model_validate(answers)
        except ValidationError as exc:
            # What an API returns: the list of errors with their messages.
            return exc.errors(include_url=False)

    return run


def pydantic_dump(answers: Mapping[str, Any]) -> Callable[[], object]:
    def run() -> object:
        try:
            return CarService.model_validate(answers).model_dump(exclude_none=True)
        except ValidationError as exc:
            return exc.errors(include_url=False)

    return run


def jsonschema_all_errors(
    validator: Draft202012Validator, answers: Mapping[str, Any]
) -> Callable[[], object]:
    def run() -> object:
        # Every error, like the other two (validate() stops at the best one).
        return list(validator.iter_errors(answers))

    return run


# -- checks before timing ----------------------------------------------------


def check_results(form: Form, validator: Draft202012Validator) -> dict[str, str]:
    """Make sure every contender does the work it is credited with."""
    notes: dict[str, str] = {}
    for answers in (VALID_STR, VALID_INT):
        got = dict(form.validate(answers, locale="fi"))
        assert got == EXPECTED, got
        dumped = CarService.model_validate(answers).model_dump(exclude_none=True)
        assert dumped == EXPECTED, dumped
    assert not list(validator.iter_errors(VALID_INT))
    assert list(validator.iter_errors(VALID_STR)), "'120 000' should not be a schema integer"

    try:
        form.validate(INVALID, locale="fi")
    except InvalidAnswers as exc:
        ours_codes = [f"{e.field}:{e.code}" for e in exc.errors]
    else:
        raise AssertionError("intakeforms accepted the invalid submission")
    try:
        CarService.model_validate(INVALID)
    except ValidationError as exc:
        pyd_errors = exc.errors(include_url=False)
    else:
        raise AssertionError("pydantic accepted the invalid submission")
    schema_errors = list(validator.iter_errors(INVALID))
    assert schema_errors
    notes["intakeforms"] = f"{len(ours_codes)} errors: {', '.join(ours_codes)}"
    notes["pydantic"] = (
        f"{len(pyd_errors)} errors: "
        + ", ".join(".".join(map(str, e["loc"])) or "<model>" for e in pyd_errors)
        + " (the model_validator rule runs only when every field passed, so the missing"
        " symptoms are not reported)"
    )
    notes["jsonschema"] = f"{len(schema_errors)} errors: " + ", ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}:{e.validator}" for e in schema_errors
    )
    return notes


# -- report ------------------------------------------------------------------


def _us(ns: float) -> str:
    return f"{ns / 1000:9.2f}"


def print_table(title: str, timings: list[Timing]) -> None:
    print(f"\n{title}")
    print(f"  {'contender':<32} {'median µs':>9} {'best µs':>9} {'spread':>7} {'calls':>7}")
    for t in timings:
        print(
            f"  {t.name:<32} {_us(t.median_ns)} {_us(t.best_ns)} "
            f"{t.spread * 100:6.1f}% {t.calls:7d}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser, rounds=15, sample_s=0.05)
    args = parser.parse_args(argv)
    rounds, sample_s = (3, 0.01) if args.quick else (args.rounds, args.sample_seconds)

    form = load_form(FORM_FILE)
    schema = form.json_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    notes = check_results(form, validator)

    print("bench_validate: validate + normalise one car-service submission")
    print(describe_machine())
    print(
        f"median of {rounds} interleaved rounds (best also shown); each round is at least "
        f"{sample_s * 1000:.0f} ms of calls per contender, after a warm-up; "
        "µs per submission; spread = (max-min)/median over the rounds"
    )

    met: list[tuple[str, float]] = []

    valid_str = measure(
        [
            ("intakeforms  form.validate", ours(form, VALID_STR)),
            ("pydantic     model_validate", pydantic_validate(VALID_STR)),
            ("pydantic     + model_dump", pydantic_dump(VALID_STR)),
        ],
        rounds=rounds,
        min_sample_s=sample_s,
    )
    print_table('Valid submission, mileage "120 000" (string)', valid_str)
    print(f"  ours / pydantic (model_validate)      {ratio_text(valid_str[0], valid_str[1])}")
    print(f"  ours / pydantic (validate + dump)     {ratio_text(valid_str[0], valid_str[2])}")
    print("  jsonschema: not timed, the schema rejects the string '120 000' (type: integer)")
    met.append(("valid, mileage string", valid_str[0].median_ns / valid_str[1].median_ns))

    valid_int = measure(
        [
            ("intakeforms  form.validate", ours(form, VALID_INT)),
            ("pydantic     model_validate", pydantic_validate(VALID_INT)),
            ("pydantic     + model_dump", pydantic_dump(VALID_INT)),
            ("jsonschema   iter_errors", jsonschema_all_errors(validator, VALID_INT)),
        ],
        rounds=rounds,
        min_sample_s=sample_s,
    )
    print_table("Valid submission, mileage 120000 (int)", valid_int)
    print(f"  ours / pydantic (model_validate)      {ratio_text(valid_int[0], valid_int[1])}")
    print(f"  ours / pydantic (validate + dump)     {ratio_text(valid_int[0], valid_int[2])}")
    print(f"  ours / jsonschema                     {ratio_text(valid_int[0], valid_int[3])}")
    met.append(("valid, mileage int", valid_int[0].median_ns / valid_int[1].median_ns))

    invalid = measure(
        [
            ("intakeforms  form.validate", ours(form, INVALID)),
            ("pydantic     + errors()", pydantic_validate(INVALID)),
            ("jsonschema   iter_errors", jsonschema_all_errors(validator, INVALID)),
        ],
        rounds=rounds,
        min_sample_s=sample_s,
    )
    print_table("Invalid submission (several errors)", invalid)
    print(f"  ours / pydantic                       {ratio_text(invalid[0], invalid[1])}")
    print(f"  ours / jsonschema                     {ratio_text(invalid[0], invalid[2])}")
    for name, note in notes.items():
        print(f"  {name}: {note}")
    met.append(("invalid", invalid[0].median_ns / invalid[1].median_ns))

    print(f"\nGoal: intakeforms within {GOAL:.0f}x of the hand-written pydantic model (medians)")
    for name, ratio in met:
        verdict = "MET" if ratio <= GOAL else "NOT MET"
        print(f"  {name:<24} {ratio:5.2f}x  {verdict}")
    all_met = all(ratio <= GOAL for _, ratio in met)
    print(f"  overall: {'MET' if all_met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
