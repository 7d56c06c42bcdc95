"""What agents read in the mail: times in their own time zone, named;
phone numbers grouped (the JSON keeps E.164); the customer's language;
consent rows that read as a sentence. Sent through the store, the worker
and a real SMTP server, and previewed without any of them."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import zoneinfo
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from smtp_server import SmtpServer
from web_helpers import settings_for

from intakeforms import FormError, load_form, load_form_text, submit
from intakeforms.cli import main
from intakeforms.delivery import Worker, mail_transport
from intakeforms.form import Form
from intakeforms.mail import History, HistoryEntry, history_notice
from intakeforms.preview import preview
from intakeforms.settings import Settings
from intakeforms.store import SqliteStore
from intakeforms.store.base import StoredSubmission

CAR = EXAMPLES / "car-service" / "car-service.yaml"
ANSWERS: dict[str, Any] = json.loads((CAR.parent / "answers.json").read_text(encoding="utf-8"))


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def html_part(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def json_record(message: EmailMessage) -> dict[str, Any]:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/json"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    record: dict[str, Any] = json.loads(payload)
    return record


def finnish_time(moment: dt.datetime, zone: str) -> str:
    """``2.3.2026 11.15 Europe/Helsinki (UTC+2)``, worked out by hand."""
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    offset = local.utcoffset()
    assert offset is not None
    hours = int(offset.total_seconds()) // 3600
    return (
        f"{local.day}.{local.month}.{local.year} {local.hour}.{local.minute:02d} "
        f"{zone} (UTC{hours:+d})"
    )


def target_with(**settings: str) -> str:
    """The car-service form with ``settings`` added to its email target."""
    text = CAR.read_text(encoding="utf-8")
    target = "- email: {to: [service@example.com], locale: fi"
    assert target in text
    added = "".join(f", {key}: {value}" for key, value in settings.items())
    return text.replace(target, target + added, 1)


def position(text: str, value: str) -> tuple[int, int]:
    """The line and column (both from 1) where ``value`` is in ``text``."""
    before = text[: text.index(value)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def deliver(tmp_path: Path, form: Form, settings: Settings) -> StoredSubmission:
    """The sample answers submitted in Finnish and sent by the worker."""

    async def run() -> StoredSubmission | None:
        async with SqliteStore(tmp_path / "intake.db") as store:
            receipt = await submit(store, form, ANSWERS, channel="api", locale="fi")
            worker = Worker(
                store=store,
                forms={form.id: form},
                settings=settings,
                transport=mail_transport(settings),
            )
            assert await worker.run_once() == 1
            await worker.transport.close()
            return await store.get(receipt.reference)

    stored = asyncio.run(run())
    assert stored is not None
    return stored


def test_agents_read_their_own_time_phone_groups_and_the_customers_language(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    form = load_form(CAR)
    settings = settings_for(tmp_path, smtp_url=smtp.url, timezone="Europe/Helsinki")
    stored = deliver(tmp_path, form, settings)
    [mail] = smtp.recorder.messages
    assert isinstance(mail, EmailMessage)
    lines = plain(mail).split("\n")
    when = finnish_time(stored.submitted_at, "Europe/Helsinki")
    assert lines[0] == f"{stored.reference} · Huoltovaraus · lähetetty {when}"
    assert lines[1] == "Asiakkaan kieli: suomi (fi)"
    assert "Puhelin: +358 40 123 4567" in lines
    assert "Suostumus annettu: Hyväksyn, että tietojani käytetään huollon varaamiseen." in lines
    page = html_part(mail)
    assert "Asiakkaan kieli: suomi (fi)" in page and when in page
    assert "<td" in page and "+358 40 123 4567</td>" in page
    # The JSON and the Date header keep what programs read: E.164 and UTC.
    record = json_record(mail)
    assert record["data"]["phone"] == "+358401234567"
    assert record["submitted_at"] == stored.submitted_at.isoformat()
    assert str(mail["Date"]).endswith("+0000")


def test_the_email_targets_time_zone_goes_before_the_services(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    text = target_with(timezone="America/New_York")
    form = load_form_text(text, str(CAR))
    settings = settings_for(tmp_path, smtp_url=smtp.url, timezone="Europe/Helsinki")
    stored = deliver(tmp_path, form, settings)
    [mail] = smtp.recorder.messages
    assert isinstance(mail, EmailMessage)
    local = stored.submitted_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    first = plain(mail).split("\n")[0]
    assert first.endswith(f" {local.hour}.{local.minute:02d} America/New_York (UTC-5)")
    assert "Europe/Helsinki" not in plain(mail)


def test_without_a_time_zone_times_are_utc(tmp_path: Path, smtp: SmtpServer) -> None:
    stored = deliver(tmp_path, load_form(CAR), settings_for(tmp_path, smtp_url=smtp.url))
    [mail] = smtp.recorder.messages
    assert isinstance(mail, EmailMessage)
    moment = stored.submitted_at.astimezone(dt.UTC)
    assert plain(mail).split("\n")[0].endswith(f" {moment.hour}.{moment.minute:02d} UTC")


def test_a_time_zone_the_database_does_not_know_is_refused_by_check() -> None:
    text = target_with(timezone="Europe/Helsingfors")
    with pytest.raises(FormError) as caught:
        load_form_text(text, "car-service.yaml")
    [problem] = caught.value.problems
    line, column = position(text, "Europe/Helsingfors")
    assert (problem.line, problem.column, problem.code) == (line, column, "invalid_value")
    assert "'Europe/Helsingfors' is not a time zone; write an IANA name like Europe/Helsinki" in (
        problem.message
    )


@pytest.mark.parametrize(
    ("locale", "language", "consent"),
    [
        ("fi", "Asiakkaan kieli: suomi (fi)", "Suostumus annettu: "),
        ("sv", "Kundens språk: svenska (sv)", "Samtycke givet: "),
        ("en", "Customer's language: English (en)", "Consent given: "),
    ],
)
def test_preview_in_python_needs_no_store(
    locale: str, language: str, consent: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No store, no mail server, no settings: an empty folder to work in.
    monkeypatch.chdir(tmp_path)
    message = preview(load_form(CAR), ANSWERS, locale=locale)
    mail = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "service@example.com"
    lines = plain(mail).split("\n")
    assert lines[0].endswith(" UTC") and lines[1] == language
    assert [line for line in lines if line.startswith(consent)]
    assert list(tmp_path.iterdir()) == []


def test_a_preview_in_the_agents_time_zone() -> None:
    message = preview(load_form(CAR), ANSWERS, locale="sv", timezone="Europe/Stockholm")
    assert "Europe/Stockholm (UTC+" in plain(message).split("\n")[0]
    # The target's own zone goes first.
    form = load_form_text(target_with(timezone="Asia/Tokyo"), str(CAR))
    message = preview(form, ANSWERS, locale="sv", timezone="Europe/Stockholm")
    assert plain(message).split("\n")[0].endswith(" Asia/Tokyo (UTC+9)")


def test_a_preview_refuses_a_time_zone_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a time zone"):
        preview(load_form(CAR), ANSWERS, locale="fi", timezone="Mars/Olympus")


def test_earlier_contacts_are_dated_in_the_agents_time_zone() -> None:
    moment = dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC)
    entry = HistoryEntry("CAR-2222AA", "car-service", moment, {"fi": "Huoltovaraus"})
    notice = history_notice(History(days=90, entries=(entry,)), "fi", "Europe/Helsinki")
    assert notice is not None
    # Half past midnight in Helsinki: the next day, as the agent lived it.
    assert notice.items == ("CAR-2222AA · Huoltovaraus · 3.3.2026 0.30 Europe/Helsinki (UTC+2)",)


def test_the_preview_command_writes_times_in_intake_timezone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["preview", str(CAR), "--data", str(CAR.parent / "answers.json")]
    monkeypatch.setenv("INTAKE_TIMEZONE", "Europe/Helsinki")
    assert main(argv) == 0
    mail = email.message_from_string(capsys.readouterr().out, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    lines = plain(mail).split("\n")
    assert "Europe/Helsinki (UTC+" in lines[0] and lines[1] == "Asiakkaan kieli: suomi (fi)"
    monkeypatch.setenv("INTAKE_TIMEZONE", "Helsinki")
    assert main(argv) == 1
    assert "INTAKE_TIMEZONE='Helsinki' is not a time zone" in capsys.readouterr().err
