"""Load FAQ files: YAML → a checked :class:`Faq`.

An FAQ file is read like a form file (the same safe YAML with places, the
same problems with file:line:col, raised as :class:`~intakeforms.errors.FormError`
so ``intakeforms check`` prints both alike). A folder holds forms and FAQ
files side by side; the top-level ``faq:`` key tells them apart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from intakeforms.compile import JSON_SCHEMA_DIALECT
from intakeforms.errors import FormError, Problem
from intakeforms.faq.models import FaqDefinition, FaqEntry, faq_model_at
from intakeforms.faq.rules import check_faq
from intakeforms.language.shape import shape_problems
from intakeforms.language.source import read_map
from intakeforms.load import load_files, read_source

__all__ = ["Faq", "faq_schema", "load_faq", "load_faq_text", "load_faqs"]


@dataclass(frozen=True)
class Faq:
    """A checked FAQ file: its id, locales (the first is the default) and entries."""

    definition: FaqDefinition
    path: Path | None = None

    @property
    def id(self) -> str:
        return self.definition.faq

    @property
    def locales(self) -> list[str]:
        return list(self.definition.locales)

    @property
    def entries(self) -> list[FaqEntry]:
        return list(self.definition.entries)

    def entry(self, entry_id: str) -> FaqEntry | None:
        """The entry with ``entry_id``, or ``None``."""
        return next((e for e in self.definition.entries if e.id == entry_id), None)

    def text(self, text: dict[str, str], locale: str) -> str:
        """One of an entry's texts in ``locale``, else in the FAQ's default locale."""
        return text.get(locale) or text.get(self.locales[0]) or next(iter(text.values()))


def _form_ids(forms: Iterable[Any] | None) -> set[str] | None:
    if forms is None:
        return None
    return {item if isinstance(item, str) else item.id for item in forms}


def load_faq_text(text: str, file: str = "<string>", *, forms: Iterable[Any] | None = None) -> Faq:
    """Load one FAQ from YAML text; ``file`` names it in error messages.

    ``forms`` (forms or their ids) checks that each entry's ``forms:`` exist.
    """
    doc = read_map(
        text, file, code="not_a_faq", hint="an FAQ file is a map starting with faq: <id>"
    )
    try:
        definition = FaqDefinition.model_validate(doc.values)
    except ValidationError as exc:
        raise FormError(shape_problems(doc, exc, faq_model_at)) from None
    problems = check_faq(doc, definition, _form_ids(forms))
    if problems:
        raise FormError(problems)
    return Faq(definition)


def load_faq(path: str | Path, *, forms: Iterable[Any] | None = None) -> Faq:
    """Load and check one FAQ file; raise :class:`FormError` listing every problem."""
    path = Path(path)
    faq = load_faq_text(read_source(path), str(path), forms=forms)
    return Faq(faq.definition, path)


def load_faqs(paths: Iterable[str | Path], *, forms: Iterable[Any] | None = None) -> list[Faq]:
    """Load every FAQ file among ``paths`` (folders are searched; forms skipped).

    Raises one :class:`FormError` with the problems of every file, including
    two FAQ files that use the same id.
    """
    known: Collection[str] | None = _form_ids(forms)

    def load(text: str, path: Path) -> Faq:
        return Faq(load_faq_text(text, str(path), forms=known).definition, path)

    def duplicate(path: Path, faq: Faq, first: Faq) -> Problem:
        return Problem(
            str(path),
            1,
            1,
            "duplicate_faq",
            f"FAQ id {faq.id!r} is already used by {first.path}; "
            "every FAQ file in a site needs its own id",
        )

    return load_files(paths, load, duplicate, faq=True)


def faq_schema() -> dict[str, Any]:
    """The JSON Schema of the FAQ file, for editor autocomplete."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": "https://intakeforms.invalid/schema/faq.json",
        **FaqDefinition.model_json_schema(),
        "title": "intakeforms FAQ",
    }
