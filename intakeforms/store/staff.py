"""Staff accounts, their sessions and the log of what they did.

The staff pages (``/admin``) are for the service's own people. Each has an
account (:class:`StaffAccount`: a name and an argon2 hash of the password,
made by ``intakeforms admin add-user``); signing in starts a
:class:`StaffSession`, found again by the random token of the browser's
cookie. The store never holds a token, only its SHA-256, so a copy of the
database signs nobody in. Every process on one database sees the same
sessions: a PostgreSQL store shares them between instances.

A session ends :data:`SESSION_IDLE` after its last use, and at the latest
:data:`SESSION_LIMIT` after it began; an ended one is never returned, and
the hourly retention (``Store.purge``) deletes it. Removing an account ends
its sessions with it.

What staff do is kept in the admin log (:class:`AdminLogEntry`: who, when,
what, on which reference or form), for good; it names no customer and holds
no answer. The log outlives the accounts it names.

:class:`StaffMethods` holds the ``Store`` methods;
:class:`~intakeforms.store.engine.SqlStore` inherits them.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from intakeforms.store.dialect import Row, Session, Work
from intakeforms.store.storable import text_problem

__all__ = [
    "ADMIN_ACTION",
    "DELETE_EXPIRED_SESSIONS",
    "MAX_LOG_TEXT",
    "SESSION_IDLE",
    "SESSION_LIMIT",
    "SESSION_REFRESH",
    "STAFF_NAME",
    "AdminLogEntry",
    "StaffAccount",
    "StaffMethods",
    "StaffSession",
    "token_hash",
]

_T = TypeVar("_T")

#: What a staff name is: 1 to 64 of ``a-z 0-9 . _ @ -`` (an email address fits).
STAFF_NAME = re.compile(r"[a-z0-9._@-]{1,64}")
#: What an action of the admin log is called (``login``, ``spam.release``).
ADMIN_ACTION = re.compile(r"[a-z0-9._-]{1,64}")
#: A session unused this long has ended.
SESSION_IDLE = dt.timedelta(hours=2)
#: A session has ended this long after it began, however much it is used.
SESSION_LIMIT = dt.timedelta(hours=12)
#: A use moves the idle end on only when it would move by more than this, so
#: that a page of many requests writes the session once, not on each.
SESSION_REFRESH = dt.timedelta(minutes=5)
#: The longest target or detail an admin log entry keeps.
MAX_LOG_TEXT = 200
# An argon2 hash is about 100 characters; anything far longer is a mistake.
_MAX_HASH = 1000

#: The expired sessions (retention deletes them; ``:now``).
DELETE_EXPIRED_SESSIONS = "DELETE FROM staff_sessions WHERE expires_at <= :now"

_ACCOUNT = "SELECT name, password_hash, created_at, last_login_at FROM staff"
_ADD = (
    "INSERT INTO staff (name, password_hash, created_at) VALUES (:name, :hash, :now)"
    " ON CONFLICT (name) DO NOTHING"
)
_NEW_HASH = "UPDATE staff SET password_hash = :hash WHERE name = :name"
_REMOVE = "DELETE FROM staff WHERE name = :name"
_END_ALL = "DELETE FROM staff_sessions WHERE staff = :name"
_START = (
    "INSERT INTO staff_sessions (token_hash, staff, csrf, created_at, expires_at, ends_at)"
    " SELECT :token, name, :csrf, :now, :expires, :ends FROM staff WHERE name = :name"
)
_LOGGED_IN = "UPDATE staff SET last_login_at = :now WHERE name = :name"
# A session counts only while its account exists: one removed in the
# middle of a request leaves no session behind that still works.
_SESSION = (
    "SELECT s.staff, s.csrf, s.created_at, s.expires_at, s.ends_at"
    " FROM staff_sessions s JOIN staff a ON a.name = s.staff"
    " WHERE s.token_hash = :token AND s.expires_at > :now"
)
_SLIDE = (
    "UPDATE staff_sessions SET expires_at = :expires"
    " WHERE token_hash = :token AND expires_at > :now AND expires_at < :expires"
)
_END = "DELETE FROM staff_sessions WHERE token_hash = :token"
_LOG = (
    "INSERT INTO admin_log (at, staff, action, target, detail)"
    " VALUES (:at, :staff, :action, :target, :detail)"
)
_READ_LOG = "SELECT at, staff, action, target, detail FROM admin_log ORDER BY id DESC LIMIT :limit"


def token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """One member of staff who may sign in to the staff pages."""

    name: str
    #: The argon2 hash of the password (never the password; kept out of repr).
    password_hash: str = field(repr=False)
    created_at: dt.datetime
    #: When they last signed in, or None when never.
    last_login_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A signed-in member of staff, as their session says."""

    name: str
    #: The session's CSRF token: every action must carry it (kept out of repr).
    csrf: str = field(repr=False)
    created_at: dt.datetime
    #: When it ends unless used before: the idle end, never after ``ends_at``.
    expires_at: dt.datetime
    #: When it ends however much it is used (``created_at + SESSION_LIMIT``).
    ends_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AdminLogEntry:
    """One thing staff did: who, when, what, on which reference or form."""

    at: dt.datetime
    staff: str
    action: str
    target: str | None
    detail: str | None


# -- the operations ------------------------------------------------------------


def _account(s: Session, row: Row) -> StaffAccount:
    return StaffAccount(
        name=row[0],
        password_hash=row[1],
        created_at=s.moment(row[2]),
        last_login_at=None if row[3] is None else s.moment(row[3]),
    )


async def add(s: Session, name: str, hashed: str, now: dt.datetime) -> bool:
    """Add an account; False when the name is taken."""
    async with s.transaction():
        return await s.change(_ADD, {"name": name, "hash": hashed, "now": now}) == 1


async def remove(s: Session, name: str) -> bool:
    """Remove an account and end its sessions, together; whether it was there."""
    async with s.transaction():
        await s.change(_END_ALL, {"name": name})
        return await s.change(_REMOVE, {"name": name}) == 1


async def set_password(s: Session, name: str, hashed: str) -> bool:
    """Replace an account's password hash; whether there is such an account."""
    async with s.transaction():
        return await s.change(_NEW_HASH, {"name": name, "hash": hashed}) == 1


async def account(s: Session, name: str) -> StaffAccount | None:
    """The account called ``name``, or None."""
    row = await s.row(f"{_ACCOUNT} WHERE name = :name", {"name": name})
    return None if row is None else _account(s, row)


async def accounts(s: Session) -> list[StaffAccount]:
    """Every account, by name."""
    return [_account(s, row) for row in await s.rows(f"{_ACCOUNT} ORDER BY name")]


async def start(
    s: Session, token: str, name: str, csrf: str, now: dt.datetime
) -> StaffSession | None:
    """Start a session of ``name`` under the hashed ``token``; None, storing
    nothing, when there is no such account."""
    ends = now + SESSION_LIMIT
    expires = min(now + SESSION_IDLE, ends)
    values = {
        "token": token,
        "name": name,
        "csrf": csrf,
        "now": now,
        "expires": expires,
        "ends": ends,
    }
    async with s.transaction():
        if await s.change(_START, values) != 1:
            return None
        await s.change(_LOGGED_IN, {"name": name, "now": now})
    return StaffSession(name, csrf, now, expires, ends)


async def find(s: Session, token: str, now: dt.datetime) -> StaffSession | None:
    """The live session under the hashed ``token`` at ``now``, or None."""
    row = await s.row(_SESSION, {"token": token, "now": now})
    if row is None:
        return None
    return StaffSession(
        name=row[0],
        csrf=row[1],
        created_at=s.moment(row[2]),
        expires_at=s.moment(row[3]),
        ends_at=s.moment(row[4]),
    )


async def slide(s: Session, token: str, expires: dt.datetime, now: dt.datetime) -> bool:
    """Move a live session's idle end on to ``expires``; whether it moved."""
    async with s.transaction(synced=False):
        values = {"token": token, "expires": expires, "now": now}
        return await s.change(_SLIDE, values) == 1


async def end(s: Session, token: str) -> bool:
    """End the session under the hashed ``token``; whether there was one."""
    async with s.transaction():
        return await s.change(_END, {"token": token}) == 1


async def log(s: Session, values: dict[str, object]) -> None:
    """Add one entry to the admin log."""
    async with s.transaction():
        await s.change(_LOG, values)


async def read_log(s: Session, limit: int) -> list[AdminLogEntry]:
    """The newest ``limit`` entries of the admin log, newest first."""
    rows = await s.rows(_READ_LOG, {"limit": limit})
    return [AdminLogEntry(s.moment(row[0]), row[1], row[2], row[3], row[4]) for row in rows]


# -- the Store methods -----------------------------------------------------------


class StaffMethods(abc.ABC):
    """The staff account, session and admin log methods of the ``Store`` protocol."""

    _clock: Callable[[], dt.datetime]

    @abc.abstractmethod
    async def _read(self, work: Work[_T]) -> _T:
        """Run ``work``, which changes nothing (see ``SqlStore``)."""

    @abc.abstractmethod
    async def _write(self, work: Work[_T]) -> _T:
        """Run ``work`` to its end, never twice (see ``SqlStore``)."""

    async def add_staff(self, name: str, password_hash: str) -> bool:
        """Add the account ``name`` with an argon2 ``password_hash`` (the
        caller hashes); False, changing nothing, when the name is taken.
        ``ValueError`` for a name not of :data:`STAFF_NAME` or an empty hash."""
        _check_name(name)
        _check_hash(password_hash)
        now = self._clock()
        return await self._write(lambda s: add(s, name, password_hash, now))

    async def remove_staff(self, name: str) -> bool:
        """Remove the account ``name`` and end its sessions; whether it was there.
        Its entries in the admin log stay."""
        return await self._write(lambda s: remove(s, name))

    async def staff_account(self, name: str) -> StaffAccount | None:
        """The account called ``name``, or None."""
        if not isinstance(name, str) or not STAFF_NAME.fullmatch(name):
            return None
        return await self._read(lambda s: account(s, name))

    async def staff_accounts(self) -> list[StaffAccount]:
        """Every account, by name."""
        return await self._read(accounts)

    async def set_staff_password(self, name: str, password_hash: str) -> bool:
        """Replace the password hash of ``name`` (a new password, or the same
        one hashed with newer parameters); whether there is such an account.
        Sessions already started go on."""
        _check_hash(password_hash)
        return await self._write(lambda s: set_password(s, name, password_hash))

    async def start_staff_session(self, token: str, name: str, csrf: str) -> StaffSession | None:
        """Start a session of ``name`` for the browser holding ``token`` (kept
        only as :func:`token_hash`), with the CSRF token ``csrf``; it ends
        :data:`SESSION_IDLE` after its last use, at the latest
        :data:`SESSION_LIMIT` after now. None, storing nothing, when there is
        no such account. ``ValueError`` for an empty token or CSRF token."""
        if not token or not csrf or text_problem(csrf) is not None or len(csrf) > MAX_LOG_TEXT:
            raise ValueError("a staff session needs a token and a CSRF token of printable text")
        hashed = token_hash(token)
        now = self._clock()
        return await self._write(lambda s: start(s, hashed, name, csrf, now))

    async def staff_session(self, token: str) -> StaffSession | None:
        """The live session of the browser holding ``token``, or None (never
        started, ended, expired, or its account removed). Using it moves its
        idle end on (:data:`SESSION_IDLE` from now, never past ``ends_at``)."""
        if not token:
            return None
        hashed = token_hash(token)
        now = self._clock()
        found = await self._read(lambda s: find(s, hashed, now))
        if found is None:
            return None
        expires = min(now + SESSION_IDLE, found.ends_at)
        if expires - found.expires_at <= SESSION_REFRESH:
            return found
        if not await self._write(lambda s: slide(s, hashed, expires, now)):
            # Ended (signed out, removed) between the read and now.
            return await self._read(lambda s: find(s, hashed, now))
        return StaffSession(found.name, found.csrf, found.created_at, expires, found.ends_at)

    async def end_staff_session(self, token: str) -> bool:
        """End the session of the browser holding ``token``; whether there was one."""
        if not token:
            return False
        hashed = token_hash(token)
        return await self._write(lambda s: end(s, hashed))

    async def log_admin_action(
        self, staff: str, action: str, target: str | None = None, detail: str | None = None
    ) -> None:
        """Add to the admin log that ``staff`` did ``action`` (of
        :data:`ADMIN_ACTION`) now, on ``target`` (a reference or form id)
        with a short ``detail``; never answers or a customer's data.
        ``ValueError`` for an action not of :data:`ADMIN_ACTION`, or a target
        or detail that is no printable text of :data:`MAX_LOG_TEXT` characters."""
        if not isinstance(action, str) or not ADMIN_ACTION.fullmatch(action):
            raise ValueError("an admin log action is 1 to 64 of a-z 0-9 . _ -")
        for what, text in (("staff", staff), ("target", target), ("detail", detail)):
            if text is not None and (len(text) > MAX_LOG_TEXT or text_problem(text) is not None):
                raise ValueError(
                    f"an admin log {what} is at most {MAX_LOG_TEXT} characters of storable text"
                )
        values: dict[str, object] = {
            "at": self._clock(),
            "staff": staff,
            "action": action,
            "target": target,
            "detail": detail,
        }
        await self._write(lambda s: log(s, values))

    async def admin_log(self, limit: int = 100) -> list[AdminLogEntry]:
        """The newest ``limit`` entries of the admin log, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        return await self._read(lambda s: read_log(s, limit))


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not STAFF_NAME.fullmatch(name):
        raise ValueError("a staff name is 1 to 64 of a-z 0-9 . _ @ - (lower case)")


def _check_hash(hashed: object) -> None:
    if not isinstance(hashed, str) or not hashed or len(hashed) > _MAX_HASH:
        raise ValueError("a staff password hash is a non-empty argon2 hash")
    if text_problem(hashed) is not None:
        raise ValueError("a staff password hash is printable text")
