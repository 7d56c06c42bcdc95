"""``POST /events``: valid events are stored after the flush, each kind of
bad event is refused naming the problem with nothing of its request stored,
lists and sendBeacon's text/plain are taken, and the rate limit holds. A
submission carrying its visit's id (``_visit``) records the visit's submit,
or a refusal's errors, and the id is neither stored nor mailed. Answered
before the routes (EventPath), every answer is the routes' own, headers and
all, under a mount prefix and behind a proxy too."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.testclient import TestClient
from test_metrics import value
from web_helpers import CAR_ANSWERS, FORMS, settings_for, token_from

from intakeforms.mail import build_agent_email
from intakeforms.store import EventRecord, StoredSubmission
from intakeforms.web import create_app
from intakeforms.web.event_buffer import FLUSH_SECONDS
from intakeforms.web.events import EventEndpoint, EventPath

VIEW = {"session": "visit-1234", "form": "car-service", "channel": "form", "event": "view"}
ERROR = {**VIEW, "event": "error", "field": "plate", "code": "required"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as test_client:
        yield test_client


def stored(client: TestClient, wait: bool = True) -> list[EventRecord]:
    """What the store holds once the buffer wrote what waits (``wait``:
    asked to at once, as its timer would do within FLUSH_SECONDS)."""
    service = client.app.state.service  # type: ignore[attr-defined]
    if wait:
        client.portal.call(service.event_buffer.flush)  # type: ignore[union-attr]
    now = dt.datetime.now(dt.UTC)
    return client.portal.call(  # type: ignore[union-attr]
        service.store.events_of, "car-service", now - dt.timedelta(hours=1), now
    )


def post(client: TestClient, body: Any, content_type: str = "application/json") -> Any:
    return client.post(
        "/events", content=json.dumps(body).encode(), headers={"content-type": content_type}
    )


def test_an_event_is_stored_after_the_flush_without_the_client(client: TestClient) -> None:
    answer = post(client, ERROR, "application/json; charset=utf-8")
    assert answer.status_code == 204, answer.text
    time.sleep(FLUSH_SECONDS * 2.5)  # the buffer's own timer writes it
    [event] = stored(client, wait=False)
    assert (event.session, event.form, event.channel, event.event) == (
        "visit-1234",
        "car-service",
        "form",
        "error",
    )
    assert (event.field, event.code) == ("plate", "required")
    assert abs(event.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_a_list_from_send_beacon_as_text_plain(client: TestClient) -> None:
    visit = [
        VIEW,
        {**VIEW, "event": "start", "field": "plate"},
        {**VIEW, "event": "answer", "field": "plate", "channel": "chat"},
        {**VIEW, "event": "abandon", "field": None, "code": None},
    ]
    assert post(client, visit, "text/plain;charset=UTF-8").status_code == 204
    assert [e.event for e in stored(client)] == ["view", "start", "answer", "abandon"]


def test_an_event_held_by_the_page_is_dated_when_it_happened(client: TestClient) -> None:
    """A page sends a visit's events as it ends, together, each with
    how many milliseconds ago it happened: each is dated then, and a visit's
    events read back in the order they happened."""
    start = {**VIEW, "event": "start", "field": "plate"}
    before = dt.datetime.now(dt.UTC)
    batch = [{**VIEW, "ago": 4_500}, {**start, "ago": 3_000}, {**ERROR, "ago": 0}, {**VIEW}]
    assert post(client, batch, "text/plain;charset=UTF-8").status_code == 204
    after = dt.datetime.now(dt.UTC)
    events = stored(client)
    assert [e.event for e in events] == ["view", "start", "error", "view"]
    for event, ago in zip(events, (4.5, 3.0, 0.0, 0.0), strict=True):
        held = dt.timedelta(seconds=ago)
        assert before - held <= event.at <= after - held


def test_events_are_written_at_shutdown(tmp_path: Path) -> None:
    app = create_app(FORMS, settings_for(tmp_path))
    with TestClient(app) as client:
        assert post(client, VIEW).status_code == 204
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as again:
        assert len(stored(again, wait=False)) == 1


@pytest.mark.parametrize(
    ("event", "status", "code", "field"),
    [
        ({**VIEW, "session": "short"}, 422, "invalid_session", "session"),
        ({**VIEW, "session": "has spaces in it"}, 422, "invalid_session", "session"),
        ({**VIEW, "session": 12345678}, 422, "invalid_session", "session"),
        ({**VIEW, "form": "no-such-form"}, 422, "unknown_form", "form"),
        ({**VIEW, "channel": "api"}, 422, "invalid_channel", "channel"),
        ({**VIEW, "event": "click"}, 422, "invalid_event", "event"),
        ({**VIEW, "field": "no_such_question"}, 422, "unknown_field", "field"),
        ({**ERROR, "code": "made_up"}, 422, "unknown_code", "code"),
        ({**VIEW, "ip": "10.0.0.1"}, 422, "unknown_key", "ip"),
        ({**VIEW, "ago": -1}, 422, "invalid_ago", "ago"),
        ({**VIEW, "ago": 3_600_001}, 422, "invalid_ago", "ago"),
        ({**VIEW, "ago": 1.5}, 422, "invalid_ago", "ago"),
        ({**VIEW, "ago": "500"}, 422, "invalid_ago", "ago"),
        ({**VIEW, "ago": True}, 422, "invalid_ago", "ago"),
        ("view", 400, "not_object", ""),
        ([], 422, "no_events", ""),
        ([VIEW] * 51, 422, "too_many_events", ""),
    ],
)
def test_each_bad_event_is_refused_naming_it_and_nothing_is_stored(
    client: TestClient, event: Any, status: int, code: str, field: str
) -> None:
    answer = post(client, event)
    assert answer.status_code == status
    [error] = answer.json()["errors"]
    assert (error["code"], error["field"]) == (code, field)
    # In a list with good events, the whole request is refused, naming which.
    if isinstance(event, dict):
        answer = post(client, [VIEW, ERROR, event])
        assert answer.status_code == status
        [error] = answer.json()["errors"]
        assert error["code"] == code and error["field"].startswith("[2]")
        assert error["message"].startswith("event 2: ")
    assert stored(client) == []


def test_a_body_that_is_not_json_or_not_text_is_refused(client: TestClient) -> None:
    assert post(client, VIEW, "application/x-www-form-urlencoded").status_code == 415
    answer = client.post("/events", content=b"{not json", headers={"content-type": "text/plain"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "malformed_json"
    deep = client.post("/events", content=b"[" * 20_000, headers={"content-type": "text/plain"})
    assert deep.status_code == 400
    huge = client.post(
        "/events", content=b" " * 40_000 + b"[]", headers={"content-type": "text/plain"}
    )
    assert huge.status_code == 413
    assert stored(client) == []


def test_events_are_rate_limited_like_validation(tmp_path: Path) -> None:
    app = create_app(FORMS, settings_for(tmp_path, rate_limit="1/minute"))
    with TestClient(app) as client:
        codes = [post(client, VIEW).status_code for _ in range(11)]
        # Ten times the submissions' limit, as for checking answers.
        assert codes[:10] == [204] * 10 and codes[10] == 429
        assert len(stored(client)) == 10


def test_a_store_that_cannot_write_drops_the_batch_not_the_page(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    # The store closed under the service: its writes fail (StoreUnavailable).
    client.portal.call(service.store.close)  # type: ignore[union-attr]
    try:
        assert post(client, [VIEW, ERROR]).status_code == 204
        time.sleep(FLUSH_SECONDS * 3)
    finally:
        client.portal.call(service.store.open)  # type: ignore[union-attr]
    assert service.event_buffer.dropped == 2
    assert "dropped 2 visitor event(s)" in caplog.text
    assert "visit-1234" not in caplog.text
    assert stored(client, wait=False) == []


VISIT = "Zq3x-9_kPw2LmN0aBcDeFg"


def the_submission(client: TestClient, reference: str) -> StoredSubmission:
    service = client.app.state.service  # type: ignore[attr-defined]
    found: StoredSubmission | None = client.portal.call(  # type: ignore[union-attr]
        service.store.get, reference
    )
    assert found is not None
    return found


def agent_email_text(client: TestClient, reference: str) -> str:
    """The agent email of ``reference`` as it would be sent, every part decoded."""
    submission = the_submission(client, reference)
    form = next(form for form in FORMS if form.id == submission.form)
    message = build_agent_email(form, submission, mail_from="intake@example.com")
    parts = [message.as_string()]
    parts += [str(part.get_content()) for part in message.walk() if not part.is_multipart()]
    return "\n".join(parts)


def test_a_json_submission_with_its_visit_records_the_submit_once_stored(
    client: TestClient,
) -> None:
    body = {**CAR_ANSWERS, "_visit": VISIT, "_channel": "chat"}
    answer = client.post("/forms/car-service/submissions", json=body)
    assert answer.status_code == 201, answer.text
    [event] = stored(client)
    assert (event.session, event.form, event.channel, event.event) == (
        VISIT,
        "car-service",
        "chat",
        "submit",
    )
    assert (event.field, event.code) == (None, None)
    reference = answer.json()["reference"]
    submission = the_submission(client, reference)
    # An id of the visit, not an answer: never stored with it, never mailed.
    assert "_visit" not in submission.data and "_channel" not in submission.data
    assert VISIT not in json.dumps(submission.data) + json.dumps(submission.context or {})
    assert VISIT not in agent_email_text(client, reference)


def test_a_browser_post_with_its_visit_records_the_submit(client: TestClient) -> None:
    page = client.get("/forms/car-service?lang=fi").text
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "_token": token_from(page),
        "_visit": VISIT,
    }
    answer = client.post("/forms/car-service/submissions?lang=fi", data=form)
    assert answer.status_code == 201, answer.text
    assert VISIT not in answer.text
    [event] = stored(client)
    assert (event.session, event.channel, event.event) == (VISIT, "form", "submit")


def test_a_refused_submission_records_its_errors_and_its_page_goes_on_with_the_visit(
    client: TestClient,
) -> None:
    page = client.get("/forms/car-service?lang=fi").text
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "plate": "not a plate",
        "email": "",
        "_token": token_from(page),
        "_visit": VISIT,
    }
    answer = client.post("/forms/car-service/submissions?lang=fi", data=form)
    assert answer.status_code == 422
    # The error page keeps the visit's id for the corrected post.
    assert f'name="_visit" value="{VISIT}"' in answer.text
    errors = {(e.field, e.code) for e in stored(client)}
    assert errors == {("plate", "invalid_plate"), ("email", "required")}
    assert {e.event for e in stored(client, wait=False)} == {"error"}
    # A JSON client gets the same, under its channel.
    refused = client.post(
        "/forms/car-service/submissions",
        json={**CAR_ANSWERS, "mileage": -5, "_visit": "another-visit-1", "_channel": "inline"},
    )
    assert refused.status_code == 422
    [error] = [e for e in stored(client) if e.session == "another-visit-1"]
    assert (error.channel, error.event, error.field, error.code) == (
        "inline",
        "error",
        "mileage",
        "too_small",
    )


@pytest.mark.parametrize(
    "visit",
    ["short", "has spaces in it", "x" * 65, "ääkköset-ovat-tässä", 12345678901, ["a" * 22]],
)
def test_a_visit_id_that_is_not_one_is_ignored_never_refused(
    client: TestClient, visit: Any
) -> None:
    answer = client.post("/forms/car-service/submissions", json={**CAR_ANSWERS, "_visit": visit})
    assert answer.status_code == 201, answer.text
    assert stored(client) == []
    submission = the_submission(client, answer.json()["reference"])
    assert "_visit" not in submission.data


def test_an_unknown_channel_counts_as_the_form(client: TestClient) -> None:
    body = {**CAR_ANSWERS, "_visit": VISIT, "_channel": "email"}
    assert client.post("/forms/car-service/submissions", json=body).status_code == 201
    [event] = stored(client)
    assert (event.channel, event.event) == ("form", "submit")


def test_without_a_visit_nothing_is_recorded(client: TestClient) -> None:
    assert client.post("/forms/car-service/submissions", json=CAR_ANSWERS).status_code == 201
    assert client.post("/forms/car-service/submissions", json={}).status_code == 422
    assert stored(client) == []


# -- answered before the routes (EventPath) --------------------------------------------

SHOP = "https://shop.example"


def routed_only(app: Starlette) -> Starlette:
    """``app`` without EventPath: every request through the routing."""
    kept = [m for m in app.user_middleware if next(iter(m)) is not EventPath]  # (cls, args, kwargs)
    assert len(kept) == len(app.user_middleware) - 1
    app.user_middleware = kept
    app.middleware_stack = None
    return app


@pytest.fixture
def route_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The route of apps made from now on answers 418: a 204 then shows that
    EventPath answered before the routing."""

    async def teapot(self: EventEndpoint, request: Request) -> Response:
        return Response(status_code=418)

    monkeypatch.setattr(EventEndpoint, "post", teapot)


def answer_of(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    answer = client.post("/events", content=body, headers=headers)
    return answer.status_code, sorted(answer.headers.multi_items()), answer.content


def without_wait(answer: Any) -> Any:
    status, headers, content = answer
    return status, [(n, v) for n, v in headers if n != "retry-after"], content


JSON = {"content-type": "application/json"}
TEXT = {"content-type": "text/plain;charset=UTF-8"}
REQUESTS = [
    (json.dumps(VIEW).encode(), JSON),
    (json.dumps([VIEW, ERROR]).encode(), {**TEXT, "origin": SHOP}),
    (json.dumps(VIEW).encode(), {**JSON, "origin": "http://testserver"}),
    (json.dumps(VIEW).encode(), {**JSON, "origin": "https://elsewhere.example"}),
    (json.dumps({**VIEW, "ip": "10.0.0.1"}).encode(), {**JSON, "origin": SHOP}),
    (json.dumps([VIEW, {**VIEW, "form": "no-such-form"}]).encode(), JSON),
    (b"{not json", TEXT),
    (json.dumps(VIEW).encode(), {"content-type": "application/x-www-form-urlencoded"}),
    (b" " * 40_000 + b"[]", TEXT),
]


def test_the_answers_before_the_routes_are_the_routes_answers(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, allowed_origins=(SHOP,))
    fast = create_app(FORMS, settings)
    routed = routed_only(create_app(FORMS, replace(settings, store=f"sqlite:///{tmp_path}/r.db")))
    with TestClient(fast) as one, TestClient(routed) as other:
        # Twice: the second time with the headers kept for each origin.
        for _ in range(2):
            for body, headers in REQUESTS:
                expected = answer_of(other, body, headers)
                assert answer_of(one, body, headers) == expected, (body[:40], headers)
        assert [e.event for e in stored(one)] == ["view", "view", "error", "view"] * 2
    statuses = [answer_of(one, body, headers)[0] for body, headers in REQUESTS]
    assert statuses == [204, 204, 204, 403, 422, 422, 400, 415, 413]


def test_the_rate_limit_is_the_routes(tmp_path: Path) -> None:
    limited = settings_for(tmp_path, rate_limit="1/minute")
    fast = create_app(FORMS, limited)
    routed = routed_only(create_app(FORMS, replace(limited, store=f"sqlite:///{tmp_path}/r.db")))
    with TestClient(fast) as one, TestClient(routed) as other:
        body = json.dumps(VIEW).encode()
        answers = [answer_of(one, body, JSON) for _ in range(11)]
        through_routes = [answer_of(other, body, JSON) for _ in range(11)]
    assert [status for status, _, _ in answers] == [204] * 10 + [429]
    # The seconds to wait are counted when each is refused, a moment apart.
    waits = [
        int(dict(headers)["retry-after"]) for _, headers, _ in (answers[-1], through_routes[-1])
    ]
    assert abs(waits[0] - waits[1]) <= 1
    assert [without_wait(a) for a in answers] == [without_wait(a) for a in through_routes]


@pytest.mark.usefixtures("route_refuses")
def test_under_a_mount_prefix_with_cors_and_security_headers(tmp_path: Path) -> None:
    intake = create_app(FORMS, settings_for(tmp_path, allowed_origins=(SHOP,)))
    host = Starlette(routes=[Mount("/support", app=intake)])
    with TestClient(host) as client:
        for _ in range(2):
            answer = client.post("/support/events", json=VIEW, headers={"origin": SHOP})
            assert answer.status_code == 204
            assert answer.headers["access-control-allow-origin"] == SHOP
            assert answer.headers["vary"] == "Origin"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
        # Anything else goes through the routes: the preflight, other methods.
        preflight = client.options(
            "/support/events",
            headers={"origin": SHOP, "access-control-request-method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == SHOP
        assert client.get("/support/events").status_code == 405
        assert client.post("/events", json=VIEW).status_code == 404  # the host's own path
        service = intake.state.service
        time.sleep(FLUSH_SECONDS * 3)
        now = dt.datetime.now(dt.UTC)
        found = client.portal.call(  # type: ignore[union-attr]
            service.store.events_of, "car-service", now - dt.timedelta(hours=1), now
        )
    assert len(found) == 2


@pytest.mark.usefixtures("route_refuses")
def test_behind_the_proxy_it_sees_the_customers_request(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, trust_proxy=True, rate_limit="1/minute")
    public = {
        "host": "forms.example.com",
        "x-forwarded-proto": "https",
        "origin": "https://forms.example.com",
        "x-forwarded-for": "203.0.113.1",
    }
    with TestClient(create_app(FORMS, settings)) as client:
        codes = [client.post("/events", json=VIEW, headers=public).status_code for _ in range(11)]
        # The page's own (public) origin, and the customer's own count.
        assert codes == [204] * 10 + [429]
        other = {**public, "x-forwarded-for": "203.0.113.2"}
        assert client.post("/events", json=VIEW, headers=other).status_code == 204
        # Without the proxy's word the page's https origin is foreign.
        direct = {"host": "forms.example.com", "origin": "https://forms.example.com"}
        refused = client.post("/events", json=VIEW, headers=direct)
        assert refused.status_code == 403
        assert refused.headers["x-content-type-options"] == "nosniff"


@pytest.mark.usefixtures("route_refuses")
def test_counted_in_the_metrics_as_the_route(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path, metrics="true"))) as client:
        assert post(client, VIEW).status_code == 204
        assert post(client, {**VIEW, "ip": "10.0.0.1"}).status_code == 422
        text = client.get("/metrics").text
    responses = "intakeforms_http_responses_total"
    assert value(text, responses, route="/events", status="204", code="") == 1
    assert value(text, responses, route="/events", status="422", code="unknown_key") == 1
