"""A submission's earlier contacts, looked up by the worker before delivering it.

The agent email, tickets and webhooks list the customer's earlier contacts
(:mod:`intakeforms.mail.history`). The worker looks them up here, in its own
process where the store is, and hands the result to whatever builds the
message with the job (:attr:`~intakeforms.delivery.jobs.DeliveryJob.history`,
:attr:`~intakeforms.delivery.http.HttpJob.history`): a build process has
no store, and needs none.

Which keys: the submission's answers' keys made again with every secret of
``INTAKE_SECRET`` (:func:`~intakeforms.intake.contact_keys`), rather than
read back from the store (``Store.contact_keys_of``). The store kept only
the keys of the first secret at the time; made again with every secret
listed, they also find the earlier contacts keyed with an older secret, so
the history stays whole across a rotation as long as the old secret is
listed. And it costs no read of the store: one query per delivery, for the
contacts. (The worker must have the service's secret, as it must for the
status and draft links it signs.)

The window is ``INTAKE_HISTORY_DAYS`` before the submission was sent, not
before the delivery: every attempt to deliver one submission lists the
same contacts (until one is erased), so a retry builds the same message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from intakeforms.intake import contact_keys
from intakeforms.mail.history import History, make_history

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.settings import Settings
    from intakeforms.store import Store, StoredSubmission

__all__ = ["HISTORY_LIMIT", "look_up_history"]

#: The most earlier contacts one delivery lists, newest first.
HISTORY_LIMIT = 10


async def look_up_history(
    store: Store,
    forms: Mapping[str, Form],
    form: Form,
    submission: StoredSubmission,
    settings: Settings,
) -> History | None:
    """The earlier contacts of ``submission``'s customer (see the module's
    docstring), each written for the languages of ``form`` with its own
    form from ``forms``; None when the submission has no contact keys (no
    email or phone answered, or its answers erased)."""
    if submission.erased:
        return None
    keys = {
        key for secret in settings.secrets for key in contact_keys(form, submission.data, secret)
    }
    if not keys:
        return None
    moment = submission.submitted_at
    if moment.tzinfo is None:  # the store promises UTC; an old row may lack it
        moment = moment.replace(tzinfo=dt.UTC)
    contacts = await store.earlier_contacts(
        sorted(keys),
        before_reference=submission.reference,
        since=moment - dt.timedelta(days=settings.history_days),
        limit=HISTORY_LIMIT,
    )
    return make_history(contacts, forms, days=settings.history_days, locales=form.locales)
