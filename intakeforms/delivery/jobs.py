"""What a target kind is handed for one job: the submission, its form and the worker's means.

:class:`DeliveryJob` is what a kind's ``prepare`` and ``deliver`` get (a
kind delivered over HTTP gets an :class:`~intakeforms.delivery.http.HttpJob`
with a client instead); :class:`MailTransport` is how the worker sends mail.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.mail.history import History
    from intakeforms.settings import Settings
    from intakeforms.store.base import StoredSubmission

__all__ = ["DeliveryJob", "MailTransport"]


class MailTransport(Protocol):
    """Sends agent emails: an SMTP server, or a folder of ``.eml`` files."""

    def prepare(self, message: Any) -> Any:
        """Whatever ``send`` takes, made from a built message ahead of sending;
        called in a thread or a build process, so it may cost CPU (flattening).
        For build processes it must be a module-level function that pickles by
        name (a ``staticmethod``), and what it returns must pickle too."""
        ...

    async def send(self, message: Any) -> str:
        """Send one message; return a receipt (the server's answer, a path)."""
        ...

    async def close(self) -> None:
        """Release connections; called when the worker goes idle."""
        ...


@dataclass(frozen=True)
class DeliveryJob:
    """One delivery of one submission to one target, as its kind sees it.

    ``index`` is the target's position in the form's ``deliver`` list;
    ``settings`` the worker's (``mail_from``, ``upload_dir``…); secrets are
    read from ``environ``. For ``deliver``, ``prepared`` holds what the
    kind's ``prepare`` built (None for a kind without one) and
    ``transport`` the worker's mail transport. ``history`` is the
    customer's earlier contacts, looked up by the worker
    (:func:`~intakeforms.delivery.history.look_up_history`); None when it
    has none to give.
    """

    form: Form
    submission: StoredSubmission
    index: int
    settings: Settings
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    transport: MailTransport | None = field(default=None, repr=False)
    prepared: Any = field(default=None, repr=False)
    history: History | None = field(default=None, repr=False)
