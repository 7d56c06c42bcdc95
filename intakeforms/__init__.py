"""intakeforms: YAML contact forms → validated web forms, chat pop-ups and agent emails.

Load a form with ``load_form(path)``, check answers with
``form.validate(answers, locale="fi")``, serve forms with
``intakeforms.web.create_app(forms, settings)``.
"""

from intakeforms.compile import compile_schema, language_schema
from intakeforms.errors import (
    FieldError,
    FormError,
    IntakeError,
    InvalidAnswers,
    Problem,
    SettingsError,
    StoreUnavailable,
)
from intakeforms.form import Form
from intakeforms.load import load_form, load_form_text, load_forms
from intakeforms.validate import Answers

__all__ = [
    "Answers",
    "FieldError",
    "Form",
    "FormError",
    "IntakeError",
    "InvalidAnswers",
    "Problem",
    "SettingsError",
    "StoreUnavailable",
    "compile_schema",
    "language_schema",
    "load_form",
    "load_form_text",
    "load_forms",
]

__version__ = "0.1.0"
