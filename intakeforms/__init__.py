"""intakeforms: YAML contact forms → validated web forms, chat pop-ups and agent emails.

Load a form with ``load_form(path)``, check answers with
``form.validate(answers, locale="fi")``, take a submission in with
``await submit(store, form, answers)``, see its agent email with
``preview(form, answers)``, serve forms with ``create_app(forms, settings)``
and deliver with a ``Worker``; see what visitors did with
``await form_figures(store, form, start, end)``. Everything here is the
public API; the modules behind it may move.

The web service and the worker are imported when first used, so that
loading and checking forms does not load a web framework.
"""

import typing

from intakeforms.compile import compile_schema, language_schema
from intakeforms.errors import (
    BuildError,
    DeliveryError,
    FieldError,
    FormError,
    IntakeError,
    InvalidAnswers,
    LeaseLost,
    LinkDamaged,
    LinkError,
    LinkExpired,
    PermanentDeliveryError,
    Problem,
    SettingsError,
    StoreUnavailable,
    TransientDeliveryError,
    UnstorableSubmission,
)
from intakeforms.faq.library import FaqLibrary, FaqResult
from intakeforms.faq.load import Faq, load_faq, load_faqs
from intakeforms.form import Form
from intakeforms.intake import JobTarget, Receipt, submit
from intakeforms.links import LinkClaims, make_link, parse_duration, read_token
from intakeforms.load import load_form, load_form_text, load_forms
from intakeforms.mail import (
    attachment_name,
    build_agent_email,
    build_customer_email,
    customer_address,
)
from intakeforms.preview import preview
from intakeforms.settings import Settings, load_settings
from intakeforms.stats import FormFigures, form_figures, roll_up
from intakeforms.store import (
    DraftRecord,
    EarlierContact,
    FaqCounts,
    FaqSearchRecord,
    NewSubmission,
    Store,
    StoredFile,
    StoredSubmission,
    open_store,
)
from intakeforms.targets import (
    DeliverTarget,
    TargetCheck,
    TargetKind,
    register_target,
    target_kinds,
    unregister_target,
)
from intakeforms.targets.webhook import sign_webhook
from intakeforms.validate import Answers
from intakeforms.version import __version__ as __version__

if typing.TYPE_CHECKING:
    from intakeforms.delivery import MailTransport, Worker, deliver_in_process, mail_transport
    from intakeforms.delivery.http import HttpJob
    from intakeforms.delivery.jobs import DeliveryJob
    from intakeforms.web import create_app

__all__ = [
    "Answers",
    "BuildError",
    "DeliverTarget",
    "DeliveryError",
    "DeliveryJob",
    "DraftRecord",
    "EarlierContact",
    "Faq",
    "FaqCounts",
    "FaqLibrary",
    "FaqResult",
    "FaqSearchRecord",
    "FieldError",
    "Form",
    "FormError",
    "FormFigures",
    "HttpJob",
    "IntakeError",
    "InvalidAnswers",
    "JobTarget",
    "LeaseLost",
    "LinkClaims",
    "LinkDamaged",
    "LinkError",
    "LinkExpired",
    "MailTransport",
    "NewSubmission",
    "PermanentDeliveryError",
    "Problem",
    "Receipt",
    "Settings",
    "SettingsError",
    "Store",
    "StoreUnavailable",
    "StoredFile",
    "StoredSubmission",
    "TargetCheck",
    "TargetKind",
    "TransientDeliveryError",
    "UnstorableSubmission",
    "Worker",
    "attachment_name",
    "build_agent_email",
    "build_customer_email",
    "compile_schema",
    "create_app",
    "customer_address",
    "deliver_in_process",
    "form_figures",
    "language_schema",
    "load_faq",
    "load_faqs",
    "load_form",
    "load_form_text",
    "load_forms",
    "load_settings",
    "mail_transport",
    "make_link",
    "open_store",
    "parse_duration",
    "preview",
    "read_token",
    "register_target",
    "roll_up",
    "sign_webhook",
    "submit",
    "target_kinds",
    "unregister_target",
]

#: Public names imported on first use, by the module that holds them.
_LAZY = {
    "create_app": "intakeforms.web",
    "DeliveryJob": "intakeforms.delivery.jobs",
    "HttpJob": "intakeforms.delivery.http",
    "MailTransport": "intakeforms.delivery",
    "Worker": "intakeforms.delivery",
    "deliver_in_process": "intakeforms.delivery",
    "mail_transport": "intakeforms.delivery",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'intakeforms' has no attribute {name!r}")
    import importlib

    value: object = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
