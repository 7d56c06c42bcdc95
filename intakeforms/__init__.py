"""intakeforms: YAML contact forms → validated web forms, chat pop-ups and agent emails.

>>> from intakeforms import load_form
>>> form = load_form("examples/car-service/car-service.yaml")
>>> form.validate({"plate": "abc123", ...}, locale="fi")["plate"]
'ABC-123'
"""

from intakeforms.compile import compile_schema, language_schema
from intakeforms.errors import FieldError, FormError, IntakeError, InvalidAnswers, Problem
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
    "compile_schema",
    "language_schema",
    "load_form",
    "load_form_text",
    "load_forms",
]

__version__ = "0.1.0"
