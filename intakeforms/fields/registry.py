"""The field types a form may use, each named once: by its :class:`FieldType`.

The form language (models, rules, compile, validate, the HTML form) looks a
type up here and asks its entry; no other module lists the types. A new type
is a module of this package defining its model and its entry, added to
:data:`BUILTIN`; :func:`register` adds one from outside the package.
"""

from __future__ import annotations

from collections.abc import Callable

from intakeforms.fields.base import FieldType
from intakeforms.fields.choice import BOOLEAN, CHOICE, CONSENT, MULTICHOICE
from intakeforms.fields.dates import DATE, TIME
from intakeforms.fields.files import FILE
from intakeforms.fields.hidden import HIDDEN
from intakeforms.fields.identifiers import BUSINESS_ID, IBAN, NATIONAL_ID, VIN
from intakeforms.fields.layout import LAYOUT
from intakeforms.fields.numbers import INTEGER, NUMBER
from intakeforms.fields.phone import PHONE
from intakeforms.fields.plate import PLATE
from intakeforms.fields.postal import POSTAL_CODE
from intakeforms.fields.text import EMAIL, TEXT, TEXTAREA, URL

__all__ = [
    "BUILTIN",
    "TYPES",
    "field_type",
    "on_change",
    "register",
    "unregister",
]

#: The built-in types, in the order the language lists them (its schema, its
#: documentation, the "the types are …" of an unknown type).
BUILTIN: tuple[FieldType, ...] = (
    TEXT,
    TEXTAREA,
    EMAIL,
    PHONE,
    URL,
    HIDDEN,
    INTEGER,
    NUMBER,
    CHOICE,
    MULTICHOICE,
    BOOLEAN,
    CONSENT,
    DATE,
    TIME,
    FILE,
    PLATE,
    VIN,
    IBAN,
    POSTAL_CODE,
    NATIONAL_ID,
    BUSINESS_ID,
)

#: Every type by its name, in the language's order. Read it, change it only
#: through :func:`register` and :func:`unregister`.
TYPES: dict[str, FieldType] = {entry.name: entry for entry in BUILTIN}

_listeners: list[Callable[[], None]] = []


def field_type(name: str) -> FieldType:
    """The entry of the type called ``name``; ``KeyError`` for an unknown one."""
    return TYPES[name]


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever a type is registered or unregistered.

    The form language rebuilds the model of a form file with it, so a type
    registered after import is accepted in form files.
    """
    _listeners.append(listener)


def register(entry: FieldType) -> None:
    """Add a field type; ``ValueError`` when its name is taken or its model's
    ``type`` is not its name."""
    if entry.name in TYPES:
        raise ValueError(f"there is already a field type {entry.name!r}")
    if entry.name in LAYOUT:
        raise ValueError(f"{entry.name!r} is an item of the form language, not a field type")
    declared = entry.model.model_fields.get("type")
    if declared is None or getattr(declared.annotation, "__args__", None) != (entry.name,):
        raise ValueError(f"the model of {entry.name!r} needs type: Literal[{entry.name!r}]")
    TYPES[entry.name] = entry
    for listener in _listeners:
        listener()


def unregister(name: str) -> None:
    """Remove a type added with :func:`register`; built-in types stay."""
    if any(entry.name == name for entry in BUILTIN):
        raise ValueError(f"{name!r} is a built-in field type")
    if TYPES.pop(name, None) is not None:
        for listener in _listeners:
            listener()
