"""The rules a form must follow beyond its shape, each reported with its place.

:func:`analyse` checks what needs the whole form and prepares what validation
needs (parsed conditions, compiled patterns, bounds, an evaluation order).
Shape mistakes (unknown keys, wrong value types) are told first, by
:mod:`intakeforms.language.shape`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from intakeforms.errors import Problem
from intakeforms.fields import FieldProblem
from intakeforms.fields.dates import DateBound, parse_date_bound, parse_time
from intakeforms.fields.files import parse_size
from intakeforms.language import conditions as cond
from intakeforms.language.models import (
    ChoiceField,
    DateField,
    FileField,
    FormDefinition,
    MultichoiceField,
    TextareaField,
    TextField,
    TimeField,
)
from intakeforms.language.patterns import PatternError, compile_site_pattern
from intakeforms.language.shape import did_you_mean
from intakeforms.language.source import Document, Path
from intakeforms.language.targets import check_autorespond, check_deliver
from intakeforms.language.text_rules import check_locales, check_texts

__all__ = ["CONDITION_SOURCES", "Analysis", "analyse"]

#: Field types a ``when`` may read: their answers compare the same way in
#: Python, in JSON Schema and in the browser.
CONDITION_SOURCES = ("choice", "multichoice", "boolean", "consent", "integer", "number")


@dataclass
class Analysis:
    """What validation and compilation need, prepared once at load time."""

    conditions: dict[str, cond.Condition] = field(default_factory=dict)
    #: Each field's own condition and those of every field it depends on:
    #: a question is asked only when the questions it reads are asked too.
    visibility: dict[str, tuple[cond.Condition, ...]] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    patterns: dict[str, Any] = field(default_factory=dict)
    date_bounds: dict[str, tuple[DateBound | None, DateBound | None]] = field(default_factory=dict)
    time_bounds: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    max_bytes: dict[str, int] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


Coercer = Callable[[Any, Any], Any]


def analyse(
    doc: Document,
    form: FormDefinition,
    check_value: Callable[[Any, Any, Analysis], Any],
) -> tuple[Analysis, list[Problem]]:
    """Check the whole-form rules; ``check_value(field, raw, analysis)`` is the
    answer checker, used to judge ``default`` and ``when`` values exactly as an
    answer would be judged."""
    problems: list[Problem] = []
    analysis = Analysis()
    locales = check_locales(doc, form, problems)
    check_texts(doc, form, locales, problems)
    fields = _check_names(doc, form, problems)

    for i, item in enumerate(form.fields):
        here: Path = ("fields", i)
        _check_field(doc, item, here, analysis, problems)

    for i, item in enumerate(form.fields):
        if item.when is None or item.name not in fields:
            continue
        try:
            analysis.conditions[item.name] = _parse_when(
                item.when, ("fields", i, "when"), fields, analysis, check_value
            )
        except cond.ConditionError as exc:
            message = str(exc)
            if exc.code == "unknown_field_reference":
                message += did_you_mean(str(exc.path[-1]), list(fields))
            problems.append(doc.problem(exc.path, exc.code, message, key=exc.key))
    _order(doc, form, analysis, problems)

    for i, item in enumerate(form.fields):
        if item.default is not None and item.name in fields:
            try:
                analysis.defaults[item.name] = check_value(item, item.default, analysis)
            except FieldProblem as exc:
                problems.append(
                    doc.problem(
                        ("fields", i, "default"),
                        "invalid_default",
                        f"the default is not a valid answer for this {item.type} "
                        f"question ({exc.code})",
                    )
                )
    _check_summary(doc, form, fields, problems)
    check_deliver(doc, form, fields, problems)
    check_autorespond(doc, form, problems)
    return analysis, problems


def _check_names(doc: Document, form: FormDefinition, problems: list[Problem]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(form.fields):
        if item.name in fields:
            line = doc.locate(("fields", first[item.name], "name")).line
            problems.append(
                doc.problem(
                    ("fields", i, "name"),
                    "duplicate_field",
                    f"duplicate field name {item.name!r} (first used at line {line}); "
                    "every field needs its own name",
                )
            )
            continue
        fields[item.name] = item
        first[item.name] = i
    chosen = {id(f) for f in form.with_role("reply_to")}
    reply_to = [i for i, f in enumerate(form.fields) if id(f) in chosen]
    for i in reply_to[1:]:
        problems.append(
            doc.problem(
                ("fields", i, "role"),
                "duplicate_role",
                "only one email field can have role: reply_to",
            )
        )
    return fields


def _check_field(
    doc: Document, item: Any, here: Path, analysis: Analysis, problems: list[Problem]
) -> None:
    low, high = getattr(item, "min", None), getattr(item, "max", None)
    if isinstance(item, DateField | TimeField):
        low, high = _check_moments(doc, item, here, analysis, problems)
    if low is not None and high is not None and low > high:
        problems.append(
            doc.problem(
                (*here, "min"),
                "min_over_max",
                f"min ({item.min}) is greater than max ({item.max}); swap them",
            )
        )
    min_length, max_length = getattr(item, "min_length", None), getattr(item, "max_length", None)
    if min_length is not None and max_length is not None and min_length > max_length:
        problems.append(
            doc.problem(
                (*here, "min_length"),
                "min_over_max",
                f"min_length ({min_length}) is greater than max_length ({max_length})",
            )
        )
    if isinstance(item, ChoiceField | MultichoiceField):
        _check_choices(doc, item, here, problems)
    if isinstance(item, TextField | TextareaField) and item.pattern is not None:
        _check_pattern(doc, item, here, analysis, problems)
    if isinstance(item, FileField):
        try:
            analysis.max_bytes[item.name] = parse_size(item.max_size)
        except ValueError as exc:
            problems.append(doc.problem((*here, "max_size"), "invalid_value", str(exc)))
        for j, media in enumerate(item.accept):
            if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", media):
                problems.append(
                    doc.problem(
                        (*here, "accept", j),
                        "invalid_value",
                        f"{media!r} is not a media type; write it like image/png",
                    )
                )
    _check_region(doc, item, here, problems)


def _check_moments(
    doc: Document,
    item: DateField | TimeField,
    here: Path,
    analysis: Analysis,
    problems: list[Problem],
) -> tuple[Any, Any]:
    bounds: list[Any] = []
    for key in ("min", "max"):
        raw = getattr(item, key)
        if raw is None:
            bounds.append(None)
            continue
        try:
            if isinstance(item, DateField):
                bounds.append(parse_date_bound(raw))
            else:
                bounds.append(parse_time(raw.strip()))
        except (ValueError, FieldProblem) as exc:
            message = (
                str(exc)
                if isinstance(exc, ValueError) and not isinstance(exc, FieldProblem)
                else f"{raw!r} is not a time; write HH:MM"
            )
            problems.append(doc.problem((*here, key), "invalid_value", message))
            bounds.append(None)
    if isinstance(item, DateField):
        analysis.date_bounds[item.name] = (bounds[0], bounds[1])
        # Relative and fixed bounds cannot be compared at load time.
        if type(bounds[0]) is not type(bounds[1]):
            return None, None
    else:
        analysis.time_bounds[item.name] = (bounds[0], bounds[1])
    return bounds[0], bounds[1]


def _check_choices(
    doc: Document, item: ChoiceField | MultichoiceField, here: Path, problems: list[Problem]
) -> None:
    if not item.choices:
        problems.append(
            doc.problem(
                (*here, "choices"),
                "no_choices",
                "a choice question needs at least one choice, like choices: {yes: Yes}",
            )
        )
    for key in item.choices:
        if not key.strip() or re.search(r"[\x00-\x1f\x7f]", key):
            problems.append(
                doc.problem(
                    (*here, "choices", key),
                    "invalid_value",
                    "a choice key cannot be blank",
                    key=True,
                )
            )
    if isinstance(item, MultichoiceField) and item.min is not None and item.min > len(item.choices):
        problems.append(
            doc.problem(
                (*here, "min"),
                "min_over_max",
                f"min ({item.min}) is more than the {len(item.choices)} choices there are",
            )
        )


def _check_pattern(
    doc: Document,
    item: TextField | TextareaField,
    here: Path,
    analysis: Analysis,
    problems: list[Problem],
) -> None:
    assert item.pattern is not None
    try:
        analysis.patterns[item.name] = compile_site_pattern(item.pattern)
    except PatternError as exc:
        problems.append(doc.problem((*here, "pattern"), exc.code, str(exc)))


def _check_region(doc: Document, item: Any, here: Path, problems: list[Problem]) -> None:
    from intakeforms.fields import identifiers, plate, postal

    region = getattr(item, "region", None)
    if region is None:
        return
    supported: tuple[str, ...] | frozenset[str]
    if item.type == "phone":
        supported = frozenset(phonenumbers.SUPPORTED_REGIONS)
    else:
        supported = {
            "plate": plate.PLATE_REGIONS,
            "postal_code": postal.POSTAL_REGIONS,
            "national_id": identifiers.NATIONAL_ID_REGIONS,
            "business_id": identifiers.BUSINESS_ID_REGIONS,
        }[item.type]
    if region not in supported:
        listed = ", ".join(sorted(supported)) if len(supported) < 30 else "ISO country codes"
        problems.append(
            doc.problem(
                (*here, "region"),
                "unknown_region",
                f"region {region!r} is not supported for {item.type}"
                f"{did_you_mean(region, sorted(supported))}; use one of {listed}",
            )
        )


def _parse_when(
    raw: Any,
    path: Path,
    fields: dict[str, Any],
    analysis: Analysis,
    check_value: Callable[[Any, Any, Analysis], Any],
) -> cond.Condition:
    def kind(name: str) -> str | None:
        source = fields.get(name)
        return None if source is None else str(source.type)

    def coerce(name: str, value: Any, where: Path) -> Any:
        source = fields[name]
        if source.type not in CONDITION_SOURCES:
            raise cond.ConditionError(
                where,
                "invalid_condition",
                f"'when' can read only {', '.join(CONDITION_SOURCES)} questions; "
                f"{name!r} is a {source.type} question",
            )
        if isinstance(value, dict | list) or value is None:
            raise cond.ConditionError(where, "invalid_condition", "expected a single value here")
        if source.type in ("choice", "multichoice"):
            if value not in source.choices:
                raise cond.ConditionError(
                    where,
                    "invalid_condition",
                    f"{value!r} is not a choice of {name!r}"
                    f"{did_you_mean(str(value), list(source.choices))}; "
                    f"the choices are {', '.join(source.choices)}",
                )
            return str(value)
        probe = source
        if source.type == "consent":
            # A condition may test for an unticked box even where ticking is required.
            probe = source.model_copy(update={"required": False})
        try:
            return check_value(probe, value, analysis)
        except FieldProblem:
            raise cond.ConditionError(
                where,
                "invalid_condition",
                f"{value!r} is not a possible answer to {name!r} ({source.type})",
            ) from None

    return cond.parse_condition(raw, path, coerce, kind)


def _order(
    doc: Document, form: FormDefinition, analysis: Analysis, problems: list[Problem]
) -> None:
    """Order fields so each comes after the fields its condition reads."""
    position = {item.name: i for i, item in enumerate(form.fields)}
    deps = {
        name: sorted(set(cond.referenced_fields(c)), key=position.__getitem__)
        for name, c in analysis.conditions.items()
    }
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> bool:
        if state.get(name) == 2:
            return True
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            problems.append(
                doc.problem(
                    ("fields", position[name], "when"),
                    "condition_cycle",
                    f"conditions depend on each other in a circle: {' → '.join(cycle)}",
                )
            )
            return False
        state[name] = 1
        for dep in deps.get(name, ()):
            if not visit(dep, [*trail, name]):
                return False
        state[name] = 2
        order.append(name)
        seen: list[cond.Condition] = []
        for dep in deps.get(name, ()):
            seen.extend(c for c in analysis.visibility[dep] if c not in seen)
        if name in analysis.conditions:
            seen.append(analysis.conditions[name])
        analysis.visibility[name] = tuple(seen)
        return True

    for item in form.fields:
        if item.name in position and not visit(item.name, []):
            return
    analysis.order = tuple(order)


def _check_summary(
    doc: Document, form: FormDefinition, fields: dict[str, Any], problems: list[Problem]
) -> None:
    if form.summary is None:
        return
    try:
        parts = list(string.Formatter().parse(form.summary))
    except ValueError as exc:
        problems.append(
            doc.problem(
                ("summary",),
                "invalid_value",
                f"the summary is not a valid template ({exc}); name fields in braces "
                "like {plate}, and write {{ for a brace",
            )
        )
        return
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in fields:
            problems.append(
                doc.problem(
                    ("summary",),
                    "unknown_field_reference",
                    f"the summary names {{{name}}}, which is not a field of this form"
                    f"{did_you_mean(name, list(fields))}",
                )
            )
        elif spec or conversion:
            problems.append(
                doc.problem(
                    ("summary",),
                    "invalid_value",
                    f"write {{{name}}} without a format; values are formatted for the "
                    "agent's language",
                )
            )
