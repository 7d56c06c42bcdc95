"""A customer's earlier contacts, found by their contact keys.

The caller (``intake``) turns the email and phone number a customer gave
into contact keys: normalised, then hashed with the service's secret, so
the store never holds a second copy of an address and cannot tell whose a
key is. A submission keeps its keys (``NewSubmission.contact_keys``, in the
table ``submission_contacts``); :meth:`ContactMethods.earlier_contacts`
lists the other submissions with one of the same keys, for the agent
email's "earlier contacts" and the customer's status page.

Only the same keys match: a customer never sees another's contacts. Spam
is never listed. Erasing a submission (a request or retention) removes its
keys with its answers, so an erased contact is no longer tied to anyone.

:class:`ContactMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import Session, Work
from intakeforms.store.records import MAX_CONTACT_KEY, ContactQuery, EarlierContact
from intakeforms.store.storable import text_problem

__all__ = ["MAX_EARLIER", "ContactMethods"]

_T = TypeVar("_T")

#: The most earlier contacts one call lists.
MAX_EARLIER = 1000

_KEYS_OF = "SELECT key FROM submission_contacts WHERE reference = :reference ORDER BY key"


async def earlier(
    s: Session,
    keys: list[str],
    before: str | None,
    since: dt.datetime,
    now: dt.datetime,
    limit: int,
) -> list[EarlierContact]:
    """The submissions holding one of ``keys`` in [since, ``before``'s time]
    (or up to ``now``), other than ``before``; newest first."""
    # One statement: the time of ``before`` is read in it (no such
    # submission: nothing is earlier), so it needs no transaction around it.
    values = {
        "keys": keys,
        "before": "" if before is None else before,
        "since": since,
        "until": now,
        "limit": limit,
    }
    rows = await s.rows(s.sql.earlier_contacts, values)
    return [
        EarlierContact(
            reference=row[0],
            form=row[1],
            submitted_at=s.moment(row[2]),
            erased=row[3] is not None,
            data=None if row[3] is not None else s.answers(row[4]),
        )
        for row in rows
    ]


async def keys_of(s: Session, reference: str) -> tuple[str, ...]:
    """The contact keys a submission keeps, in text order."""
    return tuple(str(row[0]) for row in await s.rows(_KEYS_OF, {"reference": reference}))


#: The most rows one batch look-up reads; past it, each asks on its own.
_BATCH_ROWS = 5000


async def _pairs(
    s: Session, keys: list[str], since: dt.datetime, until: dt.datetime
) -> list[tuple[str, EarlierContact]]:
    values = {"keys": keys, "since": since, "until": until, "limit": _BATCH_ROWS}
    return [
        (
            str(row[0]),
            EarlierContact(
                reference=row[1],
                form=row[2],
                submitted_at=s.moment(row[3]),
                erased=row[4] is not None,
                data=None if row[4] is not None else s.answers(row[5]),
            ),
        )
        for row in await s.rows(s.sql.contacts_of_keys, values)
    ]


class ContactMethods(abc.ABC):
    """The earlier-contact methods of the ``Store`` protocol."""

    _clock: Callable[[], dt.datetime]

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    async def earlier_contacts(
        self,
        keys: Sequence[str],
        *,
        before_reference: str | None,
        since: dt.datetime,
        limit: int = 10,
    ) -> list[EarlierContact]:
        """The customer's other submissions: those holding one of the
        contact ``keys``, submitted at ``since`` or later and no later than
        the submission ``before_reference`` (which is left out; None: up to
        now), not spam; newest first, up to ``limit``.

        Submissions saved together (in one group commit) share a time, so
        each lists the other. An unknown ``before_reference`` lists nothing,
        and so do no keys. ``ValueError`` for keys given as one text, an
        empty or overlong key, a naive ``since`` or a ``limit`` out of
        1 to :data:`MAX_EARLIER`.
        """
        wanted = _check_keys(keys)
        moment = check_moment("since", since)
        if not 1 <= limit <= MAX_EARLIER:
            raise ValueError(f"limit must be 1 to {MAX_EARLIER}, not {limit}")
        if before_reference is not None and not _is_reference(before_reference):
            raise ValueError("before_reference must be a submission's reference, or None")
        if not wanted:
            return []
        now = self._clock()
        return await self._read(lambda s: earlier(s, wanted, before_reference, moment, now, limit))

    async def earlier_contacts_many(
        self, queries: Sequence[ContactQuery], *, limit: int = 10
    ) -> list[list[EarlierContact]]:
        """:meth:`earlier_contacts` of several submissions in one read of the
        store (a worker's batch of deliveries): for each query, the other
        submissions holding one of its keys from its ``since`` to its
        ``until``, not spam, newest first, up to ``limit``."""
        if not 1 <= limit <= MAX_EARLIER:
            raise ValueError(f"limit must be 1 to {MAX_EARLIER}, not {limit}")
        checked = [
            (
                _check_keys(q.keys),
                q.reference,
                check_moment("since", q.since),
                check_moment("until", q.until),
            )
            for q in queries
        ]
        wanted = sorted({key for keys, *_ in checked for key in keys})
        if not wanted:
            return [[] for _ in checked]
        since = min(q[2] for q in checked if q[0])
        until = max(q[3] for q in checked if q[0])
        pairs = await self._read(lambda s: _pairs(s, wanted, since, until))
        if len(pairs) >= _BATCH_ROWS:  # a very busy key: each on its own
            return [
                await self.earlier_contacts(
                    keys, before_reference=reference, since=start, limit=limit
                )
                if keys
                else []
                for keys, reference, start, _ in checked
            ]
        found: list[list[EarlierContact]] = []
        for keys, reference, start, end in checked:
            mine = set(keys)
            by_reference = {
                c.reference: c
                for key, c in pairs
                if key in mine and c.reference != reference and start <= c.submitted_at <= end
            }
            ordered = sorted(
                by_reference.values(), key=lambda c: (c.submitted_at, c.reference), reverse=True
            )
            found.append(ordered[:limit])
        return found

    async def contact_keys_of(self, reference: str) -> tuple[str, ...]:
        """The contact keys the submission ``reference`` keeps (none once it
        is erased, or when there is no such submission): for listing the
        earlier contacts of a stored submission, as its status page does."""
        if not _is_reference(reference):
            return ()
        return await self._read(lambda s: keys_of(s, reference))


def _is_reference(reference: object) -> bool:
    return isinstance(reference, str) and bool(reference) and text_problem(reference) is None


def _check_keys(keys: Sequence[str]) -> list[str]:
    if isinstance(keys, str):
        raise TypeError("keys must be a list of contact keys, not one text")
    for key in keys:
        if (
            not isinstance(key, str)
            or not key
            or len(key) > MAX_CONTACT_KEY
            or text_problem(key) is not None
        ):
            raise ValueError(
                f"a contact key must be a text of 1 to {MAX_CONTACT_KEY} characters "
                "(a hash of a normalised address or phone number)"
            )
    return list(dict.fromkeys(keys))
