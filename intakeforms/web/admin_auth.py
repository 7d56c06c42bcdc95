"""Who gets into the staff pages: sign-in, sessions, CSRF, login limits.

:class:`StaffGate` guards every page under ``/admin``. Staff sign in at
``GET/POST /admin/login`` with a name and a password (accounts are made with
``intakeforms admin add-user``; passwords are kept as argon2 hashes). A
signed-in browser holds a random token in the cookie ``intake_admin``
(HttpOnly, SameSite=Strict, Secure under https, limited to the ``/admin``
path of wherever the service is mounted); the store keeps only its SHA-256,
with the session's CSRF token. A session ends two hours after its last use
and twelve hours after it began (see :mod:`intakeforms.store.staff`).

The dashboard's routes ask the gate first:

- :meth:`StaffGate.page` for a page: the member of staff, or a redirect to
  the sign-in page that comes back to the page afterwards;
- :meth:`StaffGate.api` for ``/admin/api/…``: the member, or 401 JSON;
- :meth:`StaffGate.action` for every POST: the member, once the request
  carries the session's CSRF token (form field ``csrf`` or header
  ``x-csrf-token``) and comes from the service's own origin; else 403.

Sign-in attempts are limited in the store (so every instance counts
together): :data:`LOGIN_PER_ADDRESS` per client address and
:data:`LOGIN_PER_NAME` per name; past either the page answers 429 with
``Retry-After``. A name that has no account is checked against a dummy
hash, so the answer takes as long as for a wrong password. Failed attempts
go to the admin log (the name only when it has an account; never the
password) and to the service's log.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from intakeforms.errors import StoreUnavailable
from intakeforms.settings import Settings
from intakeforms.store import Store
from intakeforms.store.staff import STAFF_NAME
from intakeforms.web.admin_login import (
    login_location,
    login_page,
    next_page,
    read_small_form,
    refused_page,
)
from intakeforms.web.gate import client_address
from intakeforms.web.limits import SharedRateLimiter
from intakeforms.web.responses import errors, mounted

__all__ = [
    "COOKIE",
    "LOGIN_PER_ADDRESS",
    "LOGIN_PER_NAME",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "Staff",
    "StaffGate",
    "hash_password",
]

logger = logging.getLogger("intakeforms.web")

#: The session cookie's name.
COOKIE = "intake_admin"
#: Sign-in attempts one client address may make: (attempts, seconds).
LOGIN_PER_ADDRESS = (5, 900.0)
#: Sign-in attempts for one name, from anywhere: (attempts, seconds).
LOGIN_PER_NAME = (10, 900.0)
#: The shortest password ``intakeforms admin add-user`` takes.
MIN_PASSWORD = 12
#: The longest password that is checked at all (a longer one is wrong).
MAX_PASSWORD = 1024
# A token of token_urlsafe(32) is 43 characters; a longer cookie is no token.
_MAX_TOKEN = 100
# Argon2 hashes with 64 MiB each: a flood of attempts must not eat memory.
_HASHING = 2


@dataclass(frozen=True)
class Staff:
    """A signed-in member of staff: their name, and the CSRF token every
    form of theirs carries (as the field ``csrf``)."""

    name: str
    csrf: str = field(repr=False)


@functools.cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults (RFC 9106's low-memory profile); a later
    # release that raises them rehashes each password at its next sign-in.
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, as the store keeps it (slow on purpose)."""
    return _hasher().hash(password)


@functools.cache
def _dummy_hash() -> str:
    # Checked for names without an account, so they take as long as others.
    return hash_password(secrets.token_urlsafe(16))


def _verify(hashed: str | None, password: str) -> tuple[bool, bool]:
    """Whether ``password`` matches ``hashed`` (the dummy one when None), and
    whether the hash should be made again with today's parameters."""
    hasher = _hasher()
    try:
        hasher.verify(hashed or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, False
    if hashed is None:
        return False, False
    return True, hasher.check_needs_rehash(hashed)


class StaffGate:
    """Sign-in, sessions and the checks of every staff page and action."""

    def __init__(
        self, store: Store, settings: Settings, ready: Callable[[], Awaitable[None]]
    ) -> None:
        self.store = store
        self.settings = settings
        self.ready = ready
        self._per_address = SharedRateLimiter(store, *LOGIN_PER_ADDRESS, settings.secret)
        self._per_name = SharedRateLimiter(store, *LOGIN_PER_NAME, settings.secret)
        self._hashing = anyio.CapacityLimiter(_HASHING)

    def routes(self) -> list[BaseRoute]:
        """``GET/POST /admin/login`` and ``POST /admin/logout``."""
        return [
            Route("/admin/login", self._login, methods=["GET", "POST"]),
            Route("/admin/logout", self._logout, methods=["POST"]),
        ]

    # -- the checks the dashboard's routes make ---------------------------------

    async def page(self, request: Request) -> Staff | Response:
        """The signed-in member of staff, or a 303 to the sign-in page, which
        comes back here (``?next=``) once they have signed in."""
        try:
            staff = await self._staff(request)
        except StoreUnavailable:
            return _unavailable()
        if staff is not None:
            return staff
        back = request.url.path if request.method in ("GET", "HEAD") else ""
        if back and request.url.query:
            back = f"{back}?{request.url.query}"
        extra = {"ended": "1"} if COOKIE in request.cookies else {}
        location = login_location(request, back, **extra)
        return RedirectResponse(location, status_code=303, headers={"cache-control": "no-store"})

    async def api(self, request: Request) -> Staff | Response:
        """The signed-in member of staff, or 401 ``sign_in_required`` (JSON)."""
        try:
            staff = await self._staff(request)
        except StoreUnavailable:
            return _unavailable()
        if staff is not None:
            return staff
        login = mounted(request, "/admin/login")
        return errors(401, "sign_in_required", f"sign in to the staff pages first, at {login}")

    async def action(self, request: Request, form: Mapping[str, str] | None) -> Staff | Response:
        """The member of staff behind a POST, or why not: 403 when it comes
        from another origin or lacks the session's CSRF token (``form``'s
        ``csrf``, else the header ``x-csrf-token``), a 303 to the sign-in
        page without a session. The 403 is a page when the token was to come
        in a form, else JSON."""
        as_page = form is not None and "x-csrf-token" not in request.headers
        if not self._same_origin(request):
            return self._refused(request, as_page, "origin_not_allowed", "another site")
        found = await self.page(request)
        if not isinstance(found, Staff):
            return found
        given = (form or {}).get("csrf") or request.headers.get("x-csrf-token") or ""
        if not hmac.compare_digest(given.encode("utf-8", "replace"), found.csrf.encode()):
            return self._refused(request, as_page, "csrf_failed", "no valid CSRF token")
        return found

    async def log(
        self, staff: Staff, action: str, target: str | None = None, detail: str | None = None
    ) -> None:
        """Keep in the admin log that ``staff`` did ``action`` (``a-z 0-9 . _
        -``) on ``target`` (a reference or form id), with a short ``detail``;
        never answers or a customer's data. Raises ``StoreUnavailable``."""
        await self.ready()
        await self.store.log_admin_action(staff.name, action, target, detail)

    # -- sessions ---------------------------------------------------------------

    async def _staff(self, request: Request) -> Staff | None:
        token = request.cookies.get(COOKIE, "")
        if not token or len(token) > _MAX_TOKEN:
            return None
        await self.ready()
        session = await self.store.staff_session(token)
        return None if session is None else Staff(session.name, session.csrf)

    def _same_origin(self, request: Request) -> bool:
        """Whether a browser says the request comes from this service's own
        pages (no ``Origin``: not a browser's cross-site request)."""
        if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        scheme, host = request.url.scheme, request.url.netloc
        default = {"https": ":443", "http": ":80"}.get(scheme, "")
        return origin == f"{scheme}://{host.removesuffix(default)}"

    def _refused(self, request: Request, as_page: bool, code: str, why: str) -> Response:
        logger.warning("refused a staff action on %s: %s", request.url.path, why)
        if as_page:
            return refused_page(request)
        return errors(403, code, f"refused: {why}; reload the staff page and try again")

    # -- the routes ---------------------------------------------------------------

    async def _login(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._sign_in(request)
        back = request.query_params.get("next", "")
        try:
            staff = await self._staff(request)
        except StoreUnavailable:
            return login_page(request, back, status=503, problem="unavailable")
        if staff is not None:  # signed in already: on to where they were going
            return RedirectResponse(next_page(request, back), status_code=303)
        notice = None
        if request.query_params.get("out"):
            notice = "signed_out"
        elif request.query_params.get("ended"):
            notice = "ended"
        return login_page(request, back, notice=notice)

    async def _sign_in(self, request: Request) -> Response:
        if not self._same_origin(request):
            return self._refused(request, True, "origin_not_allowed", "another site")
        posted = await read_small_form(request)
        back = posted.get("next", "")
        name = posted.get("name", "").strip().lower()
        password = posted.get("password", "")
        missing = [key for key, value in (("name", name), ("password", password)) if not value]
        if missing:
            problems = [(key, f"{key}_missing") for key in missing]
            return login_page(request, back, name=name, status=422, problems=problems)
        try:
            await self.ready()
            wait = await self._per_address.take(f"admin-login|{client_address(request)}")
            if not wait:
                wait = await self._per_name.take(f"admin-login-name|{name}")
            if wait:
                logger.warning("staff sign-in refused: too many attempts")
                minutes = max(1, math.ceil(wait / 60))
                return login_page(
                    request,
                    back,
                    name=name,
                    status=429,
                    problem="too_many",
                    minutes=minutes,
                    headers={"retry-after": str(math.ceil(wait))},
                )
            return await self._check(request, back, name, password)
        except StoreUnavailable as exc:
            logger.error("staff sign-in failed: %s", exc)
            return login_page(request, back, name=name, status=503, problem="unavailable")

    async def _check(self, request: Request, back: str, name: str, password: str) -> Response:
        """Sign in with ``name`` and ``password`` once the limits let them try."""
        account = await self.store.staff_account(name) if STAFF_NAME.fullmatch(name) else None
        # A name without an account, or a password too long to be one, is
        # checked against the dummy hash: every refusal takes as long.
        fits = len(password) <= MAX_PASSWORD
        hashed = account.password_hash if account is not None and fits else None
        checked = password[:MAX_PASSWORD]
        right, rehash = await anyio.to_thread.run_sync(
            _verify, hashed, checked, limiter=self._hashing
        )
        if not right or account is None:
            why = "wrong_password" if account is not None else "unknown_name"
            logger.warning(
                "staff sign-in failed: %s", f"wrong password for {name}" if account else why
            )
            await self.store.log_admin_action(
                account.name if account else "", "login_failed", detail=why
            )
            return login_page(
                request, back, name=name, status=422, problems=[("password", "wrong")]
            )
        if rehash:
            fresh = await anyio.to_thread.run_sync(hash_password, checked, limiter=self._hashing)
            await self.store.set_staff_password(account.name, fresh)
        old = request.cookies.get(COOKIE, "")
        if old and len(old) <= _MAX_TOKEN:  # a new token on every sign-in (no fixation)
            await self.store.end_staff_session(old)
        token = secrets.token_urlsafe(32)
        session = await self.store.start_staff_session(
            token, account.name, secrets.token_urlsafe(32)
        )
        if session is None:  # removed this very moment
            return login_page(
                request, back, name=name, status=422, problems=[("password", "wrong")]
            )
        await self.store.log_admin_action(account.name, "login")
        logger.info("staff sign-in: %s", account.name)
        response = RedirectResponse(next_page(request, back), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            path=mounted(request, "/admin"),
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def _logout(self, request: Request) -> Response:
        form = await read_small_form(request)
        found = await self.action(request, form)
        if not isinstance(found, Staff):
            return found
        try:
            await self.store.end_staff_session(request.cookies.get(COOKIE, ""))
            await self.log(found, "logout")
        except StoreUnavailable:
            return _unavailable()
        response = RedirectResponse(login_location(request, out="1"), status_code=303)
        response.delete_cookie(
            COOKIE,
            path=mounted(request, "/admin"),
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response


def _unavailable() -> Response:
    return errors(
        503, "unavailable", "the staff pages cannot reach the store", **{"retry-after": "30"}
    )
