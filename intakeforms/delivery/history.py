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
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from intakeforms.intake import contact_keys
from intakeforms.mail.history import History, make_history
from intakeforms.store.records import ContactQuery

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.settings import Settings
    from intakeforms.store import Store, StoredSubmission

__all__ = ["HISTORY_LIMIT", "look_up_batch", "look_up_history"]

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
    # A submission's jobs (one per target) are claimed together and list
    # the same contacts: the first one's look-up serves the others.
    memo = (id(store), submission.reference, settings.secrets, settings.history_days)
    found = _RECENT.get(memo)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    history = await _look_up(store, forms, form, submission, settings)
    _RECENT[memo] = (time.monotonic() + _RECENT_SECONDS, history)
    while len(_RECENT) > _RECENT_MAX:
        _RECENT.pop(next(iter(_RECENT)))
    return history


#: Look-ups of the last moments, by store, submission and settings: long
#: enough for a batch's jobs of one submission, short enough that an erasure
#: is seen by the next retry.
_RECENT: dict[tuple[Any, ...], tuple[float, History | None]] = {}
_RECENT_SECONDS = 30.0
_RECENT_MAX = 512


async def look_up_batch(
    store: Store,
    forms: Mapping[str, Form],
    submissions: Sequence[StoredSubmission],
    settings: Settings,
) -> None:
    """Look up the earlier contacts of a batch of submissions in one read of
    the store, for the worker's batch: each delivery then finds its own
    ready (:func:`look_up_history`) instead of waiting its turn at the store."""
    queries: list[ContactQuery] = []
    wanted: list[tuple[tuple[Any, ...], Form, bool]] = []
    now = time.monotonic()
    unique = {submission.reference: submission for submission in submissions}
    for submission in unique.values():
        form = forms.get(submission.form)
        memo = (id(store), submission.reference, settings.secrets, settings.history_days)
        found = _RECENT.get(memo)
        if form is None or submission.erased or (found is not None and found[0] > now):
            continue
        keys = _keys(form, submission, settings)
        moment = _moment(submission)
        since = moment - dt.timedelta(days=settings.history_days)
        queries.append(ContactQuery(sorted(keys), submission.reference, since, moment))
        wanted.append((memo, form, bool(keys)))
    if not queries:
        return
    lists = await store.earlier_contacts_many(queries, limit=HISTORY_LIMIT)
    expires = time.monotonic() + _RECENT_SECONDS
    for (memo, form, has_keys), contacts in zip(wanted, lists, strict=True):
        history = (
            make_history(contacts, forms, days=settings.history_days, locales=form.locales)
            if has_keys
            else None
        )
        _RECENT[memo] = (expires, history)
    while len(_RECENT) > _RECENT_MAX:
        _RECENT.pop(next(iter(_RECENT)))


def _keys(form: Form, submission: StoredSubmission, settings: Settings) -> set[str]:
    return {
        key for secret in settings.secrets for key in contact_keys(form, submission.data, secret)
    }


def _moment(submission: StoredSubmission) -> dt.datetime:
    moment = submission.submitted_at
    if moment.tzinfo is None:  # the store promises UTC; an old row may lack it
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


async def _look_up(
    store: Store,
    forms: Mapping[str, Form],
    form: Form,
    submission: StoredSubmission,
    settings: Settings,
) -> History | None:
    keys = _keys(form, submission, settings)
    if not keys:
        return None
    moment = _moment(submission)
    contacts = await store.earlier_contacts(
        sorted(keys),
        before_reference=submission.reference,
        since=moment - dt.timedelta(days=settings.history_days),
        limit=HISTORY_LIMIT,
    )
    return make_history(contacts, forms, days=settings.history_days, locales=form.locales)
