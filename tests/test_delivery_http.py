"""Webhook and helpdesk targets against a real HTTP server on loopback.

The server (``http_server.py``) checks each request the way its product
documents it and records the raw bytes, so signatures are verified here with
an implementation of the Standard Webhooks spec written from the spec, not
with the code under test.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import problems_of
from http_server import (
    FRESHDESK_KEY,
    ZAMMAD_TOKEN,
    ZENDESK_TOKEN,
    HttpServer,
    Recorded,
)
from pydantic import BaseModel
from starlette.testclient import TestClient
from web_helpers import settings_for

from intakeforms import Form, FormError, load_form_text
from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery.http import retry_after_seconds, shown_url
from intakeforms.delivery.targets import deliver_http, missing_secrets
from intakeforms.errors import PermanentDeliveryError, TransientDeliveryError
from intakeforms.language.models import DeliverTarget
from intakeforms.store import SqliteStore, StoredFile, StoredSubmission
from intakeforms.targets import TARGET_KINDS
from intakeforms.targets.freshdesk import FreshdeskTarget
from intakeforms.targets.webhook import WebhookTarget, secret_key, webhook_id
from intakeforms.targets.zammad import ZammadTarget
from intakeforms.targets.zendesk import ZendeskTarget
from intakeforms.web import create_app

ROOT = Path(__file__).resolve().parent.parent

#: A secret in the spec's format: 32 random bytes, base64, after whsec_.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
ENVIRON = {
    "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "TEST_ZENDESK_TOKEN": ZENDESK_TOKEN,
    "TEST_FRESHDESK_KEY": FRESHDESK_KEY,
    "TEST_ZAMMAD_TOKEN": ZAMMAD_TOKEN,
}
HOSTILE = "<script>alert('x')</script> & **bold** [link](https://evil.example)\nline two"
ANSWERS: dict[str, Any] = {
    "plate": "abc123",
    "service": "repair",
    "symptoms": HOSTILE,
    "mileage": 184000,
    "name": "Matti <Meikäläinen>",
    "email": "matti@example.com",
}

# Targets by index in FORM below: 0 webhook, 1 zendesk, 2 freshdesk, 3 zammad.
FORM = """\
form: car-service
title: {{en: Car service, fi: Huolto}}
locales: [en, fi]
reference_prefix: CAR
summary: "{{service}} {{plate}}"
fields:
  - {{name: plate, type: plate, region: FI, label: Registration plate, required: true}}
  - name: service
    type: choice
    label: What do you need?
    choices: {{annual: Annual service, repair: Repair}}
    required: true
  - {{name: symptoms, type: textarea, label: Describe the problem}}
  - {{name: mileage, type: integer, unit: km, label: Mileage}}
  - {{name: name, type: text, role: customer_name, label: Name}}
  - {{name: email, type: email, role: reply_to, label: Email}}
deliver:
  - webhook: {{url: "{base}/hook", secret_env: TEST_WEBHOOK_SECRET}}
  - zendesk:
      url: {base}
      email: agent@acme.example
      token_env: TEST_ZENDESK_TOKEN
      fields: {{plate: 360001234567, service: 360007654321}}
      tags: [car-service, web]
  - freshdesk:
      url: {base}
      api_key_env: TEST_FRESHDESK_KEY
      fields: {{plate: cf_plate, mileage: cf_mileage}}
      tags: [car-service]
  - zammad:
      url: {base}
      token_env: TEST_ZAMMAD_TOKEN
      group: Service
      fields: {{plate: plate_number, service: service_kind}}
      tags: [car-service, web]
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer() as running:
        yield running


@pytest.fixture
def form(server: HttpServer) -> Form:
    return load_form_text(FORM.format(base=server.url), "car-service.yaml")


def stored(
    form: Form,
    reference: str = "CAR-4F7K2Q",
    context: dict[str, Any] | None = None,
    **changes: Any,
) -> StoredSubmission:
    answers = {k: v for k, v in {**ANSWERS, **changes}.items() if v is not None}
    return StoredSubmission(
        reference=reference,
        form=form.id,
        form_version=form.version,
        locale="en",
        data=dict(form.validate(answers)),
        files=(),
        submitted_at=dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC),
        spam=False,
        client=None,
        context=context,
    )


async def deliver(
    form: Form,
    submission: StoredSubmission,
    index: int,
    environ: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> str:
    target = form.definition.deliver[index]
    return await deliver_http(
        target.kind,
        target,
        form,
        submission,
        index,
        environ=ENVIRON if environ is None else environ,
        timeout=timeout,
    )


def verify_standard_webhook(request: Recorded, secret: str, tolerance: float = 300) -> Any:
    """A receiver's check, written from the spec: the signed content is
    ``id.timestamp.body``, the key is the base64 after ``whsec_``, the header
    is a space-separated list of ``v1,BASE64``; compare in constant time."""
    msg_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    assert "." not in msg_id
    assert abs(time.time() - int(timestamp)) < tolerance
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + request.body
    expected = hmac.new(key, content, hashlib.sha256).digest()
    for signature in request.headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(value), expected):
            return json.loads(request.body)
    raise AssertionError("no signature matches")


# -- webhook -------------------------------------------------------------------


@pytest.mark.anyio
async def test_webhook_is_signed_as_standard_webhooks_say(server: HttpServer, form: Form) -> None:
    receipt = await deliver(form, stored(form), 0)
    assert receipt == "HTTP 200"
    (request,) = server.requests
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("intakeforms/")
    event = verify_standard_webhook(request, WEBHOOK_SECRET)
    assert event == {
        "type": "submission.created",
        "form": "car-service",
        "form_version": form.version,
        "reference": "CAR-4F7K2Q",
        "submitted_at": "2026-11-23T08:00:00+00:00",
        "locale": "en",
        "data": {
            "plate": "ABC-123",
            "service": "repair",
            "symptoms": HOSTILE,
            "mileage": 184000,
            "name": "Matti <Meikäläinen>",
            "email": "matti@example.com",
        },
        "files": [],
        "context": None,
        "history": [],
    }
    assert request.headers["webhook-id"] == webhook_id("CAR-4F7K2Q", 0) == "msg_CAR-4F7K2Q_0"


@pytest.mark.anyio
async def test_a_retry_has_the_same_webhook_id_and_a_fresh_signature(
    server: HttpServer, form: Form
) -> None:
    server.replies.append((500, {}, b"oops"))
    with pytest.raises(TransientDeliveryError, match="HTTP 500: oops"):
        await deliver(form, stored(form), 0)
    assert await deliver(form, stored(form), 0) == "HTTP 200"
    first, second = server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    verify_standard_webhook(first, WEBHOOK_SECRET)
    verify_standard_webhook(second, WEBHOOK_SECRET)


@pytest.mark.anyio
async def test_a_plain_secret_signs_with_its_own_bytes(server: HttpServer, form: Form) -> None:
    environ = {**ENVIRON, "TEST_WEBHOOK_SECRET": "  not-in-whsec-format\n"}
    await deliver(form, stored(form), 0, environ)
    (request,) = server.requests
    msg_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    content = f"{msg_id}.{timestamp}.".encode() + request.body
    digest = hmac.new(b"not-in-whsec-format", content, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_secret_keys() -> None:
    assert secret_key("whsec_" + base64.b64encode(b"k" * 24).decode()) == b"k" * 24
    assert secret_key("whsec_" + base64.b64encode(b"k" * 24).decode().rstrip("=")) == b"k" * 24
    assert secret_key("plain") == b"plain"
    for bad in ("whsec_not base64!", "whsec_"):
        with pytest.raises(ValueError, match="whsec_"):
            secret_key(bad)


@pytest.mark.anyio
async def test_a_bad_whsec_secret_is_permanent(server: HttpServer, form: Form) -> None:
    environ = {**ENVIRON, "TEST_WEBHOOK_SECRET": "whsec_***"}
    with pytest.raises(PermanentDeliveryError, match="TEST_WEBHOOK_SECRET") as caught:
        await deliver(form, stored(form), 0, environ)
    assert "***" not in str(caught.value)
    assert server.requests == []


@pytest.mark.anyio
async def test_webhook_without_a_secret_is_sent_unsigned(server: HttpServer) -> None:
    form = load_form_text(
        "form: hook\ntitle: Hook\nfields:\n  - {name: a, type: text, label: A}\n"
        f"deliver:\n  - webhook: {{url: '{server.url}/hook'}}\n"
    )
    submission = StoredSubmission(
        "HOO-000001",
        "hook",
        form.version,
        "en",
        {"a": "x"},
        (),
        dt.datetime.now(dt.UTC),
        False,
        None,
    )
    assert await deliver(form, submission, 0) == "HTTP 200"
    (request,) = server.requests
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == "msg_HOO-000001_0"


# -- status mapping ------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_server_errors_and_throttling_are_transient(
    server: HttpServer, form: Form, status: int
) -> None:
    server.replies.append((status, {}, b""))
    with pytest.raises(TransientDeliveryError, match=f"HTTP {status}") as caught:
        await deliver(form, stored(form), 0)
    assert caught.value.retry_after is None


@pytest.mark.anyio
async def test_retry_after_in_seconds_is_honoured(server: HttpServer, form: Form) -> None:
    server.replies.append((429, {"retry-after": "120"}, b"slow down"))
    with pytest.raises(TransientDeliveryError) as caught:
        await deliver(form, stored(form), 0)
    assert caught.value.retry_after == 120


@pytest.mark.anyio
async def test_retry_after_as_a_date_is_honoured(server: HttpServer, form: Form) -> None:
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=600), True)
    server.replies.append((503, {"retry-after": later}, b""))
    with pytest.raises(TransientDeliveryError) as caught:
        await deliver(form, stored(form), 0)
    assert caught.value.retry_after is not None and 590 <= caught.value.retry_after <= 600


def test_urls_in_messages_lose_their_secrets() -> None:
    assert shown_url("https://u:p@[::1]:8443/hook?token=x#y") == "https://[::1]:8443/hook"
    assert shown_url("https://hooks.example/a") == "https://hooks.example/a"


def test_retry_after_values() -> None:
    now = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(" 30 ") == 30
    assert retry_after_seconds("Mon, 23 Nov 2026 08:01:00 GMT", now) == 60
    assert retry_after_seconds("Mon, 23 Nov 2026 07:00:00 GMT", now) == 0
    assert retry_after_seconds("Mon, 23 Nov 2026 08:00:30 -0000", now) == 30
    assert retry_after_seconds("99999999") == 24 * 3600
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-5") is None


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_other_client_errors_are_permanent(
    server: HttpServer, form: Form, status: int
) -> None:
    server.replies.append((status, {}, b'{"error": "no such hook"}'))
    with pytest.raises(PermanentDeliveryError, match=f"HTTP {status}") as caught:
        await deliver(form, stored(form), 0)
    assert "no such hook" in str(caught.value)


@pytest.mark.anyio
async def test_a_long_error_answer_is_cut_to_one_line(server: HttpServer, form: Form) -> None:
    server.replies.append((422, {}, b"<html>\n" + b"x" * 5000))
    with pytest.raises(PermanentDeliveryError) as caught:
        await deliver(form, stored(form), 0)
    message = str(caught.value)
    assert "\n" not in message and message.endswith("x…") and len(message) < 500


@pytest.mark.anyio
async def test_redirects_are_not_followed(server: HttpServer, form: Form) -> None:
    server.replies.append((301, {"location": "https://elsewhere.example/hook?t=1"}, b""))
    with pytest.raises(PermanentDeliveryError, match=r"elsewhere\.example/hook;") as caught:
        await deliver(form, stored(form), 0)
    assert "t=1" not in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_a_timeout_is_transient(server: HttpServer, form: Form) -> None:
    server.delay = 3.0
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError, match=r"did not answer within 0\.3 seconds"):
        await deliver(form, stored(form), 0, timeout=0.3)
    assert time.monotonic() - started < 2


@pytest.mark.anyio
async def test_a_refused_connection_is_transient(server: HttpServer) -> None:
    base = server.url
    server.stop()  # nothing listens on the port any more
    form = load_form_text(FORM.format(base=base))
    with pytest.raises(TransientDeliveryError, match="cannot reach the webhook at http://127"):
        await deliver(form, stored(form), 0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("index", "name"),
    [
        (0, "TEST_WEBHOOK_SECRET"),
        (1, "TEST_ZENDESK_TOKEN"),
        (2, "TEST_FRESHDESK_KEY"),
        (3, "TEST_ZAMMAD_TOKEN"),
    ],
)
async def test_a_missing_secret_is_permanent(
    server: HttpServer, form: Form, index: int, name: str
) -> None:
    environ = {k: v for k, v in ENVIRON.items() if k != name}
    with pytest.raises(PermanentDeliveryError, match=f"environment variable {name} .* not set"):
        await deliver(form, stored(form), index, environ)
    assert server.requests == []


@pytest.mark.anyio
async def test_a_secret_with_a_line_break_is_refused(server: HttpServer, form: Form) -> None:
    environ = {**ENVIRON, "TEST_ZAMMAD_TOKEN": "abc\ndef"}
    with pytest.raises(PermanentDeliveryError, match="TEST_ZAMMAD_TOKEN") as caught:
        await deliver(form, stored(form), 3, environ)
    assert "abc" not in str(caught.value)


@pytest.mark.anyio
async def test_a_job_for_a_target_that_changed_kind_is_permanent(form: Form) -> None:
    target = form.definition.deliver[1]
    with pytest.raises(PermanentDeliveryError, match="is a zendesk target now, not the webhook"):
        await deliver_http("webhook", target, form, stored(form), 1, environ=ENVIRON)


@pytest.mark.anyio
async def test_a_client_of_the_callers_is_used_and_left_open(
    server: HttpServer, form: Form
) -> None:
    async with httpx.AsyncClient(headers={"user-agent": "mine"}) as client:
        target = form.definition.deliver[0]
        await deliver_http("webhook", target, form, stored(form), 0, client=client, environ=ENVIRON)
        await deliver_http("webhook", target, form, stored(form), 0, client=client, environ=ENVIRON)
        assert not client.is_closed
    assert [r.headers["user-agent"] for r in server.requests] == ["mine", "mine"]


@pytest.mark.anyio
async def test_email_jobs_are_not_delivered_over_http(form: Form) -> None:
    email_form = load_form_text(
        "form: mail\ntitle: Mail\nfields:\n  - {name: a, type: text, label: A}\n"
        "deliver:\n  - email: {to: [agents@example.com]}\n"
    )
    target = email_form.definition.deliver[0]
    with pytest.raises(PermanentDeliveryError, match="'email' targets is not available"):
        await deliver_http("email", target, email_form, stored(form), 0)


# -- helpdesks -----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("index", "receipt"),
    [(1, "zendesk HTTP 201"), (2, "freshdesk HTTP 201"), (3, "zammad HTTP 201")],
)
async def test_a_helpdesk_answer_without_a_ticket_id_still_counts(
    server: HttpServer, form: Form, index: int, receipt: str
) -> None:
    server.replies.append((201, {}, b""))
    assert await deliver(form, stored(form), index) == receipt


@pytest.mark.anyio
async def test_zendesk_ticket_with_custom_fields_and_escaped_answers(
    server: HttpServer, form: Form
) -> None:
    assert await deliver(form, stored(form), 1) == "zendesk ticket 1"
    (request,) = server.requests
    assert request.path == "/api/v2/tickets.json"
    assert request.headers["idempotency-key"] == "intakeforms:car-service:CAR-4F7K2Q:1"
    (ticket,) = server.helpdesk.tickets["zendesk"]
    assert ticket["subject"] == "[CAR-4F7K2Q] Repair ABC-123"
    assert ticket["external_id"] == "CAR-4F7K2Q"
    assert ticket["requester"] == {"name": "Matti <Meikäläinen>", "email": "matti@example.com"}
    assert ticket["tags"] == ["car-service", "web"]
    assert ticket["custom_fields"] == [
        {"id": 360001234567, "value": "ABC-123"},
        {"id": 360007654321, "value": "repair"},
    ]
    assert ticket["comment"]["public"] is False
    body = ticket["comment"]["html_body"]
    assert '<th scope="row">Registration plate</th><td>ABC-123</td>' in body
    assert '<th scope="row">Mileage</th><td>184,000\u00a0km</td>' in body
    assert "<script>" not in body and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "&lt;Meikäläinen&gt;" in body
    assert "line two" in body and "<br>" in body


@pytest.mark.anyio
@pytest.mark.parametrize("index", [1, 2, 3])
async def test_tickets_name_files_by_reference_and_type_not_as_the_customer_did(
    server: HttpServer, index: int
) -> None:
    """``invoice.pdf.exe`` with PDF bytes: the ticket names the file
    ``RET-4F7K2Q-receipt-1.pdf`` and shows the customer's name only as
    theirs; the webhook's JSON keeps the customer's name as it was."""
    form = load_form_text(
        "form: returns\ntitle: Returns\nlocales: [en]\nreference_prefix: RET\nfields:\n"
        "  - {name: receipt, type: file, label: Receipt}\n"
        "  - {name: email, type: email, role: reply_to, label: Email, required: true}\n"
        "deliver:\n"
        f"  - webhook: {{url: '{server.url}/hook'}}\n"
        f"  - zendesk: {{url: '{server.url}', email: agent@acme.example, "
        "token_env: TEST_ZENDESK_TOKEN}\n"
        f"  - freshdesk: {{url: '{server.url}', api_key_env: TEST_FRESHDESK_KEY}}\n"
        f"  - zammad: {{url: '{server.url}', token_env: TEST_ZAMMAD_TOKEN, group: Service}}\n",
        "returns.yaml",
    )
    upload = StoredFile("receipt", "invoice.pdf.exe", "application/pdf", 1234, "ab/cdef")
    submission = StoredSubmission(
        "RET-4F7K2Q",
        form.id,
        form.version,
        "en",
        {"email": "matti@example.com"},
        (upload,),
        dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC),
        False,
        None,
    )
    await deliver(form, submission, 0)
    await deliver(form, submission, index)
    hook, ticket = server.requests
    assert hook.json()["files"][0]["name"] == "invoice.pdf.exe"
    html = json.dumps(ticket.json(), ensure_ascii=False)
    assert "RET-4F7K2Q-receipt-1.pdf" in html
    # The customer's name appears only labelled as theirs, never as the file's.
    assert html.count("invoice.pdf.exe") == html.count("named by the customer “invoice.pdf.exe”")
    assert html.count("invoice.pdf.exe") == 1


@pytest.mark.anyio
async def test_zendesk_retry_returns_the_same_ticket(server: HttpServer, form: Form) -> None:
    first = await deliver(form, stored(form), 1)
    again = await deliver(form, stored(form), 1)
    assert first == again == "zendesk ticket 1"
    assert len(server.helpdesk.tickets["zendesk"]) == 1
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_zendesk_without_an_email_answer_leaves_the_requester_out(
    server: HttpServer, form: Form
) -> None:
    await deliver(form, stored(form, email=None), 1)
    (ticket,) = server.helpdesk.tickets["zendesk"]
    assert "requester" not in ticket


@pytest.mark.anyio
async def test_an_invalid_stored_address_is_no_requester(server: HttpServer, form: Form) -> None:
    valid = stored(form)
    # Stored by an older version, or edited in the database: not trusted.
    broken = dataclasses.replace(valid, data={**valid.data, "email": "matti(at)example.com"})
    await deliver(form, broken, 1)
    (ticket,) = server.helpdesk.tickets["zendesk"]
    assert "requester" not in ticket


@pytest.mark.anyio
async def test_zendesk_names_the_requester_by_email_without_a_name(
    server: HttpServer, form: Form
) -> None:
    await deliver(form, stored(form, name=None, service="annual"), 1)
    (ticket,) = server.helpdesk.tickets["zendesk"]
    assert ticket["requester"] == {"name": "matti@example.com", "email": "matti@example.com"}
    assert ticket["custom_fields"][1] == {"id": 360007654321, "value": "annual"}


@pytest.mark.anyio
async def test_zendesk_wrong_token_is_permanent(server: HttpServer, form: Form) -> None:
    environ = {**ENVIRON, "TEST_ZENDESK_TOKEN": "wrong"}
    with pytest.raises(PermanentDeliveryError, match="HTTP 401; check the credentials"):
        await deliver(form, stored(form), 1, environ)


@pytest.mark.anyio
async def test_freshdesk_ticket(server: HttpServer, form: Form) -> None:
    assert await deliver(form, stored(form), 2) == "freshdesk ticket 1"
    (ticket,) = server.helpdesk.tickets["freshdesk"]
    assert ticket["subject"] == "[CAR-4F7K2Q] Repair ABC-123"
    assert ticket["email"] == "matti@example.com"
    assert ticket["name"] == "Matti <Meikäläinen>"
    assert ticket["priority"] == 1 and ticket["status"] == 2
    assert ticket["tags"] == ["car-service"]
    assert ticket["custom_fields"] == {"cf_plate": "ABC-123", "cf_mileage": 184000}
    assert "&lt;script&gt;" in ticket["description"] and "<script>" not in ticket["description"]


@pytest.mark.anyio
async def test_freshdesk_leaves_blank_answers_out(server: HttpServer, form: Form) -> None:
    await deliver(form, stored(form, mileage=None, name=None), 2)
    (ticket,) = server.helpdesk.tickets["freshdesk"]
    assert ticket["custom_fields"] == {"cf_plate": "ABC-123"}
    assert "name" not in ticket


@pytest.mark.anyio
async def test_freshdesk_and_zammad_need_the_customers_email(
    server: HttpServer, form: Form
) -> None:
    for index in (2, 3):
        with pytest.raises(PermanentDeliveryError, match="no valid email address"):
            await deliver(form, stored(form, email=None), index)
    assert server.requests == []


@pytest.mark.anyio
async def test_freshdesk_validation_errors_are_permanent_and_explained(
    server: HttpServer, form: Form
) -> None:
    server.replies.append(
        (400, {}, b'{"description":"Validation failed","errors":[{"field":"cf_plate"}]}')
    )
    with pytest.raises(PermanentDeliveryError, match=r"HTTP 400.*cf_plate"):
        await deliver(form, stored(form), 2)


@pytest.mark.anyio
async def test_zammad_ticket(server: HttpServer, form: Form) -> None:
    assert await deliver(form, stored(form), 3) == "zammad ticket 31001 (id 1)"
    (request,) = server.requests
    assert request.headers["authorization"] == f"Token token={ZAMMAD_TOKEN}"
    (ticket,) = server.helpdesk.tickets["zammad"]
    assert ticket["title"] == "[CAR-4F7K2Q] Repair ABC-123"
    assert ticket["group"] == "Service"
    assert ticket["customer_id"] == "guess:matti@example.com"
    assert ticket["tags"] == "car-service,web"
    assert ticket["plate_number"] == "ABC-123" and ticket["service_kind"] == "repair"
    article = ticket["article"]
    assert article["type"] == "web" and article["sender"] == "Customer"
    assert article["content_type"] == "text/html" and article["internal"] is False
    assert "&lt;script&gt;" in article["body"] and "<script>" not in article["body"]


@pytest.mark.anyio
async def test_agents_language_follows_the_target(server: HttpServer) -> None:
    text = FORM.format(base=server.url).replace(
        "group: Service\n", "group: Service\n      locale: fi\n"
    )
    form = load_form_text(text)
    await deliver(form, stored(form), 3)
    (ticket,) = server.helpdesk.tickets["zammad"]
    assert "184\u00a0000\u00a0km" in ticket["article"]["body"]  # Finnish digit groups


@pytest.mark.anyio
async def test_helpdesk_targets_without_fields_or_tags(server: HttpServer) -> None:
    form = load_form_text(
        "form: plain\ntitle: Plain\nfields:\n"
        "  - {name: email, type: email, role: reply_to, label: Email}\n"
        "deliver:\n"
        f"  - zendesk: {{url: '{server.url}', email: agent@acme.example, "
        "token_env: TEST_ZENDESK_TOKEN}\n"
        f"  - freshdesk: {{url: '{server.url}', api_key_env: TEST_FRESHDESK_KEY}}\n"
        f"  - zammad: {{url: '{server.url}', token_env: TEST_ZAMMAD_TOKEN, group: Users}}\n"
    )
    submission = StoredSubmission(
        "PLA-000001",
        "plain",
        form.version,
        "en",
        {"email": "a@example.com"},
        (),
        dt.datetime.now(dt.UTC),
        False,
        None,
    )
    for index in range(3):
        await deliver(form, submission, index)
    tickets = server.helpdesk.tickets
    assert "tags" not in tickets["zendesk"][0] and "custom_fields" not in tickets["zendesk"][0]
    assert "tags" not in tickets["freshdesk"][0] and "custom_fields" not in tickets["freshdesk"][0]
    assert tickets["freshdesk"][0]["email"] == "a@example.com"
    assert "tags" not in tickets["zammad"][0]
    assert tickets["zammad"][0]["title"] == "[PLA-000001] Plain"


# -- the context: an incomplete contact, the FAQ answers read ------------------

#: A customer who read an FAQ answer, then sent the form without the mileage.
CONTEXT: dict[str, Any] = {
    "faq": {
        "search": "0123456789abcdef0123456789abcdef",
        "shown": [{"faq": "workshop", "entry": "tyre-hotel", "question": "Tyre <hotel>?"}],
    },
    "incomplete": {"missing": ["mileage"]},
}
NOTICES = (
    "<p><strong>Incomplete: the customer chose to talk to a person before answering every "
    "question.</strong></p>\n<p>Not answered yet: Mileage</p>\n"
    "<p>Before contacting us, the customer read these answers, which did not help:</p>\n"
    "<ul>\n<li>Tyre &lt;hotel&gt;?</li>\n</ul>\n<table>"
)


@pytest.mark.anyio
async def test_the_webhook_carries_the_context(server: HttpServer, form: Form) -> None:
    await deliver(form, stored(form, context=CONTEXT, mileage=None), 0)
    (request,) = server.requests
    event = verify_standard_webhook(request, WEBHOOK_SECRET)
    assert event["context"] == CONTEXT
    assert "mileage" not in event["data"]


@pytest.mark.anyio
async def test_tickets_show_the_context_and_tag_an_incomplete_contact(
    server: HttpServer, form: Form
) -> None:
    submission = stored(form, context=CONTEXT, mileage=None)
    for index in (1, 2, 3):
        await deliver(form, submission, index)
    tickets = server.helpdesk.tickets
    zendesk, freshdesk, zammad = (tickets[kind][0] for kind in ("zendesk", "freshdesk", "zammad"))
    for ticket in (zendesk, freshdesk):
        assert ticket["subject"] == "[CAR-4F7K2Q] [Incomplete] Repair ABC-123"
    assert zammad["title"] == zammad["article"]["subject"] == zendesk["subject"]
    for body in (
        zendesk["comment"]["html_body"],
        freshdesk["description"],
        zammad["article"]["body"],
    ):
        assert NOTICES in body  # between the intro and the answers
    # The target's tags, then the contact's own.
    assert zendesk["tags"] == ["car-service", "web", "incomplete"]
    assert freshdesk["tags"] == ["car-service", "incomplete"]
    assert zammad["tags"] == "car-service,web,incomplete"


@pytest.mark.anyio
async def test_a_ticket_without_tags_of_its_target_is_still_tagged_incomplete(
    server: HttpServer,
) -> None:
    form = load_form_text(
        "form: plain\ntitle: Plain\nfields:\n"
        "  - {name: email, type: email, role: reply_to, label: Email}\n"
        "deliver:\n"
        f"  - zendesk: {{url: '{server.url}', email: agent@acme.example, "
        "token_env: TEST_ZENDESK_TOKEN}\n"
    )
    submission = StoredSubmission(
        "PLA-000001",
        "plain",
        form.version,
        "en",
        {"email": "a@example.com"},
        (),
        dt.datetime.now(dt.UTC),
        False,
        None,
        context={"incomplete": {"missing": []}, "faq": {"shown": []}},
    )
    await deliver(form, submission, 0)
    (ticket,) = server.helpdesk.tickets["zendesk"]
    assert ticket["tags"] == ["incomplete"]
    assert "Not answered yet" not in ticket["comment"]["html_body"]
    assert "did not help" not in ticket["comment"]["html_body"]


# -- through the web service and the worker -----------------------------------


def test_end_to_end_through_the_app_and_the_worker(
    server: HttpServer, form: Form, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    # The agents' time zone (INTAKE_TIMEZONE) reaches the tickets through the worker.
    settings = settings_for(tmp_path, retry_base_seconds=30, timezone="Europe/Helsinki")
    with TestClient(create_app([form], settings)) as client:
        answer = client.post("/forms/car-service/submissions", json=ANSWERS)
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]
    hooks: list[Recorded] = []

    def flaky_hook(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        hooks.append(request)
        return (503, {"retry-after": "90"}, b"maintenance") if len(hooks) == 1 else (200, {}, b"")

    server.routes["/hook"] = flaky_hook

    # The worker's clock starts now (jobs are due from when they were stored).
    clock = [dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)]

    async def run() -> None:
        async with SqliteStore(tmp_path / "intake.db") as store:
            jobs = await store.jobs()
            assert sorted(j.target for j in jobs) == [
                "freshdesk:2",
                "webhook:0",
                "zammad:3",
                "zendesk:1",
            ]
            worker = Worker(
                store=store,
                forms={form.id: form},
                settings=settings,
                transport=mail_transport(settings),
                clock=lambda: clock[0],
                rand=lambda: 0.0,
            )
            assert await worker.run_once() == 4
            (waiting,) = await store.jobs(status="pending")
            assert waiting.target == "webhook:0"
            assert "HTTP 503: maintenance" in (waiting.last_error or "")
            assert waiting.next_attempt_at >= clock[0] + dt.timedelta(seconds=90)
            clock[0] += dt.timedelta(seconds=91)
            assert await worker.run_once() == 1
            receipts = {j.target: j.receipt for j in await store.jobs(status="delivered")}
            assert receipts == {
                "webhook:0": "HTTP 200",
                "zendesk:1": "zendesk ticket 1",
                "freshdesk:2": "freshdesk ticket 2",
                "zammad:3": "zammad ticket 31003 (id 3)",
            }

    anyio.run(run)
    assert len(hooks) == 2
    assert hooks[0].headers["webhook-id"] == hooks[1].headers["webhook-id"]
    event = verify_standard_webhook(hooks[1], WEBHOOK_SECRET)
    assert event["reference"] == reference and event["data"]["plate"] == "ABC-123"
    tickets = server.helpdesk.tickets
    for body in (
        tickets["zendesk"][0]["comment"]["html_body"],
        tickets["freshdesk"][0]["description"],
        tickets["zammad"][0]["article"]["body"],
    ):
        intro = body.split("</p>", 1)[0]
        assert "Europe/Helsinki (UTC+" in intro and " UTC" not in intro.replace("(UTC", "")


# -- the form language ---------------------------------------------------------

WRAP = """\
form: test
title: Test
locales: [en]
fields:
  - {{name: plate, type: text, label: Plate}}
  - {{name: email, type: email, label: Email, role: reply_to}}
  - {{name: photo, type: file, label: Photo}}
deliver:
  - {target}
"""


ZD = "zendesk: {subdomain: acme, email: a@acme.example, token_env: T, "
ZM = "zammad: {url: 'https://help.example', token_env: T, group: G, "


def problems(target: str) -> list[tuple[int, int, str]]:
    return problems_of(WRAP.format(target=target))


def messages(target: str) -> list[str]:
    with pytest.raises(FormError) as caught:
        load_form_text(WRAP.format(target=target), "test.yaml")
    return [str(p) for p in caught.value.problems]


def test_an_unknown_field_in_fields_is_found_at_load_time() -> None:
    target = (
        "zendesk: {subdomain: acme, email: agent@acme.example, token_env: ZENDESK_TOKEN, "
        "fields: {plates: 360001234567}}"
    )
    assert messages(target) == [
        "test.yaml:9:94: deliver[0].zendesk.fields.plates: 'plates' is not a field "
        "of this form (did you mean 'plate'?)"
    ]
    assert problems(target) == [(9, 94, "unknown_field_reference")]


@pytest.mark.parametrize(
    "target",
    [
        "webhook: {url: 'https://hooks.example/x', secret: abc}",
        ZD + "token: abc}",
        "freshdesk: {domain: acme, api_key_env: K, api_key: abc}",
        ZM + "password: abc}",
        "webhook: {url: 'https://user:pass@hooks.example/x'}",
    ],
)
def test_an_inline_secret_is_refused_without_being_repeated(target: str) -> None:
    (message,) = messages(target)
    assert "never write a secret in a form file" in message
    assert "abc" not in message and "pass@" not in message
    assert [code for _, _, code in problems(target)] == ["inline_secret"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            ZD + "fields: {plate: cf_plate}}",
            "not a Zendesk field id",
        ),
        (
            "freshdesk: {domain: acme, api_key_env: K, fields: {plate: '360001234567'}}",
            "their API names start with cf_",
        ),
        (
            ZM + "fields: {plate: Plate Number}}",
            "not a Zammad attribute name",
        ),
        (
            ZM + "fields: {plate: customer_id}}",
            "intakeforms sets",
        ),
        (
            ZD + "fields: {photo: 1}}",
            "is a file question",
        ),
        (
            ZD + "fields: {plate: 1, email: 1}}",
            "already goes to custom field 1",
        ),
        (
            "zendesk: {subdomain: acme.zendesk.com, email: a@acme.example, token_env: T}",
            "write only the first part of the address: acme",
        ),
        ("zendesk: {email: a@acme.example, token_env: T}", "needs subdomain"),
        (
            ZD + "url: 'https://acme.example'}",
            "not both",
        ),
        ("zendesk: {subdomain: acme, email: nobody, token_env: T}", "not an email address"),
        ("zendesk: {subdomain: Acme_Corp, email: a@acme.example, token_env: T}", "lowercase"),
        (
            ZD + "tags: [car service]}",
            "is not a tag",
        ),
        (
            ZD + "locale: fi}",
            "not one of the form's locales",
        ),
        ("freshdesk: {domain: acme, api_key_env: my key}", "names an environment variable"),
        ("webhook: {url: 'http://hooks.example/x'}", "http:// is allowed only for localhost"),
        ("zammad: {url: 'https://help.example/?x=1', token_env: T, group: G}", "without ?"),
        (
            "zammad: {url: 'https://help.example', token_env: T, group: ' '}",
            "name of a Zammad group",
        ),
    ],
)
def test_target_settings_are_checked_at_load_time(target: str, expected: str) -> None:
    found = messages(target)
    assert len(found) == 1 and expected in found[0], found


def test_freshdesk_and_zammad_need_a_reply_to_question() -> None:
    text = (
        "form: test\ntitle: Test\nfields:\n  - {name: a, type: text, label: A}\n"
        "deliver:\n  - freshdesk: {domain: acme, api_key_env: K}\n"
        "  - zammad: {url: 'https://help.example', token_env: T, group: G}\n"
        "  - zendesk: {subdomain: acme, email: a@acme.example, token_env: T}\n"
    )
    assert [code for _, _, code in problems_of(text)] == ["missing_reply_to"] * 2


def test_http_is_allowed_on_loopback_only() -> None:
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x"):
        load_form_text(WRAP.format(target=f"webhook: {{url: '{url}'}}"))


def test_loading_needs_no_secrets_and_missing_ones_are_listed(form: Form) -> None:
    # The form loaded above with none of its variables set.
    assert missing_secrets([form], ENVIRON) == []
    warnings = missing_secrets([form], {"TEST_ZENDESK_TOKEN": "x", "TEST_ZAMMAD_TOKEN": " "})
    assert [w.split(": ")[1] for w in warnings] == [
        "deliver[0].webhook.secret_env",
        "deliver[2].freshdesk.api_key_env",
        "deliver[3].zammad.token_env",
    ]
    assert warnings[0].startswith("car-service: ")
    assert "TEST_WEBHOOK_SECRET is not set" in warnings[0]


def test_every_item_names_its_kind(form: Form) -> None:
    assert [t.kind for t in form.definition.deliver] == [
        "webhook",
        "zendesk",
        "freshdesk",
        "zammad",
    ]
    with pytest.raises(ValueError, match="names no target"):
        _ = DeliverTarget().kind


def test_the_language_documents_every_target_key() -> None:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [WebhookTarget, ZendeskTarget, FreshdeskTarget, ZammadTarget]
    missing = sorted(
        {key for model in models for key in model.model_fields if f"`{key}`" not in text}
    )
    assert not missing, f"docs/language.md does not mention {missing}"
    assert all(f"`{kind}`" in text for kind in TARGET_KINDS)


def test_the_secret_keys_stay_out_of_the_language_schema() -> None:
    schema = json.loads((ROOT / "docs" / "form-language.schema.json").read_text())
    zendesk = schema["$defs"]["ZendeskTarget"]["properties"]
    assert "token" not in zendesk and "token_env" in zendesk
