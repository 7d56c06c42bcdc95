"""Where submissions go: one module per kind of delivery target, and the registry.

Each module holds everything about its kind: the model of its settings in
a form file, its load-time check, the setting naming its secret, and how it
delivers::

    email      intakeforms.targets.email      an email to the agents
    webhook    intakeforms.targets.webhook    signed JSON (Standard Webhooks)
    zendesk    intakeforms.targets.zendesk    a Zendesk Support ticket
    freshdesk  intakeforms.targets.freshdesk  a Freshdesk ticket
    zammad     intakeforms.targets.zammad     a Zammad ticket

They are registered here, in this order (the order editors list them in).
A kind of your own is a :class:`TargetKind` given to :func:`register_target`
or named by an ``intakeforms.targets`` entry point (docs/extending.md).
"""

from __future__ import annotations

from intakeforms.language.target_kinds import (
    ENTRY_POINT_GROUP,
    DeliverTarget,
    TargetCheck,
    TargetKind,
    register_target,
    target_kind,
    target_kinds,
    unregister_target,
)
from intakeforms.targets import email, freshdesk, webhook, zammad, zendesk

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "TARGET_KINDS",
    "DeliverTarget",
    "TargetCheck",
    "TargetKind",
    "register_target",
    "target_kind",
    "target_kinds",
    "unregister_target",
]

#: The package's own kinds, in the order the language documents them.
BUILTIN: tuple[TargetKind, ...] = (
    email.KIND,
    webhook.KIND,
    zendesk.KIND,
    freshdesk.KIND,
    zammad.KIND,
)

for _kind in BUILTIN:
    register_target(_kind)

#: The names of the package's own kinds, in that order.
TARGET_KINDS: tuple[str, ...] = tuple(kind.name for kind in BUILTIN)
