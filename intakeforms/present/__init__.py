"""How answers are shown to people, one home each.

- :mod:`~intakeforms.present.texts`: a form's text in one language
  (:func:`localized`: the locale, its language, the form's default, ``*``,
  the first);
- :mod:`~intakeforms.present.lines`: text cleaned into lines;
- :mod:`~intakeforms.present.values`: one answer value written for a reader
  (dates, numbers and units, choices by label, yes/no, files);
- :mod:`~intakeforms.present.files`: what uploaded files are called;
- :mod:`~intakeforms.present.rows`: a submission as ``(label, value)`` rows
  in the form's order, which answers are shown, the summary line;
- :mod:`~intakeforms.present.tables`: rows as text lines or an HTML table.

The page, the spec, the validation messages, the emails, the customer's
confirmation and helpdesk tickets use these. This package stands just above
the form language: it imports nothing of the web, the store, delivery or
mail, so that the language's own modules can use it.
"""

from __future__ import annotations

from intakeforms.present.files import attachment_name, attachment_names
from intakeforms.present.lines import cap, clean_lines, one_line
from intakeforms.present.rows import (
    MASK,
    answer_rows,
    answered,
    confirmation_rows,
    intro,
    summary,
)
from intakeforms.present.tables import escape, html_table, text_rows
from intakeforms.present.texts import localized
from intakeforms.present.values import (
    VALUE_TEXTS,
    blank,
    format_answer,
    plain,
    submitted,
    value_words,
    with_unit,
)

__all__ = [
    "MASK",
    "VALUE_TEXTS",
    "answer_rows",
    "answered",
    "attachment_name",
    "attachment_names",
    "blank",
    "cap",
    "clean_lines",
    "confirmation_rows",
    "escape",
    "format_answer",
    "html_table",
    "intro",
    "localized",
    "one_line",
    "plain",
    "submitted",
    "summary",
    "text_rows",
    "value_words",
    "with_unit",
]
