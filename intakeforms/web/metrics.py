"""Counting responses for ``/metrics``, and the ``/metrics`` endpoint itself.

:class:`CountResponses` is a pure ASGI middleware: it reads the status of
each response and, for an error, the first error code of its JSON body
(``rate_limited``, ``unknown_form``, ``required``…). Responses are labelled
by the route template that matched (``/forms/{form}/submissions``), never
by the raw path, which could hold anything a client typed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intakeforms.metrics import Metrics

__all__ = ["CONTENT_TYPE", "CountResponses", "metrics_route"]

#: The Prometheus text format, version 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: An error body larger than this is not read for its code: ours are small.
_MAX_ERROR_BODY = 64 * 1024
#: What an error code looks like; anything else never becomes a label.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: The route label of a request that matched no route (a 404).
UNMATCHED = "none"


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _code(body: bytes) -> str:
    """The first error's code in an ``{"errors": [...]}`` body, else ''."""
    try:
        parsed: Any = json.loads(body)
        code = parsed["errors"][0]["code"]
    except (ValueError, LookupError, TypeError):
        return ""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""


class CountResponses:
    """Counts every HTTP response in ``metrics`` (a middleware)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        json_body = False
        body = bytearray()

        async def counting_send(message: Message) -> None:
            nonlocal status, json_body
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                if status >= 400:
                    for name, value in message.get("headers", ()):
                        if name.lower() == b"content-type":
                            json_body = b"json" in value
            elif kind == "http.response.body" and status:
                if json_body and len(body) <= _MAX_ERROR_BODY:
                    body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    code = _code(bytes(body)) if json_body and len(body) <= _MAX_ERROR_BODY else ""
                    self.metrics.responded(_route(scope), status, code)
                    status = 0  # counted
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            if status == 0:
                # Starlette's outermost middleware turns this into a 500.
                self.metrics.responded(_route(scope), 500, "exception")
            raise


def metrics_route(metrics: Metrics) -> Route:
    """The ``GET /metrics`` route: the Prometheus text, the outbox read just now."""

    async def endpoint(request: Request) -> Response:
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE)

    return Route("/metrics", endpoint, methods=["GET"])
