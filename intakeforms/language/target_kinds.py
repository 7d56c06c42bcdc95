"""The kinds of delivery target a form's ``deliver`` list may name, and the item that names one.

A kind (``email``, ``zendesk``, or one of your own) is a :class:`TargetKind`:
the pydantic model of its settings in a form file, the load-time check of
what the model cannot say, the name of the setting that holds its secret's
environment variable, and the function that delivers a submission. The
package registers its own kinds when it is imported
(:mod:`intakeforms.targets`); :func:`register_target` adds more from Python,
and packages that declare an ``intakeforms.targets`` entry point are
registered the first time a kind is looked up.

This module is the form language's view of targets: the loader asks it what
a ``deliver`` item may hold, and it knows nothing of how a kind delivers
(the worker calls ``deliver``; ``prepare`` may run in a build process).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic_core import core_schema

from intakeforms.errors import IntakeError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue

    from intakeforms.errors import Problem
    from intakeforms.language.models import FormDefinition
    from intakeforms.language.source import Document, Path

__all__ = [
    "AUTOREPLY_TARGET",
    "ENTRY_POINT_GROUP",
    "DeliverTarget",
    "TargetCheck",
    "TargetKind",
    "deliver_model",
    "register_target",
    "target_kind",
    "target_kinds",
    "unregister_target",
]

logger = logging.getLogger("intakeforms")

#: The entry point group a package names its target kinds under, each
#: entry point a :class:`TargetKind` (or a function returning one).
ENTRY_POINT_GROUP = "intakeforms.targets"

#: The outbox job of a form's ``autorespond``: the confirmation to the
#: customer. It is no kind of target a form names: a form has one at most.
AUTOREPLY_TARGET = "autoreply"


@dataclass(frozen=True)
class TargetCheck:
    """What a kind's load-time check gets besides its settings: the form, its
    fields by name, and :meth:`problem` to report at ``deliver[i].KIND…``."""

    doc: Document
    form: FormDefinition
    fields: Mapping[str, Any]
    at: Path
    problems: list[Problem] = field(repr=False)

    def problem(self, path: Path, code: str, message: str, *, key: bool = False) -> None:
        """Report ``message`` (with an error ``code``) at ``path`` under this item's
        settings, like ``("url",)``; ``key`` points at the key, not its value."""
        self.problems.append(self.doc.problem((*self.at, *path), code, message, key=key))


@dataclass(frozen=True)
class TargetKind:
    """A kind of delivery target: everything about it, in one place.

    ``name`` is the key a form writes (``deliver: [{NAME: {...}}]``);
    ``model`` is the pydantic model of its settings (``extra="forbid"`` so a
    misspelt key is found; its docstring and field descriptions become the
    editors' help). ``deliver(job, settings)`` is awaited by the worker for
    each job and returns a receipt (what the target answered, like
    ``zendesk ticket 123``) or raises
    :class:`~intakeforms.TransientDeliveryError` (retried later) or
    :class:`~intakeforms.PermanentDeliveryError` (dead-lettered). ``job``
    is a :class:`~intakeforms.DeliveryJob`, or with ``over_http``
    an :class:`~intakeforms.HttpJob` whose ``client`` is
    ready. ``check(ctx, settings)`` reports what the model cannot check
    when the form loads. ``credential_setting`` names the setting that holds the
    name of the environment variable with the kind's secret (warned about
    when unset). ``prepare(job, settings)`` is for a kind that sends mail:
    it builds the ``EmailMessage`` (CPU work, possibly in a build process),
    the worker's mail transport readies it, and ``deliver`` finds it on
    ``job.prepared`` to hand to ``job.transport.send``.
    """

    name: str
    model: type[BaseModel]
    deliver: Callable[[Any, Any], Awaitable[str]]
    check: Callable[[TargetCheck, Any], None] | None = None
    credential_setting: str | None = None
    over_http: bool = False
    prepare: Callable[[Any, Any], Any] | None = None


_KINDS: dict[str, TargetKind] = {}
_LOCK = threading.Lock()
_ENTRY_POINTS_LOADED = False


def register_target(kind: TargetKind, *, replace: bool = False) -> TargetKind:
    """Make ``kind`` a target forms may name in ``deliver``; returns it.

    Register before loading the forms that name it (forms already loaded
    keep what they were loaded with). A name already taken raises
    :class:`~intakeforms.IntakeError` unless ``replace`` is true.
    """
    if not kind.name.isidentifier() or not kind.name.islower():
        raise IntakeError(
            f"target kind {kind.name!r}: a name is lowercase letters, digits and _, like helpdesk"
        )
    if kind.name == AUTOREPLY_TARGET:
        raise IntakeError(f"target kind {kind.name!r}: the name is taken by the confirmation")
    with _LOCK:
        if kind.name in _KINDS and not replace and _KINDS[kind.name] is not kind:
            raise IntakeError(
                f"target kind {kind.name!r} is registered already; pass replace=True "
                "to put yours in its place"
            )
        _KINDS[kind.name] = kind
        deliver_model.cache_clear()
    return kind


def unregister_target(name: str) -> TargetKind | None:
    """Take the kind called ``name`` out of the registry (a plug-in's tests
    put the registry back as they found it); returns it, or None."""
    with _LOCK:
        found = _KINDS.pop(name, None)
        deliver_model.cache_clear()
    return found


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            found = point.load()
            kind = found() if callable(found) and not isinstance(found, TargetKind) else found
            if not isinstance(kind, TargetKind):
                raise TypeError(f"it is a {type(kind).__name__}, not a TargetKind")
            if kind.name not in _KINDS:
                register_target(kind)
        except Exception as exc:
            # A broken plug-in must not stop the forms that do not use it;
            # a form that names its kind gets "unknown target" when it loads.
            logger.warning(
                "target entry point %r (%s) is not used: %s", point.name, point.value, exc
            )


def target_kinds() -> Mapping[str, TargetKind]:
    """Every registered kind by name, the package's own first."""
    _load_entry_points()
    return dict(_KINDS)


def target_kind(name: str) -> TargetKind | None:
    """The kind called ``name``, or None when none is registered."""
    found = _KINDS.get(name)
    if found is None and not _ENTRY_POINTS_LOADED:
        _load_entry_points()
        found = _KINDS.get(name)
    return found


@functools.cache
def deliver_model() -> type[BaseModel]:
    """The model of one ``deliver`` item: one optional key per registered kind.

    Rebuilt when a kind is registered; its JSON Schema is what editors offer.
    """
    kinds = target_kinds()
    fields: dict[str, Any] = {name: (kind.model | None, None) for name, kind in kinds.items()}
    model: type[BaseModel] = create_model(
        "DeliverTarget",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__="One place each submission goes; exactly one key.",
        **fields,
    )
    return model


class DeliverTarget:
    """One item of a form's ``deliver`` list: the kinds it names, and their settings.

    A loaded form's items name exactly one kind (the loader checks it):
    :attr:`kind` and :attr:`config` say which and how. Built from a form
    file by the loader, or by hand: ``DeliverTarget(email=EmailTarget(...))``.
    """

    __slots__ = ("_named",)

    def __init__(self, **named: BaseModel | None) -> None:
        self._named = {name: config for name, config in named.items() if config is not None}

    @property
    def named(self) -> list[str]:
        """The kinds this item names, in the order written (one when loaded)."""
        return list(self._named)

    @property
    def kind(self) -> str:
        """The kind of target this item names, like ``zendesk``.

        An item that names none, or more than one, raises ``ValueError``.
        """
        if len(self._named) != 1:
            raise ValueError(
                "this deliver item names no target"
                if not self._named
                else "this deliver item names more than one target"
            )
        return next(iter(self._named))

    @property
    def config(self) -> Any:
        """The settings of the target this item names (an ``EmailTarget``…)."""
        return self._named[self.kind]

    def __getattr__(self, name: str) -> Any:
        # ``item.email``: the settings when the item names that kind, else
        # None, as the fields of a model with one optional key per kind.
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._named:
            return self._named[name]
        if target_kind(name) is not None:
            return None
        raise AttributeError(f"no target kind {name!r} is registered")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeliverTarget) and self._named == other._named

    def __hash__(self) -> int:
        return hash(tuple(self._named))

    def __repr__(self) -> str:
        inside = ", ".join(f"{name}={config!r}" for name, config in self._named.items())
        return f"DeliverTarget({inside})"

    @classmethod
    def _validate(cls, value: Any) -> DeliverTarget:
        if isinstance(value, DeliverTarget):
            return value
        # Validated by the model of today's kinds, so an error inside a
        # kind's settings keeps its place (deliver[0].zendesk.email).
        item = deliver_model().model_validate(value)
        return cls(**{name: getattr(item, name) for name in type(item).model_fields})

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, ref=f"{__name__}.DeliverTarget:1"
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(deliver_model().__pydantic_core_schema__)
