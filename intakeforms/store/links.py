"""Single-use links: which submission used a link first.

A prefilled link made with ``once`` carries a random id (its ``jti``). The
first submission sent through it records the id with its reference
(:meth:`LinkMethods.record_link_use`); a later one learns that the link was
used, and for which reference, so the page can say so. Every process on
the same database sees the same uses, and of two submissions racing with
one link exactly one records it.

A use holds no personal data (the link's id, the form, the reference, the
time) and is kept after its submission is erased, so that the link stays
used.

:class:`LinkMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import TypeVar

from intakeforms.store.checks import check_moment
from intakeforms.store.dialect import Session, Work
from intakeforms.store.storable import text_problem

__all__ = ["MAX_JTI", "LinkMethods"]

_T = TypeVar("_T")

#: The longest link id a store keeps (links made here use 32 hex digits; a
#: portal's JWT ``jti`` may be longer).
MAX_JTI = 200

_INSERT = (
    "INSERT INTO link_uses (jti, form, reference, used_at)"
    " VALUES (:jti, :form, :reference, :at) ON CONFLICT (jti) DO NOTHING"
)
_FIRST = "SELECT reference FROM link_uses WHERE jti = :jti"


async def record(s: Session, jti: str, form: str, reference: str, at: dt.datetime) -> str | None:
    """Record a link's use; None when recorded now, else the first reference.

    On PostgreSQL a concurrent insert of the same id makes this one wait for
    it, then do nothing; the read after it (a new snapshot in READ
    COMMITTED) sees the winner's row. SQLite takes the write lock first.
    """
    async with s.transaction():
        values = {"jti": jti, "form": form, "reference": reference, "at": at}
        if await s.change(_INSERT, values) == 1:
            return None
        row = await s.row(_FIRST, {"jti": jti})
    assert row is not None  # uses are never deleted
    return str(row[0])


async def first(s: Session, jti: str) -> str | None:
    """The reference the link was first used for, or None."""
    row = await s.row(_FIRST, {"jti": jti})
    return None if row is None else str(row[0])


class LinkMethods(abc.ABC):
    """The single-use link methods of the ``Store`` protocol."""

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice (see ``SqlStore``)."""

    async def record_link_use(
        self, jti: str, form: str, reference: str, at: dt.datetime
    ) -> str | None:
        """Record that the single-use link ``jti`` was used for the
        submission ``reference`` of ``form`` at ``at``.

        None when this is its first use (recorded now); else the reference
        of the first use, which stays the one recorded. ``ValueError`` before
        any database work for an empty or overlong id, an empty form or
        reference, text no store can keep, or a naive ``at``.
        """
        _check("jti", jti, MAX_JTI)
        _check("form", form, MAX_JTI)
        _check("reference", reference, MAX_JTI)
        moment = check_moment("at", at)
        return await self._write(lambda s: record(s, jti, form, reference, moment))

    async def link_use(self, jti: str) -> str | None:
        """The reference the single-use link ``jti`` was first used for, or
        None when it was not used (or could never be an id)."""
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI or text_problem(jti):
            return None
        return await self._read(lambda s: first(s, jti))


def _check(name: str, value: object, longest: int) -> None:
    # The value is not echoed: a link id is a secret of a kind.
    if not isinstance(value, str) or not value:
        raise ValueError(f"the link use's {name} is empty")
    if len(value) > longest or text_problem(value) is not None:
        raise ValueError(
            f"the link use's {name} is not a text a store can keep (at most {longest} "
            "characters, no NUL, valid Unicode)"
        )
