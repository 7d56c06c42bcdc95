"""The store's vocabulary in one import: its records, the ``Store`` protocol,
the checks every backend applies, and how references and worker ids are made.

The records live in ``records.py``, the protocol in ``protocol.py`` and the
checks in ``checks.py``; this module names them all, so that
``from intakeforms.store.base import StoredSubmission`` keeps working.
"""

from __future__ import annotations

import os
import secrets
import socket

from intakeforms.store.checks import (
    MAX_NOTE_LENGTH,
    check_claim,
    check_listing,
    check_moment,
    check_recipient,
    check_worker,
    clean_note,
    recipient_hash,
)
from intakeforms.store.protocol import Store
from intakeforms.store.records import (
    FAQ_EVENTS,
    JOB_STATUSES,
    ClaimedJob,
    ContactQuery,
    DraftRecord,
    EarlierContact,
    FaqCounts,
    FaqSearchRecord,
    NewSubmission,
    OutboxJob,
    PurgeResult,
    SaveResult,
    SpamEntry,
    StoredFile,
    StoredSubmission,
)

__all__ = [
    "FAQ_EVENTS",
    "JOB_STATUSES",
    "MAX_NOTE_LENGTH",
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "ClaimedJob",
    "ContactQuery",
    "DraftRecord",
    "EarlierContact",
    "FaqCounts",
    "FaqSearchRecord",
    "NewSubmission",
    "OutboxJob",
    "PurgeResult",
    "SaveResult",
    "SpamEntry",
    "Store",
    "StoredFile",
    "StoredSubmission",
    "check_claim",
    "check_listing",
    "check_moment",
    "check_recipient",
    "check_worker",
    "clean_note",
    "new_reference",
    "new_worker_id",
    "recipient_hash",
]

#: Crockford's base32 digits: no I, L, O or U, so a reference read aloud over
#: the phone or copied by hand cannot be mistaken for another one.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: 32**6 ≈ 1.07 billion references per prefix: short enough to read out,
#: sparse enough that guessing one is hopeless and collisions are rare.
REFERENCE_LENGTH = 6


def new_reference(prefix: str) -> str:
    """A fresh random reference like ``CAR-4F7K2Q``.

    The characters come from :mod:`secrets`, so references cannot be
    predicted from earlier ones. Uniqueness is the store's job: it retries on
    the rare collision.
    """
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{prefix}-{body}"


def new_worker_id() -> str:
    """A name for one running delivery worker, like ``web-1:4242:9f3a01``.

    Host and process id say where it runs (for ``intakeforms outbox list``);
    the random part keeps a restarted process that got the same id from
    answering for jobs its previous life claimed.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
