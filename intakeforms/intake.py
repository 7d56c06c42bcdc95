"""What a submission sets in motion, decided without the web layer.

The service and the spam review both need to know which deliveries a
submission gets; this module answers that from the form alone, so the
command line can release quarantined spam without importing the web app,
a store backend or the delivery code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intakeforms.form import Form
from intakeforms.language.models import AUTOREPLY_TARGET

__all__ = ["delivery_targets"]


def delivery_targets(form: Form, answers: Mapping[str, Any]) -> list[str]:
    """One outbox job name per deliver item, ``KIND:INDEX`` (``zendesk:2``),
    and ``autoreply`` when the form confirms to the customer and the customer
    gave an address. (A spam submission gets none of them: the store sees to
    that, so that a robot's made-up address never receives mail.)"""
    targets = [f"{target.kind}:{index}" for index, target in enumerate(form.definition.deliver)]
    if form.definition.autorespond is not None:
        field = form.field_with_role("reply_to")
        address = answers.get(field.name) if field is not None else None
        if isinstance(address, str) and address.strip():
            targets.append(AUTOREPLY_TARGET)
    return targets
