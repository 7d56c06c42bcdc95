"""The rules a form must follow beyond its shape, each reported with its place.

:func:`analyse` checks what needs the whole form and prepares what validation
needs (parsed conditions, compiled patterns, bounds, an evaluation order).
Shape mistakes (unknown keys, wrong value types) are told first, by
:mod:`intakeforms.language.shape`.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from intakeforms.errors import Problem
from intakeforms.fields import FieldProblem
from intakeforms.fields.base import COMMON_CODES, WHEN_READS
from intakeforms.fields.registry import TYPES
from intakeforms.language import conditions as cond
from intakeforms.language.models import FieldModel, FormDefinition
from intakeforms.language.shape import did_you_mean
from intakeforms.language.source import Document, Path
from intakeforms.language.targets import check_autorespond, check_deliver
from intakeforms.language.text_rules import check_locales, check_texts

__all__ = ["Analysis", "analyse", "condition_sources"]


def condition_sources() -> list[str]:
    """The field types a ``when`` may read: their answers compare the same way
    in Python, in JSON Schema and in the browser."""
    readable = [entry for entry in TYPES.values() if entry.when is not None]
    readable.sort(key=lambda entry: WHEN_READS.index(entry.when or ""))
    return [entry.name for entry in readable]


@dataclass
class Analysis:
    """What validation and compilation need, prepared once at load time."""

    conditions: dict[str, cond.Condition] = field(default_factory=dict)
    #: Each field's own condition and those of every field it depends on:
    #: a question is asked only when the questions it reads are asked too.
    visibility: dict[str, tuple[cond.Condition, ...]] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    #: What each question's type prepared from it (a compiled pattern,
    #: parsed bounds, a size in bytes), by name; see FieldType.prepare.
    prepared: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


Coercer = Callable[[Any, Any], Any]


def _questions(form: FormDefinition) -> list[tuple[int, FieldModel]]:
    """The questions with their place in ``fields`` (sections and pages
    left out, but counted: a problem's path is its place in the file)."""
    return [(i, item) for i, item in enumerate(form.fields) if isinstance(item, FieldModel)]


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

    for i, item in _questions(form):
        here: Path = ("fields", i)
        _check_field(doc, item, here, analysis, problems)

    for i, item in _questions(form):
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

    for i, item in _questions(form):
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
    if form.thanks is not None and form.thanks.url is None and form.thanks.text is None:
        problems.append(
            doc.problem(
                ("thanks",),
                "missing_key",
                "thanks needs a url (your own thanks page) or a text (shown after sending), "
                "like thanks: {text: Thank you, we answer within a day.}",
            )
        )
    check_deliver(doc, form, fields, problems)
    check_autorespond(doc, form, problems)
    return analysis, problems


def _check_names(doc: Document, form: FormDefinition, problems: list[Problem]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    first: dict[str, int] = {}
    for i, item in _questions(form):
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
    reply_to = [i for i, f in _questions(form) if id(f) in chosen]
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
    doc: Document, item: FieldModel, here: Path, analysis: Analysis, problems: list[Problem]
) -> None:
    entry = TYPES[item.type]
    analysis.prepared[item.name], issues = entry.prepare(item)
    for issue in issues:
        problems.append(doc.problem((*here, *issue.at), issue.code, issue.message, key=issue.key))
    codes = [*COMMON_CODES, *entry.codes]
    for code in item.messages or {}:
        if code not in codes:
            problems.append(
                doc.problem(
                    (*here, "messages", code),
                    "unknown_error_code",
                    f"a question of type {item.type} never gives the error {code!r}"
                    f"{did_you_mean(code, codes)}; its codes are {', '.join(codes)} "
                    "(docs/errors.md)",
                    key=True,
                )
            )
    region = getattr(item, "region", None)
    supported = entry.regions
    if region is None or supported is None or region in supported:
        return
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
        reads = TYPES[source.type].when
        if reads is None:
            raise cond.ConditionError(
                where,
                "invalid_condition",
                f"'when' can read only {', '.join(condition_sources())} questions; "
                f"{name!r} is a {source.type} question",
            )
        if isinstance(value, dict | list) or value is None:
            raise cond.ConditionError(where, "invalid_condition", "expected a single value here")
        if reads == "key":
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
        if source.required:
            # A condition may test for any answer the question can hold, like
            # an unticked box even where ticking is required.
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
    position = {item.name: i for i, item in _questions(form)}
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

    for item in form.questions:
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
