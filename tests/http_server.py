"""A real HTTP server on loopback that plays webhook receiver and helpdesk.

It records every request (raw body included, so signatures can be checked
from the very bytes sent) and, like the products do, refuses a request of
the wrong shape: Zendesk, Freshdesk and Zammad each check their own
authentication header and JSON body as their API documentation describes,
and answer 401, 400 or 422 with the products' kind of error body when
something is off. It can also be told to answer the next requests with a
given status, or to answer slowly, or with a body made piece by piece as
it is sent (a huge answer, a gzip bomb, one that drips): sending stops when
the client hangs up, and ``sent`` counts the bytes the server wrote.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: A body: bytes, or a function giving the pieces to write one after another
#: (sent without a length, the connection closed at its end, unless the
#: headers give a content-length).
Body = bytes | Callable[[], Iterable[bytes]]
Reply = tuple[int, dict[str, str], Body]

ZENDESK_EMAIL = "agent@acme.example"
ZENDESK_TOKEN = "zd-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
FRESHDESK_KEY = "fd-key-abcdefghij1234567890"
ZAMMAD_TOKEN = "zm-token-0123456789abcdef"
#: Ticket attributes the fake Zammad instance knows besides its own.
ZAMMAD_ATTRIBUTES = frozenset({"plate_number", "service_kind"})

_ZENDESK_KEYS = frozenset(
    {"subject", "comment", "requester", "custom_fields", "external_id", "tags"}
)
_FRESHDESK_KEYS = frozenset(
    {"subject", "description", "email", "name", "priority", "status", "custom_fields", "tags"}
)
_ZAMMAD_KEYS = frozenset({"title", "group", "customer_id", "customer", "article", "tags"})
_ZAMMAD_ARTICLE_KEYS = frozenset({"subject", "body", "content_type", "type", "sender", "internal"})


@dataclass(frozen=True)
class Recorded:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lowercase
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def json_reply(status: int, value: Any, **headers: str) -> Reply:
    return status, {"content-type": "application/json", **headers}, json.dumps(value).encode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


@dataclass
class FakeHelpdesk:
    """What the products do with a create-ticket request, reduced to its checks."""

    tickets: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"zendesk": [], "freshdesk": [], "zammad": []}
    )
    #: Zendesk's idempotency store: key → (request body, the reply it got).
    remembered: dict[str, tuple[bytes, Reply]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def zendesk(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != _basic(f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN):
            return json_reply(401, {"error": "Couldn't authenticate you"})
        key = request.headers.get("idempotency-key", "")
        if not key or len(key) > 255:
            return json_reply(400, {"error": "Idempotency-Key missing or too long"})
        if key in self.remembered:
            body, reply = self.remembered[key]
            if body != request.body:
                return json_reply(400, {"error": "IdempotentRequestError"})
            status, headers, content = reply
            return status, {**headers, "x-idempotency-lookup": "hit"}, content
        ticket = request.json().get("ticket")
        problems = self._zendesk_problems(ticket)
        if problems:
            return json_reply(422, {"error": "RecordInvalid", "description": "; ".join(problems)})
        number = next(self.ids)
        self.tickets["zendesk"].append(ticket)
        reply = json_reply(201, {"ticket": {"id": number, **ticket}})
        self.remembered[key] = (request.body, reply)
        return reply

    @staticmethod
    def _zendesk_problems(ticket: Any) -> list[str]:
        if not isinstance(ticket, dict):
            return ["the body must be {ticket: {...}}"]
        problems = [f"unexpected key {k}" for k in ticket if k not in _ZENDESK_KEYS]
        if not _is_text(ticket.get("subject")):
            problems.append("subject is required")
        comment = ticket.get("comment")
        if not isinstance(comment, dict) or not (
            _is_text(comment.get("body")) or _is_text(comment.get("html_body"))
        ):
            problems.append("comment needs a body or html_body")
        elif not isinstance(comment.get("public", True), bool):
            problems.append("comment.public is true or false")
        requester = ticket.get("requester")
        if requester is not None and not (
            isinstance(requester, dict)
            and _is_text(requester.get("email"))
            and _is_text(requester.get("name"))
        ):
            problems.append("requester needs name and email")
        for item in ticket.get("custom_fields", []):
            if not (
                isinstance(item, dict) and set(item) == {"id", "value"} and type(item["id"]) is int
            ):
                problems.append(f"custom field {item!r} is not {{id: number, value}}")
        for tag in ticket.get("tags", []):
            if not _is_text(tag) or " " in tag:
                problems.append(f"tag {tag!r} is not one word")
        if not isinstance(ticket.get("external_id", ""), str):
            problems.append("external_id is a string")
        return problems

    def freshdesk(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != _basic(FRESHDESK_KEY, "X"):
            return json_reply(
                401, {"code": "invalid_credentials", "message": "You have to be logged in"}
            )
        body = request.json()
        errors = [
            {
                "field": key,
                "message": "Unexpected/invalid field in request",
                "code": "invalid_field",
            }
            for key in body
            if key not in _FRESHDESK_KEYS
        ]
        for key in ("subject", "description", "email"):
            if not _is_text(body.get(key)):
                errors.append(
                    {"field": key, "message": "It should be a/an String", "code": "missing_field"}
                )
        if body.get("priority") not in (1, 2, 3, 4):
            errors.append(
                {
                    "field": "priority",
                    "message": "It should be one of these values: '1,2,3,4'",
                    "code": "invalid_value",
                }
            )
        if body.get("status") not in (2, 3, 4, 5):
            errors.append(
                {
                    "field": "status",
                    "message": "It should be one of these values: '2,3,4,5'",
                    "code": "invalid_value",
                }
            )
        custom = body.get("custom_fields", {})
        if not isinstance(custom, dict) or not all(k.startswith("cf_") for k in custom):
            errors.append(
                {
                    "field": "custom_fields",
                    "message": "Unexpected/invalid field in request",
                    "code": "invalid_field",
                }
            )
        if not all(_is_text(tag) for tag in body.get("tags", [])):
            errors.append(
                {
                    "field": "tags",
                    "message": "It should be an Array of Strings",
                    "code": "datatype_mismatch",
                }
            )
        if errors:
            return json_reply(400, {"description": "Validation failed", "errors": errors})
        number = next(self.ids)
        self.tickets["freshdesk"].append(body)
        return json_reply(201, {"id": number, **body})

    def zammad(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Token token={ZAMMAD_TOKEN}":
            return json_reply(401, {"error": "Authentication required"})
        body = request.json()
        for key in body:
            if key not in _ZAMMAD_KEYS and key not in ZAMMAD_ATTRIBUTES:
                return json_reply(422, {"error": f"unknown attribute '{key}' for Ticket."})
        customer = body.get("customer_id")
        if not (isinstance(customer, str) and customer.startswith("guess:") and "@" in customer):
            return json_reply(422, {"error": "customer_id must be an id or guess:EMAIL"})
        if not (_is_text(body.get("title")) and _is_text(body.get("group"))):
            return json_reply(422, {"error": "title and group are required"})
        article = body.get("article")
        if not isinstance(article, dict) or not _is_text(article.get("body")):
            return json_reply(422, {"error": 'Need at least article: { body: "some text" }'})
        if (
            set(article) - _ZAMMAD_ARTICLE_KEYS
            or article.get("type") not in ("note", "web", "phone")
            or article.get("sender") not in ("Customer", "Agent", "System")
            or article.get("content_type") not in ("text/html", "text/plain")
            or not isinstance(article.get("internal"), bool)
        ):
            return json_reply(422, {"error": f"invalid article {sorted(article)}"})
        if not isinstance(body.get("tags", ""), str):
            return json_reply(422, {"error": "tags are a comma-separated string"})
        number = next(self.ids)
        self.tickets["zammad"].append(body)
        return json_reply(
            201, {"id": number, "number": str(31000 + number), "title": body["title"]}
        )


class HttpServer:
    """Start and stop the server; ``url`` is its base address on loopback."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        #: Answers for the next requests, whatever their path, like (500, {}, b"").
        self.replies: list[Reply] = []
        #: Seconds to wait before answering each request.
        self.delay = 0.0
        #: Bytes of streamed bodies written so far (as far as the socket took them).
        self.sent = 0
        self.helpdesk = FakeHelpdesk()
        self.routes: dict[str, Callable[[Recorded], Reply]] = {
            "/hook": lambda request: (200, {}, b""),
            "/api/v2/tickets.json": self.helpdesk.zendesk,
            "/api/v2/tickets": self.helpdesk.freshdesk,
            "/api/v1/tickets": self.helpdesk.zammad,
        }
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        # A short poll: stopping waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self.replies.pop(0) if self.replies else None
            delay = self.delay
        if delay:
            self._stopping.wait(delay)
        if scripted is not None:
            return scripted
        route = self.routes.get(request.path)
        if route is None:
            return 404, {"content-type": "text/plain"}, b"no such page"
        try:
            return route(request)
        except (ValueError, KeyError, TypeError) as exc:  # a malformed body
            return json_reply(400, {"error": f"bad request: {exc!r}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: HttpServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = Recorded(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length),
        )
        owner = self.server.owner
        status, headers, content = owner.answer(request)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if isinstance(content, bytes):
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                return
            if "content-length" not in headers:
                self.send_header("connection", "close")
            self.close_connection = True
            self.end_headers()
            for piece in content():
                if owner._stopping.is_set():
                    break
                self.wfile.write(piece)
                owner.sent += len(piece)
        except OSError:  # the client gave up (the timeout and size tests)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``requests`` instead."""
