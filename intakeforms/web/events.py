"""``POST /events``: what visitors do on the forms, for the statistics.

A page or widget posts one event ``{"session", "form", "channel", "event",
"field"?, "code"?, "ago"?}`` or a list of up to :data:`MAX_BATCH` of them, as
``application/json`` or as ``text/plain`` (what ``navigator.sendBeacon``
sends). Every event is checked against the forms before any is kept: a
request with one bad event is refused whole (4xx naming the problem) and
nothing of it is stored. Nothing about the client is kept: no address, no
user agent, no cookie; ``session`` is a random id the page makes per visit.
An event is dated when the service takes it, less its ``ago``: how many
milliseconds before it was sent it happened (pages hold a visit's events
until it ends, or 30 s while it goes on, to send them together; at most
:data:`MAX_AGO_MS`).

Accepted events wait in memory until an
:class:`~intakeforms.web.event_buffer.EventBuffer` writes them in batches,
so that they never hold up a submission.

Pages send many small requests (a visit is a dozen events, one or two
requests; a visit that only looks is a request of one), so
:class:`EventPath` answers ``POST /events`` before the routes:
through the routing and every middleware one cost several times what the
endpoint itself does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intakeforms.form import Form
from intakeforms.store import (
    EVENT_CHANNELS,
    EVENT_KINDS,
    EVENT_SESSION,
    EventFields,
    EventRecord,
    event_fields,
)
from intakeforms.validate import MESSAGES
from intakeforms.web.bodies import BadBody, read_json
from intakeforms.web.event_buffer import EventBuffer
from intakeforms.web.gate import Gate, first_header
from intakeforms.web.responses import errors

__all__ = [
    "KEPT_KINDS",
    "KEPT_ORIGINS",
    "MAX_AGO_MS",
    "MAX_BATCH",
    "MAX_BODY",
    "EventEndpoint",
    "EventPath",
]

logger = logging.getLogger("intakeforms.web")

#: The most events one request may carry.
MAX_BATCH = 50
#: The oldest an event may be when sent, in milliseconds: an hour. A day's
#: figures are rolled up two hours after it ends, so an event dated back
#: into the day before still arrives before that day is counted.
MAX_AGO_MS = 3_600_000
#: The largest body read: 50 events with long names fit in it.
MAX_BODY = 32 * 1024
#: Origins whose answer headers :class:`EventPath` keeps.
KEPT_ORIGINS = 64
#: Kinds of event (form, channel, event, field, code) known to be good that
#: :class:`EventEndpoint` keeps, so that it checks each once.
KEPT_KINDS = 4096
#: An event's names once checked: form, channel, event, field, code.
_Kind = tuple[str, str, str, str | None, str | None]
_KEYS = frozenset({"session", "form", "channel", "event", "field", "code", "ago"})
_MILLISECOND = dt.timedelta(milliseconds=1)
#: No session checked yet (no value a client can send is this object).
_NONE = object()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EventEndpoint:
    """``POST /events`` over the service's forms."""

    def __init__(self, forms: Mapping[str, Form], buffer: EventBuffer, gate: Gate) -> None:
        self.forms = forms
        self.buffer = buffer
        self.gate = gate
        # (form, channel, event, field, code) of events found good: a stream
        # repeats a few dozen of them, and each is checked once (at most
        # KEPT_KINDS are kept; the others are checked every time).
        self._good: dict[tuple[object, ...], _Kind] = {}

    async def post(self, request: Request) -> Response:
        """``POST /events`` → 204, or 4xx naming the problem and storing nothing."""
        refused = await self.take(request)
        return Response(status_code=204) if refused is None else refused

    async def take(self, request: Request) -> Response | None:
        """Check the events of ``request`` and queue them: None when taken,
        else the refusal (4xx naming the problem), with nothing queued."""
        refused = await self.gate.check(request, "", "en", "events")
        if refused is not None:
            return refused
        try:
            data = await read_json(
                request, MAX_BODY, "the events", ("application/json", "text/plain")
            )
        except BadBody as exc:
            return errors(exc.status, exc.code, str(exc))
        items = data if isinstance(data, list) else [data]
        if not items:
            return errors(422, "no_events", "send at least one event")
        if len(items) > MAX_BATCH:
            return errors(422, "too_many_events", f"send at most {MAX_BATCH} events a request")
        made = self._events(items, _now())
        if isinstance(made, Response):
            return made
        self.buffer.add_fields(made)
        return None

    def _events(self, items: list[Any], at: dt.datetime) -> list[EventFields] | Response:
        """``items`` as events taken ``at``, or the 4xx refusing the first bad one.

        One loop for a request's events: an event of a kind checked before
        (see ``_good``) needs only its session and ``ago`` looked at. This
        is the path every event takes, so it is written for speed.
        """
        events: list[EventFields] = []
        good = self._good
        session_ok = EVENT_SESSION.fullmatch
        # The session checked last: a request is most often one visit's
        # events, each with the same id (the parser gives one string for it).
        seen: Any = _NONE
        for number, item in enumerate(items):
            known = None
            if type(item) is dict and _KEYS.issuperset(item):
                get = item.get
                kind = (get("form"), get("channel"), get("event"), get("field"), get("code"))
                try:  # noqa: SIM105  (suppress() would cost more than the check)
                    known = good.get(kind)
                except TypeError:  # a list or an object where a name goes: refused below
                    pass
            if known is not None:
                session = get("session")
                ago = get("ago")
                if (session is seen or (type(session) is str and session_ok(session))) and (
                    ago is None or (type(ago) is int and 0 <= ago <= MAX_AGO_MS)
                ):
                    seen = session
                    form, channel, event, field, code = known
                    events.append(
                        (
                            session,
                            form,
                            channel,
                            event,
                            field,
                            code,
                            at - _MILLISECOND * ago if ago else at,
                        )
                    )
                    continue
            made = self._event(item, at)
            if isinstance(made, Response):
                return made if len(items) == 1 else _in_batch(made, number)
            events.append(event_fields(made))
        return events

    def _event(self, item: Any, at: dt.datetime) -> EventRecord | Response:
        """``item`` as an event, checked key by key, or the 4xx naming its
        first problem; a good event's kind is kept (see ``_good``)."""
        made = self._checked(item, at)
        if isinstance(made, EventRecord) and len(self._good) < KEPT_KINDS:
            good = (made.form, made.channel, made.event, made.field, made.code)
            self._good[good] = good
        return made

    def _checked(self, item: Any, at: dt.datetime) -> EventRecord | Response:
        """``item`` as an event, checked key by key, or the 4xx naming the first
        problem."""
        if not isinstance(item, dict):
            return errors(
                400, "not_object", 'an event is {"session", "form", "channel", "event", ...}'
            )
        if not _KEYS.issuperset(item):
            unknown = sorted(set(item) - _KEYS)
            return errors(
                422,
                "unknown_key",
                "an event has only session, form, channel, event, field, code and ago",
                _shown(unknown[0]),
            )
        session = item.get("session")
        if not isinstance(session, str) or not EVENT_SESSION.fullmatch(session):
            return errors(
                422,
                "invalid_session",
                "session must be 8 to 64 of A-Z a-z 0-9 _ - (a random id per visit)",
                "session",
            )
        form_id = item.get("form")
        form = self.forms.get(form_id) if isinstance(form_id, str) else None
        if form is None:
            return errors(422, "unknown_form", "there is no such form", "form")
        channel = item.get("channel")
        if channel not in EVENT_CHANNELS:
            return errors(
                422,
                "invalid_channel",
                f"channel must be one of {', '.join(EVENT_CHANNELS)}",
                "channel",
            )
        event = item.get("event")
        if event not in EVENT_KINDS:
            return errors(
                422, "invalid_event", f"event must be one of {', '.join(EVENT_KINDS)}", "event"
            )
        field = item.get("field")
        if field is not None and (not isinstance(field, str) or field not in form.fields):
            return errors(422, "unknown_field", f"form {form.id} has no such question", "field")
        code = item.get("code")
        if code is not None and (not isinstance(code, str) or code not in MESSAGES):
            return errors(422, "unknown_code", "code must be a validation error's code", "code")
        ago = item.get("ago")
        if ago is not None:
            if type(ago) is not int or not 0 <= ago <= MAX_AGO_MS:
                return errors(
                    422,
                    "invalid_ago",
                    f"ago must be a whole number of milliseconds from 0 to {MAX_AGO_MS}",
                    "ago",
                )
            at = at - dt.timedelta(milliseconds=ago)
        return EventRecord(
            session=session,
            form=form.id,
            channel=str(channel),
            event=str(event),
            field=field,
            code=code,
            at=at,
        )


class EventPath:
    """``POST <root_path>/events`` answered before the routes (a middleware).

    It takes the events with the route's own :meth:`EventEndpoint.take`, and
    answers as the route would inside the app's middleware (``around``, as
    the app's middleware list gives them: the security headers and CORS),
    headers and all; it skips the routing and Starlette's layers that this
    endpoint never needs. Every other request, the CORS preflight (``OPTIONS
    /events``) included, goes on to ``app``. Installed inside
    ``ForwardedHeaders`` and ``CountResponses``, it sees the request as the
    customer made it and is counted as the route ``/events``.

    A refusal goes through ``around`` itself. So does the first 204 for each
    ``Origin``: the headers ``around`` gave it are kept and sent again with
    the next 204s for that origin, as what a 204 gets from the security
    headers (fixed) and CORS (the origin mirrored or not, ``Vary``) follows
    from the request's ``Origin`` alone. At most :data:`KEPT_ORIGINS` are
    kept (with ``INTAKE_ALLOWED_ORIGINS=*`` any origin gets this far).
    """

    def __init__(
        self, app: ASGIApp, endpoint: EventEndpoint, around: Sequence[Middleware] = ()
    ) -> None:
        self.app = app
        self.endpoint = endpoint
        self.around = list(around)
        # What the router would have put in the scope: the metrics' label.
        self.route = Route("/events", endpoint.post, methods=["POST"])
        self._accepted: dict[bytes | None, list[tuple[bytes, bytes]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The route's own test (its path under the mount's root_path), so the
        # two never disagree on which requests are POST /events.
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or get_route_path(scope) != "/events"
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        refused = await self.endpoint.take(Request(scope, receive))
        if refused is None:
            origin = first_header(scope, b"origin")
            headers = self._accepted.get(origin)
            if headers is not None:
                await send({"type": "http.response.start", "status": 204, "headers": [*headers]})
                await send({"type": "http.response.body", "body": b""})
                return
            send = self._keeping(origin, send)
        answer: ASGIApp = Response(status_code=204) if refused is None else refused
        for cls, args, kwargs in reversed(self.around):
            answer = cls(answer, *args, **kwargs)
        await answer(scope, receive, send)

    def _keeping(self, origin: bytes | None, send: Send) -> Send:
        """``send``, keeping the headers ``around`` gave the 204 for ``origin``."""

        async def keeping(message: Message) -> None:
            if message["type"] == "http.response.start" and len(self._accepted) < KEPT_ORIGINS:
                self._accepted[origin] = [*message.get("headers", ())]
            await send(message)

        return keeping


def _in_batch(refusal: Response, number: int) -> Response:
    """A refusal of the ``number``-th event of a list, saying which it was."""
    body = json.loads(bytes(refusal.body))
    error = body["errors"][0]
    where = f"[{number}].{error['field']}" if error["field"] else f"[{number}]"
    return errors(refusal.status_code, error["code"], f"event {number}: {error['message']}", where)


def _shown(text: str) -> str:
    """A client's key fit for an answer: short, odd characters escaped."""
    return text[:40].encode("unicode_escape").decode("ascii")
