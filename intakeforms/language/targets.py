"""The ``deliver`` list and ``autorespond``: checked when the form loads.

Each ``deliver`` item names exactly one registered target kind
(:mod:`intakeforms.language.target_kinds`); the kind's own ``check`` looks
at its settings (secrets named by environment variable, addresses, custom
fields). The autoresponder writes to the customer, so it needs a
``reply_to`` question.
"""

from __future__ import annotations

from typing import Any

from intakeforms.errors import Problem
from intakeforms.language.models import FormDefinition
from intakeforms.language.source import Document, Path
from intakeforms.language.target_kinds import TargetCheck, target_kinds

__all__ = ["check_autorespond", "check_deliver"]


def check_deliver(
    doc: Document,
    form: FormDefinition,
    fields: dict[str, Any],
    problems: list[Problem],
) -> None:
    """Each item names one kind, and its settings pass that kind's check."""
    kinds = target_kinds()
    for i, target in enumerate(form.deliver):
        here: Path = ("deliver", i)
        if len(target.named) != 1:
            names = list(kinds)
            problems.append(
                doc.problem(
                    here,
                    "invalid_target",
                    "each deliver item names exactly one target: "
                    f"{', '.join(names[:-1])} or {names[-1]}",
                )
            )
            continue
        kind = kinds[target.kind]
        if kind.check is not None:
            ctx = TargetCheck(doc, form, fields, (*here, kind.name), problems)
            kind.check(ctx, target.config)


def check_autorespond(doc: Document, form: FormDefinition, problems: list[Problem]) -> None:
    """The confirmation needs somewhere to go: a ``role: reply_to`` question.

    Its texts are checked with the form's other texts (every locale, none
    empty), and ``max_per_day`` by the model (1 or more).
    """
    if form.autorespond is None:
        if isinstance(doc.values, dict) and "autorespond" in doc.values:
            # "autorespond:" with nothing after it is YAML's null, which would
            # quietly turn the confirmations off that the author meant to turn on.
            problems.append(
                doc.problem(
                    ("autorespond",),
                    "invalid_value",
                    "autorespond is empty; write autorespond: {} to send confirmations "
                    "with the default texts, or leave the key out",
                )
            )
        return
    if not form.with_role("reply_to"):
        problems.append(
            doc.problem(
                ("autorespond",),
                "missing_reply_to",
                "a confirmation email needs the customer's email address; add an email "
                "question with role: reply_to",
            )
        )
