"""A loaded form: its definition, what was prepared from it, and its API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from intakeforms.compile import compile_schema, compile_spec
from intakeforms.language.models import FieldModel, FormDefinition
from intakeforms.language.rules import Analysis
from intakeforms.present.texts import localized
from intakeforms.validate import Answers, validate_answers

__all__ = ["Form"]


@dataclass(eq=False)
class Form:
    """A checked form, ready to validate answers and publish its schema.

    Made by :func:`intakeforms.load_form`; the ``definition`` is the parsed
    YAML, ``version`` the author's ``version`` key or a hash of the file.
    """

    definition: FormDefinition
    analysis: Analysis
    version: str
    path: Path | None = None
    _schema: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        """The form's slug, like ``car-service``."""
        return self.definition.form

    @property
    def locales(self) -> list[str]:
        """The form's languages, default first."""
        return list(self.definition.locales)

    @property
    def default_locale(self) -> str:
        """The first of the form's locales."""
        return self.definition.locales[0]

    @property
    def reference_prefix(self) -> str:
        """The prefix of submission references, like ``CAR``."""
        if self.definition.reference_prefix:
            return self.definition.reference_prefix
        letters = "".join(c for c in self.id.upper() if c.isalnum())
        return (letters.lstrip("0123456789") or "REF")[:3]

    @cached_property
    def fields(self) -> dict[str, FieldModel]:
        """Field definitions by name, in the form's order.

        Each is the model of its type (:mod:`intakeforms.fields`); its
        ``type`` says which, and the registry's entry what the type does.
        Sections and pages (``type: section``, ``type: page``) are not
        here: they have no answer; ``definition.fields`` has every item.
        """
        return {f.name: f for f in self.definition.questions}

    def field_with_role(self, role: str) -> FieldModel | None:
        """The question with ``role`` (``reply_to``, ``customer_name``), if any."""
        found = self.definition.with_role(role)
        return found[0] if found else None

    def title(self, locale: str | None = None) -> str:
        """The form's title in ``locale`` (or the default locale)."""
        return self.text(self.definition.title, locale)

    def text(self, text: dict[str, str], locale: str | None = None) -> str:
        """A label or other text of this form in ``locale``, falling back to the default."""
        return localized(text, locale, self.default_locale)

    def validate(
        self, answers: Any, *, locale: str | None = None, today: dt.date | None = None
    ) -> Answers:
        """Normalise ``answers`` or raise :class:`~intakeforms.InvalidAnswers`.

        Returns :class:`~intakeforms.validate.Answers`; messages are in
        ``locale`` (fi, sv, en), else in the form's default locale.
        """
        return validate_answers(self, answers, locale=locale, today=today)

    def spec(self, locale: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
        """The localized descriptor the HTML page and the widgets render from."""
        return compile_spec(self, locale, today)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema 2020-12 of this form's submission."""
        if self._schema is None:
            self._schema = compile_schema(self)
        return self._schema
