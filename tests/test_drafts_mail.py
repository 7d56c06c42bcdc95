"""The "Continue your message later" mail: a draft in a real SQLite store,
sent by the outbox worker through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from smtp_server import SmtpServer, free_port
from web_helpers import settings_for

from intakeforms import Form, load_form_text
from intakeforms.delivery import Worker, mail_transport
from intakeforms.links import read_draft_token
from intakeforms.mail import build_draft_email, draft_url
from intakeforms.settings import Settings
from intakeforms.store import DraftRecord, SqliteStore

FORM = """\
form: car-service
title: {en: Car service, fi: Huoltovaraus}
locales: [en, fi]
reference_prefix: CAR
fields:
  - {name: plate, type: plate, region: FI, label: Registration plate, required: true}
  - {name: symptoms, type: textarea, label: Describe the problem}
  - {name: email, type: email, role: reply_to, label: Email}
deliver:
  - email: {to: [service@example.com]}
"""
PUBLIC_URL = "https://forms.example.com"
SECRET = "draft-test-secret"
CREATED = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
DRAFT_ID = "0123456789abcdef0123456789abcdef"
#: What the customer typed: never in a draft mail, nor in a log.
TYPED = {"plate": "ABC-123", "symptoms": "Rattling noise from the front, call me at 0401234567"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def form() -> Form:
    return load_form_text(FORM, "car-service.yaml")


class Clock:
    """The worker's clock, moved by the test (the draft's lease runs on it)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "intake.db") as opened:
        yield opened


def draft(**changes: Any) -> DraftRecord:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    values: dict[str, Any] = {
        "id": DRAFT_ID,
        "form": "car-service",
        "locale": "fi",
        "data": TYPED,
        "email": "maija@example.com",
        "created_at": now,
        "expires_at": now + dt.timedelta(days=7),
    }
    return DraftRecord(**(values | changes))


def worker_for(store: SqliteStore, form: Form, settings: Settings, clock: Clock) -> Worker:
    return Worker(
        store=store,
        forms={form.id: form},
        settings=settings,
        transport=mail_transport(settings),
        clock=clock,
    )


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


@pytest.mark.anyio
async def test_a_draft_mail_brings_the_customer_back_in_their_language(
    store: SqliteStore,
    form: Form,
    smtp: SmtpServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="intakeforms")
    saved = draft()
    await store.save_draft(saved)
    settings = settings_for(
        tmp_path, smtp_url=smtp.url, secret=f"{SECRET},old-one", public_url=PUBLIC_URL
    )
    worker = worker_for(store, form, settings, Clock())
    try:
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0  # sent once, recorded sent
    finally:
        await worker.close()

    (mail,) = smtp.recorder.messages
    assert smtp.recorder.recipients == [["maija@example.com"]]
    assert mail["To"] == "maija@example.com"
    assert mail["Subject"] == "Jatka viestiäsi myöhemmin – Huoltovaraus"
    assert mail["From"] == "Huoltovaraus <intakeforms@localhost>"
    assert mail["Content-Language"] == "fi"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Message-ID"] == f"<{DRAFT_ID}.draft@localhost>"
    text = plain(mail)
    assert text.startswith(
        "Pyysit meitä säilyttämään vastauksesi lomakkeeseen Huoltovaraus, "
        "jotta voit jatkaa myöhemmin.\n\nAvaa tämä linkki ja jatka siitä, mihin jäit:\n"
    )
    found = re.search(r"https://forms\.example\.com/forms/car-service\?d=(\S+)", text)
    assert found, text
    token = found.group(1)
    # The link opens this draft of this form, and no other form.
    assert read_draft_token(token, "car-service", secrets=settings.secrets) == DRAFT_ID
    expires = saved.expires_at
    until = f"Linkki toimii {expires.day}.{expires.month}.{expires.year} "
    assert until in text and "UTC asti. Sen jälkeen vastauksesi poistetaan." in text
    assert f'<a href="{found.group(0)}">' in html(mail)
    # The customer's answers are never in the mail: anyone can type any address.
    for value in TYPED.values():
        assert value not in text and value not in html(mail)
    # The draft stays until it is submitted or expires.
    kept = await store.get_draft(DRAFT_ID)
    assert kept is not None and kept.mail_sent_at is not None
    # Logs name the draft by its id only.
    assert f"draft {DRAFT_ID}: mail sent" in caplog.text
    for secret_text in ("maija", token, "ABC-123", "Rattling"):
        assert secret_text not in caplog.text


@pytest.mark.anyio
async def test_a_failed_draft_mail_is_tried_again_and_the_draft_kept(
    store: SqliteStore, form: Form, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await store.save_draft(draft(locale="en"))
    smtp = SmtpServer(port=free_port())  # not started yet: the mail server is down
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET, public_url=PUBLIC_URL)
    clock = Clock()
    worker = worker_for(store, form, settings, clock)
    try:
        assert await worker.run_once() == 0
        assert f"outbox: draft {DRAFT_ID}: the mail failed, tried again" in caplog.text
        kept = await store.get_draft(DRAFT_ID)
        assert kept is not None and kept.mail_sent_at is None
        smtp.start()
        try:
            # Claimed by the failed try until its lease runs out...
            assert await worker.run_once() == 0
            assert smtp.recorder.messages == []
            clock.now += dt.timedelta(seconds=worker.lease_seconds + 1)
            # ...then sent on the next cycle.
            assert await worker.run_once() == 1
        finally:
            await worker.close()
            smtp.stop()
    finally:
        await worker.close()
    (mail,) = smtp.recorder.messages
    assert mail["Subject"] == "Continue your message later – Car service"
    assert "The link works until" in plain(mail)
    assert "maija" not in caplog.text


@pytest.mark.anyio
async def test_an_address_the_server_refuses_for_good_is_not_tried_again(
    store: SqliteStore, form: Form, smtp: SmtpServer, tmp_path: Path
) -> None:
    await store.save_draft(draft())
    smtp.recorder.answers = ["550 5.1.1 mailbox unavailable"]
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET, public_url=PUBLIC_URL)
    clock = Clock()
    worker = worker_for(store, form, settings, clock)
    try:
        assert await worker.run_once() == 1  # settled: given up
        clock.now += dt.timedelta(seconds=worker.lease_seconds + 1)
        assert await worker.run_once() == 0
    finally:
        await worker.close()
    assert smtp.recorder.messages == []
    assert await store.get_draft(DRAFT_ID) is not None  # the draft itself stays


@pytest.mark.anyio
async def test_without_a_public_address_draft_mails_wait(
    store: SqliteStore,
    form: Form,
    smtp: SmtpServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await store.save_draft(draft())
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET)
    worker = worker_for(store, form, settings, Clock())
    try:
        assert await worker.run_once() == 0
        assert await worker.run_once() == 0
    finally:
        await worker.close()
    assert smtp.recorder.messages == []
    assert caplog.text.count("INTAKE_PUBLIC_URL is not set") == 1
    # Once the address is set, the waiting draft is mailed.
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET, public_url=PUBLIC_URL)
    worker = worker_for(store, form, settings, Clock())
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    assert len(smtp.recorder.messages) == 1


def test_the_link_ends_with_the_draft(form: Form) -> None:
    """A mail sent later, or again, links until the draft's own end."""
    record = draft(created_at=CREATED, expires_at=CREATED + dt.timedelta(days=7))
    url = draft_url(PUBLIC_URL, form.id, DRAFT_ID, secret=SECRET, created_at=CREATED)
    token = url.split("?d=", 1)[1]
    day_six = CREATED + dt.timedelta(days=6)
    assert read_draft_token(token, form.id, secrets=[SECRET], now=day_six) == DRAFT_ID
    msg = build_draft_email(form, record, url=url, mail_from="intake@example.com")
    assert bytes(msg) == bytes(
        build_draft_email(form, record, url=url, mail_from="intake@example.com")
    )
    assert "Linkki toimii 9.3.2026 9.15 UTC asti." in plain(msg)


def test_a_draft_of_another_form_or_an_unusable_address_is_refused(form: Form) -> None:
    url = draft_url(PUBLIC_URL, form.id, DRAFT_ID, secret=SECRET)
    with pytest.raises(ValueError, match=f"draft {DRAFT_ID} is of form 'returns'"):
        build_draft_email(form, draft(form="returns"), url=url, mail_from="intake@example.com")
    with pytest.raises(ValueError, match="SMTPUTF8") as caught:
        build_draft_email(form, draft(email="mäijä@example.com"), url=url, mail_from="i@x.fi")
    assert "mäijä" not in str(caught.value)
