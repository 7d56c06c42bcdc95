"""Who may use the service: the origin check and the rate limits.

A browser says which site a request comes from (``Origin``); the service's
own pages and ``INTAKE_ALLOWED_ORIGINS`` may use it, ``*`` lets every site.
Behind a trusted proxy the service's own origin is the public one (see
:mod:`intakeforms.web.proxy`). A refused origin is logged once per process,
naming the setting to change.
"""

from __future__ import annotations

import logging
import sys

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from intakeforms.i18n import N_, gettext_for
from intakeforms.settings import Settings
from intakeforms.store import Store
from intakeforms.web.limits import RateLimiter, SharedRateLimiter
from intakeforms.web.responses import errors

__all__ = ["RATE_LIMITED", "Gate", "client_address", "first_header"]

logger = logging.getLogger("intakeforms.web")

RATE_LIMITED = N_("Too many submissions. Please wait a moment and try again.")
_DEFAULT_PORTS = {"https": ":443", "http": ":80"}
# Enough for every site that really embeds the forms; a flood of made-up
# origins cannot grow the set (or the log) without bound.
_MAX_LOGGED = 1000


#: Service origins kept by what they follow from (see Gate._own_origin).
_KEPT_OWN = 64


def first_header(scope: Scope, wanted: bytes) -> bytes | None:
    """The request's first header named ``wanted`` (lower case), as
    Starlette's ``Headers`` reads it, found without making them."""
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return None


def client_address(request: Request) -> str:
    """The customer's address: the peer, or behind a trusted proxy the one
    :class:`~intakeforms.web.proxy.ForwardedHeaders` found."""
    return request.client.host if request.client else "unknown"


class Gate:
    """The origin check and the rate limits of one service."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.allowed = frozenset(settings.allowed_origins)
        self.any_origin = "*" in self.allowed
        rate = settings.rate()
        self.limits: dict[str, RateLimiter | SharedRateLimiter] = {}
        if rate is not None:
            limit, period = rate
            # Checking answers and searching answers as they are typed are
            # cheap and frequent.
            for purpose, allowed in (
                ("submit", limit),
                ("validate", limit * 10),
                ("faq", limit * 10),
                ("events", limit * 10),
            ):
                # Several instances share a PostgreSQL store, so they count
                # there; a SQLite file has one host, whose memory counts faster.
                if _shared(store):
                    self.limits[purpose] = SharedRateLimiter(
                        store, allowed, period, settings.secret
                    )
                else:
                    self.limits[purpose] = RateLimiter(allowed, period)
        self._logged: set[str] = set()
        self._own: dict[tuple[object, ...], str] = {}

    def origin_allowed(self, request: Request) -> bool:
        """Whether the request's ``Origin``, if it has one, may use the
        service: its own scheme and host as the customer sees them, or an
        allowed origin."""
        raw = first_header(request.scope, b"origin")
        if raw is None:  # not a browser's cross-site request: an API client
            return True
        origin = raw.decode("latin-1")
        if (
            origin == self._own_origin(request)
            or self.any_origin
            or origin.rstrip("/") in self.allowed
        ):
            return True
        self._log_refused(origin)
        return False

    def _own_origin(self, request: Request) -> str:
        """The service's origin as this request's customer sees it: its
        scheme and host (behind a trusted proxy, the public ones).

        A page's every request sends ``Origin``, so it is worked out once
        for what it follows from (the scheme, the Host header, the server's
        address), as ``request.url`` would give it, and kept.
        """
        scope = request.scope
        server = scope.get("server")
        key = (
            scope.get("scheme"),
            first_header(scope, b"host"),
            None if server is None else tuple(server),
        )
        own = self._own.get(key)
        if own is None:
            scheme, host = request.url.scheme, request.url.netloc
            # A browser leaves the default port out of Origin; a Host header may not.
            host = host.removesuffix(_DEFAULT_PORTS.get(scheme, ""))
            own = f"{scheme}://{host}"
            if len(self._own) < _KEPT_OWN:
                self._own[key] = own
        return own

    def _log_refused(self, origin: str) -> None:
        # A widget on a page that is not allowed asks on every visit: once is
        # enough. An origin is a site's address, not a person's data; one
        # that is not printable is not printed.
        if origin in self._logged or len(self._logged) >= _MAX_LOGGED:
            return
        self._logged.add(origin)
        shown = origin if origin.isascii() and origin.isprintable() and len(origin) < 200 else "?"
        logger.warning(
            "refused a request from the origin %s: add %s to INTAKE_ALLOWED_ORIGINS "
            "if the forms are embedded there",
            shown,
            shown,
        )

    def refuse_origin(self, request: Request) -> Response | None:
        """403 ``origin_not_allowed`` for a foreign origin, else None."""
        if self.origin_allowed(request):
            return None
        return errors(403, "origin_not_allowed", "this origin may not use the service")

    async def check(
        self, request: Request, form: str, locale: str, purpose: str
    ) -> Response | None:
        """403 for a foreign origin, 429 past the rate limit of ``purpose``
        (``submit``, ``validate``, ``faq`` or ``events``), else None."""
        refused = self.refuse_origin(request)
        if refused is not None:
            return refused
        limiter = self.limits.get(purpose)
        if limiter is not None:
            wait = await limiter.take(f"{client_address(request)}|{form}|{purpose}")
            if wait:
                message = gettext_for(RATE_LIMITED, locale)
                return errors(429, "rate_limited", message, **{"retry-after": str(int(wait))})
        return None


def _shared(store: Store | None) -> bool:
    """Whether ``store`` is a PostgreSQL store (several instances share it).

    Asked without importing it: a process that never loaded the PostgreSQL
    store (and psycopg) cannot hold one.
    """
    postgres = sys.modules.get("intakeforms.store.postgres")
    return postgres is not None and isinstance(store, postgres.PostgresStore)
