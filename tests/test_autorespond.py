"""The customer's confirmation (``autorespond``): the form language, the
outbox job, the mail, and the worker's daily cap per address, against a
real SMTP server (aiosmtpd) and a real SQLite store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import textwrap
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import problems_of
from smtp_server import SmtpServer
from starlette.testclient import TestClient
from test_delivery import save
from web_helpers import settings_for, token_from

from intakeforms import Form, FormError, load_form_text
from intakeforms.cli import main
from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery.worker import SKIPPED_CAP
from intakeforms.mail import MASK, build_customer_email, customer_address
from intakeforms.settings import Settings
from intakeforms.store import NewSubmission, SqliteStore, StoredFile, StoredSubmission
from intakeforms.web import create_app

FORM_TEXT = """\
form: car-service
title: {fi: Huoltovaraus, sv: Servicebokning, en: Car service booking}
locales: [fi, sv, en]
reference_prefix: CAR
fields:
  - name: plate
    type: plate
    region: FI
    label: {fi: Rekisterinumero, sv: Registreringsnummer, en: Registration plate}
    required: true
  - name: service
    type: choice
    label: {fi: Palvelu, sv: Tjänst, en: Service}
    choices:
      annual: {fi: Määräaikaishuolto, sv: Årlig service, en: Annual service}
      repair: {fi: Korjaus, sv: Reparation, en: Repair}
  - name: symptoms
    type: textarea
    label: {fi: Kuvaile vika, sv: Beskriv felet, en: Describe the problem}
  - name: hetu
    type: national_id
    region: FI
    label: {fi: Henkilötunnus, sv: Personnummer, en: Personal identity code}
  - name: name
    type: text
    role: customer_name
    label: {fi: Nimi, sv: Namn, en: Name}
  - name: email
    type: email
    role: reply_to
    label: {fi: Sähköposti, sv: E-post, en: Email}
deliver:
  - email: {to: [service@example.com], locale: fi}
autorespond:
  from_name: {fi: Autohuolto Oy, sv: Autohuolto Ab, en: Car Service Ltd}
  intro:
    fi: Kiitos! Saimme huoltovarauksesi.
    sv: Tack! Vi har fått din servicebokning.
    en: Thank you! We have your service booking.
"""
FORM = load_form_text(FORM_TEXT, "car-service.yaml")
HETU = "131052-308T"
ANSWERS: dict[str, Any] = {
    "plate": "abc123",
    "service": "repair",
    "symptoms": '<script>alert("x")</script>\nKolisee & tärisee.',
    "hetu": HETU,
    "name": "Maja Öberg",
    "email": "maja@example.com",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "intake.db") as opened:
        yield opened


class Clock:
    """Real time plus an offset the test moves (the store stamps with real time)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def worker(store: SqliteStore, settings: Settings, clock: Clock, form: Form = FORM) -> Worker:
    return Worker(
        store=store,
        forms={form.id: form},
        settings=settings,
        transport=mail_transport(settings),
        clock=clock,
        rand=lambda: 1.0,
    )


async def submit(store: SqliteStore, locale: str = "sv", **changes: Any) -> str:
    """One stored submission with the jobs the web service gives it."""
    data = {**dict(FORM.validate({**ANSWERS, **changes})), **changes}
    return await save(store, FORM, data, ["email:0", "autoreply"], locale=locale)


def stored_submission(**changes: Any) -> StoredSubmission:
    return StoredSubmission(
        reference="CAR-4F7K2Q",
        form=FORM.id,
        form_version=FORM.version,
        locale="fi",
        data={**dict(FORM.validate(ANSWERS)), **changes},
        files=(),
        submitted_at=dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC),
        spam=False,
        client=None,
    )


def parts(message: EmailMessage) -> dict[str, str]:
    """The decoded text of each part, by media type."""
    found = {}
    for part in message.walk():
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            found[part.get_content_type()] = str(part.get_content())
    return found


# -- the worker ------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_customer_gets_a_confirmation_in_their_language(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    reference = await submit(store, locale="sv")
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), Clock())
    assert await delivering.run_once() == 2
    await delivering.transport.close()

    by_to = {str(m["To"]): m for m in smtp.recorder.messages}
    assert set(by_to) == {"service@example.com", "maja@example.com"}
    agent, mine = by_to["service@example.com"], by_to["maja@example.com"]
    # The agents still get theirs, in their language, with every answer.
    assert agent["Subject"].startswith(f"[{reference}]")
    assert HETU in parts(agent)["text/plain"]
    assert agent["Auto-Submitted"] == "auto-generated"

    assert mine["Subject"] == f"Mottaget: {reference} – Servicebokning"
    assert mine["From"] == "Autohuolto Ab <intakeforms@localhost>"
    assert mine["Auto-Submitted"] == "auto-replied"
    assert mine["X-Auto-Response-Suppress"] == "All"
    assert mine["Content-Language"] == "sv"
    assert mine["Message-ID"] == f"<{reference}.autoreply@localhost>"
    assert mine["Message-ID"] != agent["Message-ID"]
    assert mine["Reply-To"] is None and mine["Bcc"] is None
    assert mine.get_content_type() == "multipart/alternative"
    assert list(mine.iter_attachments()) == []
    text, page = parts(mine)["text/plain"], parts(mine)["text/html"]
    for body in (text, page):
        assert reference in body
        assert "Tack! Vi har fått din servicebokning." in body
        # Only the choice, in the form's words; nothing the customer typed.
        assert "Tjänst" in body and "Reparation" in body
        assert "Det du skrev upprepas inte i det här e-postmeddelandet." in body
        for typed in (HETU, "ABC-123", "Kolisee", "script", "Maja", "Öberg", "Personnummer"):
            assert typed not in body
    assert f"Ditt referensnummer: {reference}" in text
    assert "Tjänst: Reparation\r\n" in text
    assert HETU not in bytes(mine).decode("ascii", "replace")

    jobs = {job.target: job for job in await store.outbox(reference)}
    assert {job.status for job in jobs.values()} == {"delivered"}
    assert jobs["autoreply"].receipt == "OK queued"  # the server's answer


@pytest.mark.anyio
async def test_the_fourth_confirmation_to_one_address_in_a_day_is_skipped(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    # Case and a +tag do not make another address: the cap protects an inbox.
    spellings = ["maja@example.com", "Maja@Example.com", "maja+1@example.com", "MAJA@example.com"]
    references = [await submit(store, email=address) for address in spellings]
    await submit(store, email="other@example.com")
    clock = Clock()
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), clock)
    assert await delivering.run_once() == 10

    confirmations = [m for m in smtp.recorder.messages if m["Auto-Submitted"] == "auto-replied"]
    assert len(confirmations) == 4  # three to maja, one to other
    assert [m["X-Intake-Reference"] for m in confirmations[:3]] == references[:3]
    agents = [m for m in smtp.recorder.messages if m["To"] == "service@example.com"]
    assert len(agents) == 5  # the cap never holds back the agents' mail
    [skipped] = [j for j in await store.outbox(references[3]) if j.target == "autoreply"]
    assert (skipped.status, skipped.receipt) == ("delivered", SKIPPED_CAP)
    assert skipped.attempts == 1 and skipped.last_error is None
    assert await store.counts() == {"pending": 0, "claimed": 0, "delivered": 10, "dead": 0}

    # A day later the address gets confirmations again.
    clock.offset = dt.timedelta(hours=24, seconds=1)
    fifth = await submit(store, email="maja@example.com")
    assert await delivering.run_once() == 2
    await delivering.transport.close()
    assert smtp.recorder.messages[-1]["X-Intake-Reference"] == fifth
    assert smtp.recorder.messages[-1]["Auto-Submitted"] == "auto-replied"


@pytest.mark.anyio
async def test_max_per_day_is_the_forms_own(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    strict = load_form_text(FORM_TEXT + "  max_per_day: 1\n", "car-service.yaml")
    for _ in range(2):
        await submit(store)
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), Clock(), strict)
    await delivering.run_once()
    await delivering.transport.close()
    confirmations = [m for m in smtp.recorder.messages if m["Auto-Submitted"] == "auto-replied"]
    assert len(confirmations) == 1
    receipts = [j.receipt for j in await store.jobs() if j.target == "autoreply"]
    assert SKIPPED_CAP in receipts


@pytest.mark.anyio
async def test_nothing_to_send_completes_the_job_without_mail(
    store: SqliteStore, tmp_path: Path
) -> None:
    # An address that needs SMTPUTF8 cannot be written to; a form whose
    # autoresponder was turned off after the submission sends nothing.
    unusable = await submit(store, email="äiti@example.com")
    turned_off = await submit(store)
    off = load_form_text(FORM_TEXT.split("autorespond:")[0], "car-service.yaml")
    settings = settings_for(tmp_path)  # .eml files
    await worker(store, settings, Clock()).run_once()
    [job] = [j for j in await store.outbox(unusable) if j.target == "autoreply"]
    assert (job.status, job.receipt) == ("delivered", "skipped: no usable customer address")
    await store.save(
        dataclasses.replace(
            NewSubmission(FORM.id, FORM.version, "CAR", "fi", {"email": "a@example.com"}),
            targets=["autoreply"],
        )
    )
    await worker(store, settings, Clock(), off).run_once()
    receipts = {j.receipt for j in await store.jobs() if j.target == "autoreply"}
    assert "skipped: the form has no autorespond any more" in receipts
    mailed = sorted(path.name for path in (tmp_path / "mail").glob("*.eml"))
    assert mailed == sorted(
        [f"{unusable}.0.eml", f"{turned_off}.0.eml", f"{turned_off}.autoreply.eml"]
    )


@pytest.mark.anyio
async def test_a_confirmation_that_cannot_be_built_is_dead_lettered(
    store: SqliteStore, tmp_path: Path
) -> None:
    reference = await submit(store)
    settings = settings_for(tmp_path, mail_from="not an address")
    await worker(store, settings, Clock()).run_once()
    jobs = {job.target: job for job in await store.outbox(reference)}
    assert jobs["autoreply"].status == "dead"
    assert "cannot build the confirmation" in (jobs["autoreply"].last_error or "")


# -- the outbox job: only with an address, never for spam --------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app([FORM], settings_for(tmp_path))) as test_client:
        yield test_client


def jobs_of(tmp_path: Path, reference: str) -> list[str]:
    with sqlite3.connect(tmp_path / "intake.db") as db:
        rows = db.execute(
            "SELECT target FROM outbox WHERE reference = ? ORDER BY id", (reference,)
        ).fetchall()
    return [target for (target,) in rows]


def test_a_submission_with_an_address_gets_an_autoreply_job(
    client: TestClient, tmp_path: Path
) -> None:
    answer = client.post("/forms/car-service/submissions", json=ANSWERS)
    assert answer.status_code == 201
    assert jobs_of(tmp_path, answer.json()["reference"]) == ["email:0", "autoreply"]


def test_no_autoreply_job_without_an_address(client: TestClient, tmp_path: Path) -> None:
    for email in ("", "   ", None):
        answer = client.post("/forms/car-service/submissions", json={**ANSWERS, "email": email})
        assert answer.status_code == 201
        assert jobs_of(tmp_path, answer.json()["reference"]) == ["email:0"]


def test_no_autoreply_job_for_spam(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/forms/car-service").text
    posted = {**ANSWERS, "_token": token_from(page), "_homepage": "http://spam.example"}
    answer = client.post(
        "/forms/car-service/submissions", data=posted, headers={"accept": "application/json"}
    )
    assert answer.status_code == 201
    reference = answer.json()["reference"]
    with sqlite3.connect(tmp_path / "intake.db") as db:
        assert db.execute(
            "SELECT spam FROM submissions WHERE reference = ?", (reference,)
        ).fetchone() == (1,)
    assert jobs_of(tmp_path, reference) == []


def test_forms_without_autorespond_get_no_autoreply_job(tmp_path: Path) -> None:
    plain = load_form_text(FORM_TEXT.split("autorespond:")[0], "car-service.yaml")
    with TestClient(create_app([plain], settings_for(tmp_path))) as client:
        answer = client.post("/forms/car-service/submissions", json=ANSWERS)
    assert jobs_of(tmp_path, answer.json()["reference"]) == ["email:0"]


# -- the mail --------------------------------------------------------------------


def test_customer_text_cannot_add_a_header() -> None:
    hostile = stored_submission(name="Maja\r\nBcc: evil@example.com\u202e", symptoms="a\rb")
    message = build_customer_email(FORM, hostile, mail_from="intake@example.com")
    assert message["Bcc"] is None
    assert str(message["To"]) == "maja@example.com"  # the address alone: no name
    assert [key for key in message if key.lower() == "to"] == ["To"]
    assert message["Subject"] == "Vastaanotettu: CAR-4F7K2Q – Huoltovaraus"
    assert message["From"] == "Autohuolto Oy <intake@example.com>"
    # The same submission gives the same bytes: a retry is the same mail.
    assert bytes(message) == bytes(
        build_customer_email(FORM, hostile, mail_from="intake@example.com")
    )


def test_defaults_and_from_name() -> None:
    plain = load_form_text(FORM_TEXT.split("autorespond:")[0] + "autorespond: {}\n", "c.yaml")
    message = build_customer_email(
        plain, stored_submission(), mail_from="intake@example.com", from_name="Huolto"
    )
    assert message["From"] == "Huolto <intake@example.com>"
    text = parts(message)["text/plain"]
    assert text.startswith("Olemme vastaanottaneet viestisi. Vastaamme sinulle sähköpostitse.")
    assert "Viitetunnuksesi: CAR-4F7K2Q" in text and "Vastauksesi" in text
    assert "Palvelu: Korjaus" in text
    assert "Henkilötunnus" not in text and MASK not in text
    assert "Kirjoittamiasi tietoja ei toisteta tässä viestissä." in text
    english = build_customer_email(
        plain, dataclasses.replace(stored_submission(), locale="en"), mail_from="i@example.com"
    )
    assert english["Subject"] == "Received: CAR-4F7K2Q – Car service booking"
    assert english["From"] == "Car service booking <i@example.com>"


def test_sensitive_choices_are_masked_only_when_given() -> None:
    sensitive = load_form_text(
        FORM_TEXT.replace(
            "    label: {fi: Palvelu,", "    sensitive: true\n    label: {fi: Palvelu,"
        ),
        "car-service.yaml",
    )
    text = parts(build_customer_email(sensitive, stored_submission(), mail_from="i@example.com"))[
        "text/plain"
    ]
    assert "Palvelu: ***" in text and "Korjaus" not in text
    assert "Merkinnällä *** näytettyjä vastauksia" in text  # the line saying why
    unanswered = stored_submission(service=None)
    text = parts(build_customer_email(sensitive, unanswered, mail_from="i@example.com"))[
        "text/plain"
    ]
    assert "Palvelu" not in text and MASK not in text  # nor the line about ***


def test_files_are_not_listed_not_even_by_name() -> None:
    # A sensitive file question (a medical certificate), or any other: the
    # customer named the file, so the name is their text.
    medical = FORM_TEXT.replace(
        "deliver:",
        "  - name: certificate\n"
        "    type: file\n"
        "    label: {fi: Todistus, sv: Intyg, en: Certificate}\n"
        "deliver:",
    )
    form = load_form_text(medical, "car-service.yaml")
    certificate = StoredFile("certificate", "diagnosis-hiv.pdf", "application/pdf", 1200, "a/b")
    with_file = dataclasses.replace(stored_submission(), files=(certificate,))
    message = build_customer_email(form, with_file, mail_from="i@example.com")
    for body in parts(message).values():
        assert "Todistus" not in body and "diagnosis" not in body
    assert list(message.iter_attachments()) == []


SPAM = (
    "CHEAP MEDS at https://spam.example/buy?id=1 <a href='https://spam.example'>click</a>\n"
    "Call +1 555 0100 now!"
)


def test_a_spam_message_is_not_relayed_to_the_address_typed_in() -> None:
    # Before: the confirmation repeated every answer, so a spammer could type
    # a stranger's address and an advertisement and the service mailed it.
    victim = stored_submission(
        email="victim@example.com",
        symptoms=SPAM,
        name="Visit spam.example today",
        plate="SPA-123",
    )
    message = build_customer_email(FORM, victim, mail_from="intake@example.com")
    assert message["To"] == "victim@example.com"
    raw = bytes(message).decode("utf-8", "replace")
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    for body in [*bodies.values(), raw, str(message["Subject"])]:
        for piece in ("spam.example", "CHEAP MEDS", "555 0100", "click", "SPA-123"):
            assert piece not in body
    assert "<a " not in bodies["text/html"]


@pytest.mark.anyio
async def test_spelling_a_gmail_address_another_way_does_not_pass_the_cap(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    # Before: every spelling was counted as a new address, so one inbox got
    # one confirmation per variant.
    variants = [
        "matti.virtanen@gmail.com",
        "m.a.t.t.i.v.i.r.t.a.n.e.n@gmail.com",
        "MattiVirtanen+car@gmail.com",
        "matti.virtanen@googlemail.com",
        "M.attivirtanen+x@GoogleMail.com",
    ]
    for address in variants:
        await submit(store, email=address)
    delivering = worker(store, settings_for(tmp_path, smtp_url=smtp.url), Clock())
    assert await delivering.run_once() == 10
    await delivering.transport.close()
    confirmations = [m for m in smtp.recorder.messages if m["Auto-Submitted"] == "auto-replied"]
    assert len(confirmations) == 3  # max_per_day of the form's default
    receipts = [j.receipt for j in await store.jobs() if j.target == "autoreply"]
    assert receipts.count(SKIPPED_CAP) == 2
    # Other addresses are still their own: a dot elsewhere is another mailbox.
    await submit(store, email="matti.virtanen@example.com")
    await submit(store, email="mattivirtanen@example.com")
    assert await delivering.run_once() == 4
    await delivering.transport.close()
    confirmations = [m for m in smtp.recorder.messages if m["Auto-Submitted"] == "auto-replied"]
    assert len(confirmations) == 5


def test_answers_to_removed_questions_stay_out_of_the_copy() -> None:
    # Whether a question the form no longer has was sensitive is unknown.
    old = stored_submission(passport="X1234567")
    text = parts(build_customer_email(FORM, old, mail_from="i@example.com"))["text/plain"]
    assert "X1234567" not in text


def test_no_customer_address_is_a_caller_mistake() -> None:
    blank = stored_submission(email="")
    assert customer_address(FORM, blank) is None
    assert customer_address(FORM, stored_submission()) == "maja@example.com"
    with pytest.raises(ValueError, match="no customer address"):
        build_customer_email(FORM, blank, mail_from="i@example.com")
    other = dataclasses.replace(stored_submission(), form="billing")
    with pytest.raises(ValueError, match="not 'car-service'"):
        build_customer_email(FORM, other, mail_from="i@example.com")


def test_preview_of_the_confirmation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    form_file, answers = tmp_path / "car-service.yaml", tmp_path / "answers.json"
    form_file.write_text(FORM_TEXT, encoding="utf-8")
    answers.write_text(json.dumps(ANSWERS), encoding="utf-8")
    assert (
        main(
            ["preview", str(form_file), "--data", str(answers), "--locale", "en", "--confirmation"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "Auto-Submitted: auto-replied" in printed
    assert "Subject: Received: CAR-PREVIEW" in printed
    assert HETU not in printed


# -- the form language -----------------------------------------------------------


def test_autorespond_needs_a_reply_to_question() -> None:
    text = FORM_TEXT.replace("    role: reply_to\n", "")
    with pytest.raises(FormError) as caught:
        load_form_text(text, "car-service.yaml")
    (problem,) = caught.value.problems
    line = text.splitlines().index("autorespond:") + 1
    assert (problem.line, problem.column, problem.code) == (line + 1, 3, "missing_reply_to")
    assert str(problem).startswith(
        f"car-service.yaml:{line + 1}:3: autorespond: a confirmation email needs the "
        "customer's email address"
    )


def test_autorespond_texts_need_every_locale() -> None:
    text = FORM_TEXT.replace("    sv: Tack! Vi har fått din servicebokning.\n", "")
    line = text.splitlines().index("  intro:") + 1
    assert problems_of(text) == [(line + 1, 5, "missing_translation")]
    empty = FORM_TEXT.replace("en: Car Service Ltd", 'en: ""').replace("fi: Autohuolto", "de: X")
    assert sorted(code for _, _, code in problems_of(empty)) == [
        "empty_text",
        "missing_translation",  # no fi
        "unknown_locale",
    ]


@pytest.mark.parametrize(
    ("block", "code"),
    [
        ("autorespond: {max_per_day: 0}", "invalid_value"),
        ("autorespond: {max_per_dya: 5}", "unknown_key"),
        ("autorespond:", "invalid_value"),
    ],
)
def test_autorespond_settings_are_checked(block: str, code: str) -> None:
    text = FORM_TEXT.split("autorespond:")[0] + block + "\n"
    [(line, _, found)] = problems_of(text)
    assert (line, found) == (len(text.splitlines()), code)


def test_plain_strings_serve_every_language() -> None:
    text = FORM_TEXT.split("autorespond:")[0] + textwrap.dedent(
        """\
        autorespond:
          from_name: Autohuolto Oy
          intro: Kiitos! / Tack! / Thank you!
          max_per_day: 5
        """
    )
    settings = load_form_text(text, "c.yaml").definition.autorespond
    assert settings is not None and settings.max_per_day == 5
