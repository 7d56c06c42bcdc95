"""Behind a reverse proxy: the request as the customer made it.

With ``INTAKE_TRUST_PROXY`` the service takes the scheme from
``X-Forwarded-Proto``, the host from ``X-Forwarded-Host`` (else ``Host``) and
the client address from ``X-Forwarded-For``, and rewrites the request's scope
with them before any route sees it. So the origin check, every URL the
service builds and the rate limiter's client key agree on one view.

Proxies append to these headers, so each is a list with the entry the nearest
proxy wrote last. The client can write any entries it likes at the start;
only the ones the trusted proxies added are true. With ``proxy_hops`` proxies
in front (a CDN and nginx: 2), the entry the outermost trusted proxy wrote is
the ``proxy_hops``-th from the right. A list shorter than that (a proxy that
sets the header instead of appending to it) gives its leftmost entry.

Without the setting this middleware is not installed at all: forwarded
headers then change nothing. ``intakeforms serve`` starts uvicorn with
``proxy_headers=False`` so that uvicorn does not apply a rule of its own.
"""

from __future__ import annotations

import ipaddress
import re

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ForwardedHeaders", "forwarded_entry"]

_SCHEMES = frozenset({"http", "https"})
# A host name, IPv4 or bracketed IPv6 address, with an optional port: nothing
# that could smuggle a path, a user or a second host into a URL.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)


_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)


def forwarded_entry(values: list[bytes], hops: int) -> str | None:
    """The entry of a forwarded header list (all its lines, comma-separated)
    that the outermost of ``hops`` trusted proxies wrote, or None if empty."""
    entries = [
        entry.strip()
        for value in values
        for entry in value.decode("latin-1").split(",")
        if entry.strip()
    ]
    if not entries:
        return None
    return entries[-hops] if len(entries) >= hops else entries[0]


def _address(entry: str) -> str | None:
    """The IP address in an ``X-Forwarded-For`` entry, normalised; None if
    it is not one. Some proxies add a port (``203.0.113.5:4711``,
    ``[2001:db8::1]:4711``)."""
    if _IPV4.fullmatch(entry):  # the usual case, without ipaddress's cost
        return entry
    text = entry
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class ForwardedHeaders:
    """Rewrites scheme, host and client of each request from the forwarded
    headers (a middleware, installed only when the proxy is trusted)."""

    def __init__(self, app: ASGIApp, hops: int = 1) -> None:
        self.app = app
        self.hops = hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = self.rewrite(scope)
        await self.app(scope, receive, send)

    def rewrite(self, scope: Scope) -> Scope:
        """A copy of ``scope`` as the customer's request reached the first
        trusted proxy; a header that is missing or not usable leaves that
        part of the request as it is."""
        found: dict[bytes, list[bytes]] = {}
        for name, value in scope["headers"]:
            if name in (b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-for"):
                found.setdefault(name, []).append(value)
        if not found:
            return scope
        changed = dict(scope)
        proto = forwarded_entry(found.get(b"x-forwarded-proto", []), self.hops)
        if proto is not None and proto.lower() in _SCHEMES:
            changed["scheme"] = proto.lower()
        host = forwarded_entry(found.get(b"x-forwarded-host", []), self.hops)
        if host is not None and _HOST.fullmatch(host):
            headers = [(n, v) for n, v in scope["headers"] if n != b"host"]
            headers.append((b"host", host.encode("latin-1")))
            changed["headers"] = headers
        entry = forwarded_entry(found.get(b"x-forwarded-for", []), self.hops)
        address = None if entry is None else _address(entry)
        if address is not None:
            changed["client"] = (address, 0)
        return changed
