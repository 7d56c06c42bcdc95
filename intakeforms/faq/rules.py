"""The rules of an FAQ file that need the whole file, each with its place.

Entry ids are unique, every question and answer has a non-empty text for
each locale (the form language's text rules), keywords name the file's
locales, and ``forms:`` names forms that exist when the forms are known.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from intakeforms.errors import Problem
from intakeforms.faq.models import FaqDefinition
from intakeforms.language.shape import did_you_mean
from intakeforms.language.source import Document
from intakeforms.language.text_rules import check_locales, check_text

__all__ = ["check_faq"]


def check_faq(
    doc: Document, faq: FaqDefinition, forms: Collection[str] | None = None
) -> list[Problem]:
    """Every problem of ``faq`` that its shape does not show; ``forms`` are the
    ids of the site's forms (``None``: not known, ``forms:`` is not checked)."""
    problems: list[Problem] = []
    # A form and an FAQ file list their locales the same way.
    locales = check_locales(doc, cast(Any, faq), problems)
    seen: dict[str, int] = {}
    for i, entry in enumerate(faq.entries):
        if entry.id in seen:
            problems.append(
                doc.problem(
                    ("entries", i, "id"),
                    "duplicate_entry",
                    f"entry id {entry.id!r} is already used by entries[{seen[entry.id]}]; "
                    "every entry needs its own id",
                )
            )
        else:
            seen[entry.id] = i
        for key in ("question", "answer"):
            check_text(
                doc, ("entries", i, key), getattr(entry, key), faq.locales, locales, problems
            )
        for code, words in entry.keywords.items():
            if code not in faq.locales:
                problems.append(
                    doc.problem(
                        ("entries", i, "keywords", code),
                        "unknown_locale",
                        f"{code!r} is not one of the FAQ's locales "
                        f"({', '.join(faq.locales)}){did_you_mean(code, faq.locales)}",
                        key=True,
                    )
                )
            for j, word in enumerate(words):
                if not word.strip():
                    problems.append(
                        doc.problem(
                            ("entries", i, "keywords", code, j), "empty_text", "the text is empty"
                        )
                    )
        if forms is not None:
            for j, form in enumerate(entry.forms):
                if form not in forms:
                    problems.append(
                        doc.problem(
                            ("entries", i, "forms", j),
                            "unknown_form",
                            f"there is no form {form!r}{did_you_mean(form, sorted(forms))}; "
                            "name a form id, or leave forms out to offer the entry before all",
                        )
                    )
    return sorted(problems, key=lambda p: (p.line, p.column))
