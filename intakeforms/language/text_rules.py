"""The rules for a form's locales and texts, each reported with its place.

Every text (title, labels, help, choices, the autoresponder's) is either one
plain string for every language or a map with a text for each of the form's
locales. :func:`intakeforms.language.rules.analyse` runs these rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from babel import Locale, UnknownLocaleError

from intakeforms.errors import Problem
from intakeforms.language.models import (
    ANY_LOCALE,
    ChoiceField,
    FormDefinition,
    MultichoiceField,
)
from intakeforms.language.shape import did_you_mean
from intakeforms.language.source import Document, Path

__all__ = ["check_locales", "check_text", "check_texts"]


def check_locales(doc: Document, form: FormDefinition, problems: list[Problem]) -> list[str]:
    """Check the form's locale codes; return the good ones, each once."""
    good = []
    for i, code in enumerate(form.locales):
        try:
            Locale.parse(code.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            problems.append(
                doc.problem(
                    ("locales", i),
                    "unknown_locale",
                    f"unknown locale code {code!r}; use a language code like fi, sv, en or en-GB",
                )
            )
            continue
        if code in good:
            problems.append(
                doc.problem(("locales", i), "duplicate_locale", f"locale {code!r} is listed twice")
            )
            continue
        good.append(code)
    return good


def _texts(form: FormDefinition) -> Iterator[tuple[Path, dict[str, str]]]:
    yield ("title",), form.title
    if form.description is not None:
        yield ("description",), form.description
    for i, item in enumerate(form.fields):
        # The item's own values: getattr on a key its type lacks goes through
        # pydantic's __getattr__ and an exception, many times a form.
        values = vars(item)
        for key in ("label", "help", "placeholder", "unit", "title", "text"):
            text = values.get(key)
            if text is not None:
                yield ("fields", i, key), text
        for code, text in (values.get("messages") or {}).items():
            yield ("fields", i, "messages", code), text
        if isinstance(item, ChoiceField | MultichoiceField):
            for choice, text in item.choices.items():
                yield ("fields", i, "choices", choice), text
    if form.thanks is not None and form.thanks.text is not None:
        yield ("thanks", "text"), form.thanks.text
    if form.autorespond is not None:
        for key in ("from_name", "intro"):
            text = getattr(form.autorespond, key)
            if text is not None:
                yield ("autorespond", key), text


def check_texts(
    doc: Document, form: FormDefinition, locales: list[str], problems: list[Problem]
) -> None:
    """Check that every text of the form has a non-empty text for each of ``locales``
    and names only the form's locales."""
    for path, text in _texts(form):
        check_text(doc, path, text, form.locales, locales, problems)


def check_text(
    doc: Document,
    path: Path,
    text: dict[str, str],
    written: list[str],
    locales: list[str],
    problems: list[Problem],
) -> None:
    """Check one text at ``path``: a non-empty text for each of ``locales``, and
    only codes among ``written`` (the file's ``locales:`` as written)."""
    if ANY_LOCALE in text:
        if not text[ANY_LOCALE].strip():
            problems.append(doc.problem(path, "empty_text", "the text is empty"))
        return
    for code, value in text.items():
        if code not in written:
            problems.append(
                doc.problem(
                    (*path, code),
                    "unknown_locale",
                    f"{code!r} is not one of the form's locales "
                    f"({', '.join(written)}){did_you_mean(code, written)}",
                    key=True,
                )
            )
        elif not value.strip():
            problems.append(doc.problem((*path, code), "empty_text", "the text is empty"))
    missing = [code for code in locales if code not in text]
    if missing:
        problems.append(
            doc.problem(
                path,
                "missing_translation",
                f"no text for locale {', '.join(map(repr, missing))}; add "
                f"{missing[0]}: … or write one plain string for every language",
            )
        )
