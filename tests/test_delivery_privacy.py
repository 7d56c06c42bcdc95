"""No personal data in logs or on outbox jobs, and no password in clear.

Real servers repeat what they refuse: a mail server the recipient's address
(``550 5.1.1 <matti@example.com>: user unknown``), a helpdesk the value of
the field it did not like. Against a real aiosmtpd server and a real HTTP
server, the worker keeps the codes and drops the addresses and answers,
both on the job (``last_error``, ``receipt``) and in its log. And a login
in ``INTAKE_SMTP_URL`` never goes to a server that offers no STARTTLS.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from http_server import FRESHDESK_KEY, HttpServer
from smtp_server import SmtpServer, accept_login
from test_delivery import save as save_data
from test_delivery import store
from test_delivery_http import server
from web_helpers import settings_for

from intakeforms import Form, load_form_text
from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery.eml import EmlFolder
from intakeforms.delivery.scrub import Scrubber, answer_texts, unforeseen
from intakeforms.settings import Settings
from intakeforms.store import SqliteStore, StoredSubmission

FORM_TEXT = """\
form: car-service
title: Car service
locales: [en]
reference_prefix: CAR
fields:
  - {{name: plate, type: plate, region: FI, label: Registration plate, required: true}}
  - name: service
    type: choice
    label: What do you need?
    choices: {{annual: Annual service, repair: Repair}}
  - {{name: symptoms, type: textarea, label: Describe the problem}}
  - {{name: name, type: text, role: customer_name, label: Name}}
  - {{name: email, type: email, role: reply_to, label: Email, required: true}}
deliver:
  - email: {{to: [service@example.com]}}
  - freshdesk: {{url: "{base}", api_key_env: TEST_FRESHDESK_KEY, fields: {{plate: cf_plate}}}}
autorespond:
  intro: Thank you! We have your booking.
"""
ADDRESS = "matti.meikalainen@example.com"
NAME = "Matti Meikäläinen"
SYMPTOMS = "Kolisee kovasti oikealta edestä\nJarrut vinkuvat"
ANSWERS: dict[str, Any] = {
    "plate": "abc123",
    "service": "repair",
    "symptoms": SYMPTOMS,
    "name": NAME,
    "email": ADDRESS,
}
#: What must never be kept or logged: the answers as given and as stored.
PERSONAL = [ADDRESS, NAME, "Meik", "Kolisee", "Jarrut vinkuvat", "ABC-123", "@example.com"]

# The fixtures, shared with test_delivery and test_delivery_http.
__all__ = ["server", "store"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def form(server: HttpServer) -> Form:
    return load_form_text(FORM_TEXT.format(base=server.url), "car-service.yaml")


async def save(store: SqliteStore, form: Form, targets: list[str]) -> str:
    """Store the answers above for ``targets``; the reference."""
    return await save_data(store, form, dict(form.validate(ANSWERS)), targets, locale="en")


def worker(store: SqliteStore, form: Form, settings: Settings) -> Worker:
    return Worker(
        store=store,
        forms={form.id: form},
        settings=settings,
        transport=mail_transport(settings),
        rand=lambda: 1.0,
    )


def assert_clean(text: str) -> None:
    for secret in PERSONAL:
        assert secret.casefold() not in text.casefold(), f"{secret!r} in {text!r}"


@pytest.mark.anyio
async def test_a_refused_recipient_is_kept_without_the_address(
    store: SqliteStore,
    smtp: SmtpServer,
    form: Form,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The confirmation goes to the customer; the server refuses it and
    repeats the address, as Postfix does."""
    smtp.recorder.refuse_rcpt = (
        "550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    await save(store, form, ["email:0", "autoreply"])
    caplog.set_level(logging.DEBUG, logger="intakeforms")
    delivering = worker(store, form, settings_for(tmp_path, smtp_url=smtp.url))
    assert await delivering.run_once() == 2
    await delivering.close()
    jobs = {job.target: job for job in await store.jobs()}
    assert {job.status for job in jobs.values()} == {"dead"}
    for job in jobs.values():
        error = job.last_error or ""
        assert "550 5.1.1 <address>: Recipient address rejected: User unknown" in error
        assert "@" not in error
    assert_clean(caplog.text)
    assert "5.1.1" in caplog.text
    assert not smtp.recorder.messages


@pytest.mark.anyio
async def test_a_refused_message_is_kept_without_the_answers_it_quotes(
    store: SqliteStore,
    smtp: SmtpServer,
    form: Form,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp.recorder.answers = [
        f"554 5.7.1 Message rejected: '{SYMPTOMS.splitlines()[0]}' from {NAME} <{ADDRESS}> "
        "looks like spam (SPAM_SCORE)"
    ]
    reference = await save(store, form, ["email:0"])
    caplog.set_level(logging.DEBUG, logger="intakeforms")
    delivering = worker(store, form, settings_for(tmp_path, smtp_url=smtp.url))
    await delivering.run_once()
    await delivering.close()
    (job,) = await store.jobs()
    error = job.last_error or ""
    assert job.status == "dead"
    assert error == (
        "the SMTP server answered 554 5.7.1 Message rejected: '<answer>' from <answer> "
        "<address> looks like spam (SPAM_SCORE)"
    )
    assert_clean(caplog.text)
    assert reference in caplog.text and "554 5.7.1" in caplog.text


@pytest.mark.anyio
async def test_a_helpdesk_error_is_kept_without_the_answers_it_quotes(
    store: SqliteStore,
    server: HttpServer,
    form: Form,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Freshdesk's 400 names each field with its value; JSON writes the
    name's ä as \\u00e4, which is still the customer's name."""
    monkeypatch.setenv("TEST_FRESHDESK_KEY", FRESHDESK_KEY)
    body = {
        "description": "Validation failed",
        "errors": [
            {"field": "email", "message": f"{ADDRESS} is blocked", "code": "invalid_value"},
            {"field": "name", "message": f"'{NAME}' is not allowed", "code": "invalid_value"},
            {"field": "description", "message": SYMPTOMS, "code": "invalid_value"},
            {"field": "cf_plate", "message": "Value ABC-123 is taken", "code": "duplicate_value"},
        ],
    }
    server.replies.append((400, {"content-type": "application/json"}, json.dumps(body).encode()))
    await save(store, form, ["freshdesk:1"])
    caplog.set_level(logging.DEBUG, logger="intakeforms")
    delivering = worker(store, form, settings_for(tmp_path))
    await delivering.run_once()
    await delivering.close()
    (job,) = await store.jobs()
    error = job.last_error or ""
    assert job.status == "dead"
    assert "refused the request with HTTP 400" in error
    assert "Validation failed" in error and "invalid_value" in error
    assert "<answer>" in error
    assert_clean(error)
    assert_clean(caplog.text)
    assert "HTTP 400" in caplog.text


@pytest.mark.anyio
async def test_a_receipt_keeps_no_answer(
    store: SqliteStore,
    server: HttpServer,
    form: Form,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A helpdesk that names the new ticket by the customer's address."""
    monkeypatch.setenv("TEST_FRESHDESK_KEY", FRESHDESK_KEY)
    server.replies.append((201, {}, json.dumps({"id": f"{ADDRESS}/{NAME}"}).encode()))
    await save(store, form, ["freshdesk:1"])
    delivering = worker(store, form, settings_for(tmp_path))
    await delivering.run_once()
    (job,) = await store.jobs()
    assert job.status == "delivered"
    assert job.receipt == "freshdesk ticket <address>/<answer>"


@pytest.mark.anyio
async def test_a_login_is_never_sent_without_tls(
    store: SqliteStore, form: Form, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that takes AUTH but offers no STARTTLS gets no AUTH command:
    the job waits (transient, see docs/delivery.md) and says why."""
    server = SmtpServer(authenticator=accept_login, auth_require_tls=False)
    server.start()
    try:
        url = f"smtp://intake:s3cret@127.0.0.1:{server.port}?timeout=5"
        await save(store, form, ["email:0"])
        caplog.set_level(logging.DEBUG, logger="intakeforms")
        delivering = worker(store, form, settings_for(tmp_path, smtp_url=url))
        await delivering.run_once()
        await delivering.close()
    finally:
        server.stop()
    assert "EHLO" in server.recorder.commands
    assert "AUTH" not in server.recorder.commands
    assert not server.recorder.messages
    (job,) = await store.jobs()
    assert job.status == "pending" and job.attempts == 1
    expected = (
        f"the SMTP server at 127.0.0.1:{server.port} offers no STARTTLS; credentials are "
        "only sent over TLS: use smtps:// or a server with STARTTLS"
    )
    assert job.last_error == expected
    assert expected in caplog.text
    assert "s3cret" not in caplog.text


@pytest.mark.anyio
async def test_without_a_login_a_server_without_starttls_still_gets_mail(
    store: SqliteStore, form: Form, tmp_path: Path
) -> None:
    server = SmtpServer(authenticator=accept_login, auth_require_tls=False)
    server.start()
    try:
        await save(store, form, ["email:0"])
        delivering = worker(store, form, settings_for(tmp_path, smtp_url=server.url))
        await delivering.run_once()
        await delivering.close()
    finally:
        server.stop()
    assert "AUTH" not in server.recorder.commands
    assert len(server.recorder.messages) == 1
    (job,) = await store.jobs()
    assert job.status == "delivered"


@pytest.mark.anyio
async def test_an_unforeseen_error_is_kept_without_its_message(
    store: SqliteStore, form: Form, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A transport that fails in a way nobody foresaw, with values in its
    message (as exceptions from libraries have): the job keeps the type and
    the place, and is retried."""

    class Broken(EmlFolder):
        async def send(self, message: Any) -> str:
            raise RuntimeError(f"cannot encode {NAME!r} <{ADDRESS}>")

    await save(store, form, ["email:0"])
    settings = settings_for(tmp_path)
    caplog.set_level(logging.DEBUG, logger="intakeforms")
    delivering = Worker(
        store=store,
        forms={form.id: form},
        settings=settings,
        transport=Broken(settings.mail_dir),
        rand=lambda: 1.0,
    )
    await delivering.run_once()
    (job,) = await store.jobs()
    assert job.status == "pending"
    assert (job.last_error or "").startswith(
        "unexpected RuntimeError in intakeforms/targets/email.py:"
    )
    assert_clean(job.last_error or "")
    assert_clean(caplog.text)


# -- the scrubber ----------------------------------------------------------------


def submission(form: Form, **changes: Any) -> StoredSubmission:
    return StoredSubmission(
        "CAR-4F7K2Q",
        form.id,
        form.version,
        "en",
        dict(form.validate({**ANSWERS, **changes})),
        (),
        dt.datetime.now(dt.UTC),
        False,
        None,
    )


def test_codes_stay_and_addresses_go(form: Form) -> None:
    scrub = Scrubber.of(submission(form))
    assert scrub("550 5.1.1 <Someone.Else+tag@mail.example.org>: no") == "550 5.1.1 <address>: no"
    assert scrub("421 4.7.0 try later") == "421 4.7.0 try later"
    assert scrub("HTTP 422: {'code': 'invalid_value'}") == "HTTP 422: {'code': 'invalid_value'}"


def test_answers_go_in_every_form_they_are_echoed_in(form: Form) -> None:
    scrub = Scrubber.of(submission(form))
    assert scrub(f"name {NAME.upper()} refused") == "name <answer> refused"
    assert scrub(json.dumps({"m": NAME})) == '{"m": "<answer>"}'
    assert scrub(f"<td>{SYMPTOMS.splitlines()[0]}</td>") == "<td><answer></td>"
    assert scrub("Jarrut vinkuvat!") == "<answer>!"  # one line of a textarea
    assert scrub("plate ABC-123") == "plate <answer>"


def test_the_forms_own_words_and_short_answers_stay(form: Form) -> None:
    scrub = Scrubber.of(submission(form, name="Al"))
    # "repair" is a choice of the form: its words, not the customer's.
    assert "repair" not in answer_texts(submission(form), form)
    assert Scrubber.of(submission(form), form)("service repair unknown") == (
        "service repair unknown"
    )
    assert scrub("Al said") == "Al said"
    # An answer is matched as a whole word, not inside another one.
    other = Scrubber(["other"])
    assert other("another other") == "another <answer>"


def test_an_unforeseen_error_is_told_without_its_message() -> None:
    try:
        {"a": 1}[ADDRESS]
    except KeyError as exc:
        told = unforeseen(exc)
    assert told.startswith("KeyError in ")
    assert "test_delivery_privacy.py" in told
    assert ADDRESS not in told
