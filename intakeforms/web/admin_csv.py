"""The inbox's CSV export: one row per submission, the questions' labels as headings.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or
a tab or carriage return, which some read past) as a formula, and a
customer's answer may begin with one: ``=HYPERLINK("http://evil", "click")``.
Every such cell gets a leading apostrophe (:func:`safe_cell`), which
spreadsheets show as text and do not print. The file is UTF-8 with a byte
order mark, so that a spreadsheet opened on a Finnish or Swedish desktop
reads ä and å as they are.

Answers are written as the agent email writes them (choice labels, yes/no,
dates and numbers in the staff's language); files by the names they were
attached with. An answer to a question the form no longer has goes into the
last column, ``name: value``, so an export never hides one. Times are UTC,
``YYYY-MM-DD HH:MM:SS``: every spreadsheet sorts and reads them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence

from intakeforms.form import Form
from intakeforms.i18n import N_, gettext_for
from intakeforms.present import attachment_names, blank, format_answer, one_line, plain
from intakeforms.store import StoredSubmission

__all__ = ["BOM", "CSV_TEXTS", "Columns", "csv_lines", "safe_cell"]

#: The byte order mark the file begins with (see the module's docstring).
BOM = "\ufeff"

#: The headings of the columns every export has.
CSV_TEXTS: dict[str, str] = {
    "reference": N_("Reference"),
    "form": N_("Form"),
    "submitted": N_("Submitted (UTC)"),
    "language": N_("Language"),
    "status": N_("Status"),
    "accepted": N_("Accepted"),
    "spam": N_("Spam"),
    "erased": N_("Erased"),
    "other": N_("Other answers"),
}

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it."""
    return "'" + text if text.startswith(_FORMULA) else text


class Columns:
    """The questions' columns of an export of ``forms``, in the staff's
    ``locale``: each form's questions in order (hidden ones too: agents see
    them). With one form a heading is the question's label; with several,
    the form's title and the label."""

    def __init__(self, forms: Sequence[Form], locale: str) -> None:
        self.locale = locale
        self.forms = {form.id: form for form in forms}
        self.names: list[tuple[str, str]] = []
        self.head: list[str] = []
        for form in forms:
            title = one_line(form.title(locale))
            for name, field in form.fields.items():
                label = one_line(form.text(field.label, locale))
                self.names.append((form.id, name))
                self.head.append(label if len(forms) == 1 else f"{title}: {label}")

    def heading(self) -> list[str]:
        """The first row."""
        words = {key: gettext_for(text, self.locale) for key, text in CSV_TEXTS.items()}
        fixed = ["reference", "form", "submitted", "language", "status"]
        return [safe_cell(words[key]) for key in fixed] + [
            *map(safe_cell, self.head),
            safe_cell(words["other"]),
        ]

    def row(self, submission: StoredSubmission) -> list[str]:
        """One submission's row (cells made safe)."""
        words = {key: gettext_for(text, self.locale) for key, text in CSV_TEXTS.items()}
        form = self.forms.get(submission.form)
        status = (
            words["erased"]
            if submission.erased
            else words["spam"]
            if submission.spam
            else words["accepted"]
        )
        cells = [
            submission.reference,
            submission.form,
            submission.submitted_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            submission.locale,
            status,
        ]
        files = _files(submission)
        for form_id, name in self.names:
            if form is None or form_id != submission.form:
                cells.append("")
                continue
            field = form.fields[name]
            value = submission.data.get(name)
            if field.type == "file":
                cells.append("; ".join(files.get(name, ())))
            elif blank(value):
                cells.append("")
            else:
                cells.append(format_answer(form, field, value, self.locale))
        known = form.fields if form is not None else {}
        others = [
            f"{one_line(name)}: {one_line(plain(value))}"
            for name, value in submission.data.items()
            if name not in known and not blank(value)
        ]
        cells.append("; ".join(others))
        return [safe_cell(cell) for cell in cells]


def _files(submission: StoredSubmission) -> Mapping[str, list[str]]:
    named: dict[str, list[str]] = {}
    for file, attached_as in zip(submission.files, attachment_names(submission), strict=True):
        named.setdefault(file.field, []).append(attached_as)
    return named


def csv_lines(rows: Iterable[Sequence[str]]) -> str:
    """``rows`` written as CSV (every cell quoted as needed, CRLF line ends)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()
