"""A form's texts in one language, by one fallback rule.

Every text of a form (title, labels, help, choices, units, the
confirmation's words) is a map from locale code to text, or ``{"*": text}``
for one text in every language (:data:`~intakeforms.language.models.ANY_LOCALE`).
:func:`localized` picks the text to show; the page, the spec, the validation
messages, the emails and the tickets all ask it.
"""

from __future__ import annotations

from collections.abc import Mapping

from intakeforms.language.models import ANY_LOCALE

__all__ = ["localized"]


def localized(text: Mapping[str, str], locale: str | None, default: str | None = None) -> str:
    """``text`` in ``locale``: the text for ``locale``, else for its language
    (``fi-FI`` → ``fi``), else for ``default`` (the form's default locale),
    else the text for every language (``*``), else the first there is.

    A loaded form has a non-empty text for each of its locales or one for
    every language, so the last step only serves a locale the form lacks.
    """
    if locale:
        found = text.get(locale)
        if found is not None:
            return found
        # "fi-FI" asks for Finnish, as negotiate() reads it.
        language = locale.replace("_", "-").split("-", 1)[0]
        found = text.get(language)
        if found is not None:
            return found
    if default:
        found = text.get(default)
        if found is not None:
            return found
    return text.get(ANY_LOCALE) or next(iter(text.values()))
