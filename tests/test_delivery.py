"""The outbox worker against a real SMTP server and a real SQLite store."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import EXAMPLES
from smtp_server import SmtpServer
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms import Form
from intakeforms.delivery import Worker, backoff_seconds, mail_transport
from intakeforms.delivery.eml import EmlFolder, PreparedFile, prepare_file
from intakeforms.delivery.smtp import SmtpTransport, parse_smtp_url
from intakeforms.errors import IntakeError
from intakeforms.settings import Settings
from intakeforms.store import NewSubmission, SqliteStore

CAR = next(f for f in FORMS if f.id == "car-service")
BY_ID = {f.id: f for f in FORMS}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """Real time plus an offset the test moves, so retries come due at once.

    It follows real time because the store stamps new jobs with it."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "intake.db") as opened:
        yield opened


async def save(
    store: SqliteStore, form: Form, data: dict[str, Any], targets: list[str], locale: str = "fi"
) -> str:
    """Store ``data`` as one submission of ``form`` for ``targets``; its reference."""
    saved = await store.save(
        NewSubmission(
            form=form.id,
            form_version=form.version,
            reference_prefix=form.reference_prefix,
            locale=locale,
            data=data,
            targets=targets,
        )
    )
    return saved.reference


async def submit(store: SqliteStore, n: int = 1, **changes: object) -> list[str]:
    references = []
    for i in range(n):
        data = dict(CAR.validate({**CAR_ANSWERS, "model": f"Model {i}", **changes}))
        references.append(await save(store, CAR, data, ["email:0"]))
    return references


def worker(store: SqliteStore, settings: Settings, clock: Clock) -> Worker:
    return Worker(
        store=store,
        forms=BY_ID,
        settings=settings,
        transport=mail_transport(settings),
        clock=clock,
        rand=lambda: 1.0,
    )


@pytest.mark.anyio
async def test_each_submission_arrives_once(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    references = await submit(store, 5)
    settings = settings_for(tmp_path, smtp_url=smtp.url)
    clock = Clock()
    delivering = worker(store, settings, clock)
    assert await delivering.run_once() == 5
    assert await delivering.run_once() == 0
    await delivering.transport.close()
    got = {m["X-Intake-Reference"] for m in smtp.recorder.messages}
    assert got == set(references)
    assert len(smtp.recorder.messages) == 5
    # Built ahead and flattened off the event loop, then sent as bytes.
    assert len(smtp.recorder.sessions) == 1  # one connection for the batch
    assert (await store.counts())["delivered"] == 5
    first = smtp.recorder.messages[0]
    assert first["To"] == "service@example.com"
    assert first["Reply-To"].addresses[0].addr_spec == "matti@example.com"
    assert first["Subject"].startswith("[CAR-")
    assert all("BODY=8BITMIME" in options for options in smtp.recorder.mail_options)


@pytest.mark.anyio
async def test_a_prepared_message_arrives_as_send_message_would_send_it(
    smtp: SmtpServer,
) -> None:
    message = EmailMessage()
    message["From"] = "Palvelu <intake@example.com>"
    message["To"] = "agents@example.com"
    message["Bcc"] = "hidden@example.com"
    message["Subject"] = "[CAR-4F7K2Q] Huolto – ÄÖ"
    message["Message-ID"] = "<CAR-4F7K2Q.0@example.com>"
    message.set_content("Rekisterinumero: ABC-123\nMerkki: Škoda\n")
    transport = SmtpTransport(smtp.url)
    prepared = transport.prepare(message)
    assert prepared.recipients == ("agents@example.com", "hidden@example.com")
    await transport.send(message)
    await transport.send(prepared)
    await transport.close()
    plain, sent_prepared = smtp.recorder.raw
    assert sent_prepared == plain
    assert b"hidden@example.com" not in sent_prepared


@pytest.mark.anyio
async def test_a_server_without_8bitmime_gets_the_prepared_mail_and_its_envelope(
    smtp: SmtpServer,
) -> None:
    """Prepared bytes are for servers that take 8-bit data; an older server
    gets the same mail flattened for it, Bcc recipients included."""
    smtp.recorder.hidden = ["8BITMIME"]
    message = EmailMessage()
    message["From"] = "Palvelu <intake@example.com>"
    message["To"] = "agents@example.com"
    message["Bcc"] = "hidden@example.com"
    message["Subject"] = "[CAR-4F7K2Q] Huolto – ÄÖ"
    message.set_content("Merkki: Škoda\n", cte="8bit")
    transport = SmtpTransport(smtp.url)
    prepared = transport.prepare(message)
    assert "Škoda".encode() in prepared.data  # 8-bit as prepared
    await transport.send(prepared)
    await transport.close()
    (got,) = smtp.recorder.messages
    assert not any("8BITMIME" in option for option in smtp.recorder.mail_options[0])
    assert smtp.recorder.recipients == [["agents@example.com", "hidden@example.com"]]
    assert smtp.recorder.raw[0].isascii()  # re-encoded for a 7-bit server
    assert got["Subject"] == "[CAR-4F7K2Q] Huolto – ÄÖ"
    assert "Bcc" not in got
    assert got.get_content() == "Merkki: Škoda\n"


@pytest.mark.anyio
async def test_a_mail_that_cannot_be_built_ahead_fails_alone(
    store: SqliteStore, tmp_path: Path
) -> None:
    """A build error in the middle of a batch dead-letters that job only."""
    references = await submit(store, 4)
    settings = settings_for(tmp_path)

    class Picky(EmlFolder):
        def prepare(self, message: EmailMessage) -> PreparedFile:
            if message["X-Intake-Reference"] == references[1]:
                raise ValueError("no such sender domain")
            return prepare_file(message)

    delivering = Worker(
        store=store, forms=BY_ID, settings=settings, transport=Picky(settings.mail_dir)
    )
    assert await delivering.run_once() == 4
    jobs = {job.reference: job for job in await store.jobs()}
    assert jobs[references[1]].status == "dead"
    assert "cannot build the agent email: no such sender domain" in (
        jobs[references[1]].last_error or ""
    )
    assert [jobs[r].status for r in references if r != references[1]] == ["delivered"] * 3
    assert len(list(settings.mail_dir.glob("*.eml"))) == 3


@pytest.mark.anyio
async def test_smtp_down_then_back(store: SqliteStore, tmp_path: Path) -> None:
    server = SmtpServer()  # not started: connections are refused
    references = await submit(store, 20)
    settings = settings_for(tmp_path, smtp_url=server.url, retry_base_seconds=30)
    clock = Clock()
    delivering = worker(store, settings, clock)
    assert await delivering.run_once() == 20
    counts = await store.counts()
    assert counts["pending"] == 20 and counts["delivered"] == 0
    jobs = await store.jobs()
    assert all("connect" in (j.last_error or "") for j in jobs)
    assert await delivering.run_once() == 0  # not due yet: backoff
    server.start()
    try:
        clock.advance(31)
        assert await delivering.run_once() == 20
        await delivering.transport.close()
    finally:
        server.stop()
    assert sorted(m["X-Intake-Reference"] for m in server.recorder.messages) == sorted(references)
    assert (await store.counts())["delivered"] == 20


@pytest.mark.anyio
async def test_dropped_after_data_is_resent_with_the_same_message_id(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    await submit(store, 1)
    smtp.recorder.drops = 1
    clock = Clock()
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), clock)
    await delivering.run_once()
    (job,) = await store.jobs()
    assert job.status == "pending" and job.attempts == 1
    clock.advance(3600)
    await delivering.run_once()
    await delivering.transport.close()
    (job,) = await store.jobs()
    assert job.status == "delivered" and job.attempts == 2
    # The server saw DATA twice but acknowledged once; the copy it may keep
    # from the first try carries the same Message-ID as the one delivered.
    (message,) = smtp.recorder.messages
    assert message["Message-ID"] == f"<{message['X-Intake-Reference']}.0@localhost>"


@pytest.mark.anyio
async def test_550_is_dead_lettered_at_once_and_replayed_by_requeue(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    await submit(store, 1)
    smtp.recorder.answers = ["550 5.1.1 no such mailbox"]
    clock = Clock()
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), clock)
    await delivering.run_once()
    (job,) = await store.jobs(status="dead")
    assert "550" in (job.last_error or "")
    assert job.attempts == 1
    # An operator fixes the mailbox and replays the job.
    assert await store.requeue(job.id)
    await delivering.run_once()
    await delivering.transport.close()
    assert (await store.counts())["delivered"] == 1
    assert len(smtp.recorder.messages) == 1


@pytest.mark.anyio
async def test_4xx_is_retried_until_attempts_run_out(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    await submit(store, 1)
    smtp.recorder.answers = ["451 4.3.0 try later"] * 3
    clock = Clock()
    settings = settings_for(tmp_path, smtp_url=smtp.url, max_attempts=3)
    delivering = worker(store, settings, clock)
    for _ in range(3):
        await delivering.run_once()
        clock.advance(10_000)
    await delivering.transport.close()
    (job,) = await store.jobs()
    assert job.status == "dead"
    assert "gave up after 3 attempts" in (job.last_error or "")


@pytest.mark.anyio
async def test_embedded_default_writes_eml_files(store: SqliteStore, tmp_path: Path) -> None:
    (reference,) = await submit(store, 1)
    settings = settings_for(tmp_path)
    assert settings.smtp_url is None
    clock = Clock()
    delivering = worker(store, settings, clock)
    await delivering.run_once()
    (path,) = (tmp_path / "mail").glob("*.eml")
    assert path.name == f"{reference}.0.eml"
    text = path.read_bytes().decode()
    assert f"[{reference}]" in text and "X-Intake-Form: car-service" in text
    # A retry of the same job writes the same file, not a second one.
    again = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(again, EmailMessage)
    await EmlFolder(tmp_path / "mail").send(again)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


@pytest.mark.anyio
async def test_run_stops_gracefully(store: SqliteStore, smtp: SmtpServer, tmp_path: Path) -> None:
    await submit(store, 3)
    stop = anyio.Event()
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), Clock())
    delivering.idle_seconds = 0.05
    async with anyio.create_task_group() as group:
        group.start_soon(delivering.run, stop)
        with anyio.fail_after(10):
            while len(smtp.recorder.messages) < 3:
                await anyio.sleep(0.02)
        stop.set()
    assert (await store.counts())["delivered"] == 3


def test_backoff_doubles_with_jitter_up_to_the_ceiling() -> None:
    assert backoff_seconds(1, 30, 3600, lambda: 0.0) == 15
    assert backoff_seconds(1, 30, 3600, lambda: 1.0) == 30
    assert backoff_seconds(3, 30, 3600, lambda: 1.0) == 120
    assert backoff_seconds(20, 30, 3600, lambda: 1.0) == 3600


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://user%40x:p%3Ass@mail.example:587?timeout=10")
    assert plain["username"] == "user@x" and plain["password"] == "p:ss"
    assert plain["start_tls"] is None and plain["use_tls"] is False and plain["port"] == 587
    implicit = parse_smtp_url("smtps://mail.example")
    assert implicit["use_tls"] is True and implicit["port"] == 465
    for bad in ("http://x", "smtp://", "smtp://x?tls=1"):
        with pytest.raises(IntakeError, match="INTAKE_SMTP_URL"):
            parse_smtp_url(bad)
    assert "secret" not in repr(SmtpTransport("smtp://u:secret@h:25"))


@pytest.mark.anyio
async def test_helpdesk_headers_and_sender_name_from_the_yaml(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    from intakeforms import load_form_text

    text = (EXAMPLES / "car-service" / "car-service.yaml").read_text()
    text = text.replace(
        "  - email: {to: [service@example.com], locale: fi}",
        "  - email:\n"
        "      to: [service@example.com]\n"
        "      locale: fi\n"
        "      from_name: Huoltolomake\n"
        "      headers: {X-Zammad-Ticket-Group: Huolto}\n",
    )
    form = load_form_text(text, "car-service.yaml")
    await submit(store, 1, symptoms="Kolisee.\nX-Zammad-Ticket-Group: Hijack")
    settings = settings_for(tmp_path, smtp_url=smtp.url)
    delivering = Worker(
        store=store,
        forms={form.id: form},
        settings=settings,
        transport=mail_transport(settings),
        clock=Clock(),
    )
    await delivering.run_once()
    await delivering.transport.close()
    (message,) = smtp.recorder.messages
    assert message.get_all("X-Zammad-Ticket-Group") == ["Huolto"]
    assert message["From"].addresses[0].display_name == "Huoltolomake"


def test_bad_helpdesk_headers_are_refused_at_load() -> None:
    from intakeforms import FormError, load_form_text

    text = (EXAMPLES / "car-service" / "car-service.yaml").read_text()
    text = text.replace(
        "  - email: {to: [service@example.com], locale: fi}",
        "  - email: {to: [service@example.com], headers: {Bcc: spy@example.com}}",
    )
    with pytest.raises(FormError) as caught:
        load_form_text(text, "car-service.yaml")
    assert [p.code for p in caught.value.problems] == ["invalid_header"]


@pytest.mark.anyio
async def test_run_survives_an_unexpected_error(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await submit(store, 2)
    calls = 0

    def clock() -> dt.datetime:
        # The first claim gets a time without a zone, which the store refuses
        # with a ValueError: the kind of error no handler expects.
        nonlocal calls
        calls += 1
        now = dt.datetime.now(dt.UTC)
        return now.replace(tzinfo=None) if calls == 1 else now

    settings = settings_for(tmp_path, smtp_url=smtp.url)
    delivering = Worker(
        store=store,
        forms=BY_ID,
        settings=settings,
        transport=mail_transport(settings),
        clock=clock,
        idle_seconds=0.05,
    )
    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(delivering.run, stop)
        with anyio.fail_after(10):
            while len(smtp.recorder.messages) < 2:
                await anyio.sleep(0.02)
        stop.set()
    assert "unexpected error" in caplog.text
    assert (await store.counts())["delivered"] == 2
