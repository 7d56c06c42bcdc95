"""The agent email: subject, headers, both bodies, attachments, and safety
against customer text; the ``preview`` command that prints it."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
from dataclasses import asdict
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, make_form
from smtp_server import SmtpServer
from starlette.testclient import TestClient
from web_helpers import settings_for, token_from

from intakeforms import Form, InvalidAnswers, load_form, load_form_text, submit
from intakeforms.cli import main
from intakeforms.delivery import Worker, mail_transport
from intakeforms.mail import (
    SUBJECT_MAX_LENGTH,
    agent_subject,
    answer_rows,
    attachment_name,
    build_agent_email,
    check_extra_headers,
    message_id,
)
from intakeforms.preview import preview
from intakeforms.store import SqliteStore
from intakeforms.store.base import StoredFile, StoredSubmission
from intakeforms.targets.email import EmailTarget
from intakeforms.web import create_app

CAR = EXAMPLES / "car-service" / "car-service.yaml"
RETURN = EXAMPLES / "product-return" / "product-return.yaml"
SUBMITTED = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
NBSP = "\u00a0"

#: The car-service sample's lines, in form order, per agent language.
CAR_LINES = {
    "fi": [
        "Rekisterinumero: ABC-123",
        "Merkki ja malli: Toyota Corolla 2018",
        f"Mittarilukema: 184{NBSP}000{NBSP}km",
        "Mitä tarvitset?: Korjaus",
        "Kuvaile vika: Etupäästä kuuluu kolinaa hidastettaessa, ja ohjauspyörä tärisee "
        "yli 80 km/h nopeudessa.",
        "Nimi: Matti Meikäläinen",
        "Sähköposti: matti.meikalainen@example.com",
        "Puhelin: +358 40 123 4567",
        "Suostumus annettu: Hyväksyn, että tietojani käytetään huollon varaamiseen.",
    ],
    "sv": [
        "Registreringsnummer: ABC-123",
        "Märke och modell: Toyota Corolla 2018",
        f"Mätarställning: 184{NBSP}000{NBSP}km",
        "Vad behöver du?: Reparation",
        "Beskriv felet: Etupäästä kuuluu kolinaa hidastettaessa, ja ohjauspyörä tärisee "
        "yli 80 km/h nopeudessa.",
        "Namn: Matti Meikäläinen",
        "E-post: matti.meikalainen@example.com",
        "Telefon: +358 40 123 4567",
        "Samtycke givet: Jag godkänner att mina uppgifter används för att boka servicen.",
    ],
    "en": [
        "Registration plate: ABC-123",
        "Make and model: Toyota Corolla 2018",
        "Mileage: 184,000\u00a0km",
        "What do you need?: Repair",
        "Describe the problem: Etupäästä kuuluu kolinaa hidastettaessa, ja ohjauspyörä "
        "tärisee yli 80 km/h nopeudessa.",
        "Name: Matti Meikäläinen",
        "Email: matti.meikalainen@example.com",
        "Phone: +358 40 123 4567",
        "Consent given: I agree that my details are used to book the service.",
    ],
}


def submission(
    form: Form,
    data: dict[str, Any],
    *,
    reference: str = "CAR-4F7K2Q",
    files: tuple[StoredFile, ...] = (),
    context: dict[str, Any] | None = None,
) -> StoredSubmission:
    return StoredSubmission(
        reference=reference,
        form=form.id,
        form_version=form.version,
        locale=form.default_locale,
        data=data,
        files=files,
        submitted_at=SUBMITTED,
        spam=False,
        client=None,
        context=context,
    )


def sample(path: Path) -> tuple[Form, StoredSubmission]:
    """A form of examples/ and its answers.json, validated as the web app does."""
    form = load_form(path)
    answers = json.loads((path.parent / "answers.json").read_text(encoding="utf-8"))
    data = form.validate(answers, today=dt.date(2025, 6, 1))
    prefix = form.reference_prefix
    return form, submission(form, dict(data), reference=f"{prefix}-4F7K2Q")


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as an agent's mail client reads it off the wire."""
    found = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def html_part(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def answer_lines(text: str) -> list[str]:
    """The lines between the intro and the footer (blank lines around them)."""
    return text.split("\n\n")[1].splitlines()


def attachments(message: EmailMessage) -> dict[str, Message]:
    return {str(part.get_filename()): part for part in message.iter_attachments()}


def build(form: Form, sub: StoredSubmission, **options: Any) -> EmailMessage:
    options.setdefault("mail_from", "intake@example.com")
    return parsed(build_agent_email(form, sub, **options))


@pytest.fixture(scope="module")
def car() -> tuple[Form, StoredSubmission]:
    return sample(CAR)


# -- subject and headers -----------------------------------------------------


def test_subject_is_the_rendered_summary_in_finnish(car: tuple[Form, StoredSubmission]) -> None:
    msg = build(*car)
    assert (
        msg["Subject"] == f"[CAR-4F7K2Q] Korjaus ABC-123 Toyota Corolla 2018 184{NBSP}000{NBSP}km"
    )


def test_subject_follows_the_locale(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    assert agent_subject(form, sub, "en") == "[CAR-4F7K2Q] Repair ABC-123 Toyota Corolla 2018 " + (
        f"184,000{NBSP}km"
    )


def test_missing_values_leave_their_place_empty(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    data = {k: v for k, v in sub.data.items() if k not in ("service", "model")}
    assert agent_subject(form, submission(form, data), "fi") == (
        f"[CAR-4F7K2Q] ABC-123 184{NBSP}000{NBSP}km"
    )
    assert "None" not in agent_subject(form, submission(form, data | {"plate": None}), "fi")


def test_subject_without_summary_is_the_title() -> None:
    form = make_form("- {name: a, type: text, label: A}", title="Call me back")
    assert agent_subject(form, submission(form, {"a": "x"}, reference="T-1"), "en") == (
        "[T-1] Call me back"
    )


def test_subject_is_capped(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    subject = agent_subject(form, submission(form, sub.data | {"model": "x" * 500}), "fi")
    assert len(subject) == SUBJECT_MAX_LENGTH
    assert subject.endswith("…")


def test_headers(car: tuple[Form, StoredSubmission]) -> None:
    msg = build(*car, from_name="Huolto")
    assert msg["From"] == "Huolto <intake@example.com>"
    assert msg["To"] == "service@example.com"
    assert msg["Cc"] is None
    assert msg["Reply-To"] == "Matti Meikäläinen <matti.meikalainen@example.com>"
    assert msg["X-Intake-Form"] == "car-service"
    assert msg["X-Intake-Reference"] == "CAR-4F7K2Q"
    assert msg["X-Intake-Form-Version"] == car[0].version
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"].datetime == SUBMITTED
    assert msg["Message-ID"] == "<CAR-4F7K2Q.0@example.com>"
    assert msg.get_content_type() == "multipart/mixed"
    assert [part.get("MIME-Version") for part in msg.walk()][1:] == [None] * 4


def test_from_defaults_to_the_form_title(car: tuple[Form, StoredSubmission]) -> None:
    assert build(*car)["From"] == "Huoltovaraus <intake@example.com>"
    assert build(*car, locale="sv")["From"] == "Servicebokning <intake@example.com>"


def test_to_cc_and_locale_come_from_the_target() -> None:
    form = make_form(
        """
        - {name: email, type: email, role: reply_to, label: {en: Email, fi: Sähköposti}}
        """,
        locales="[en, fi]",
        deliver=(
            "[{webhook: {url: 'https://example.com/hook'}}, "
            "{email: {to: [a@example.com, b@example.com], cc: [c@example.com], locale: fi}}]"
        ),
    )
    msg = build(form, submission(form, {"email": "x@example.com"}), target_index=1)
    assert msg["To"] == "a@example.com, b@example.com"
    assert msg["Cc"] == "c@example.com"
    assert msg["Reply-To"] == "x@example.com"
    assert msg["Message-ID"] == "<CAR-4F7K2Q.1@example.com>"
    assert answer_lines(plain(msg)) == ["Sähköposti: x@example.com"]
    with pytest.raises(ValueError, match=r"no email target at deliver\[0\]"):
        build(form, submission(form, {}), target_index=0)
    with pytest.raises(ValueError, match=r"deliver\[5\]"):
        build(form, submission(form, {}), target_index=5)


def test_message_id_is_stable_per_submission_and_target(
    car: tuple[Form, StoredSubmission],
) -> None:
    form, sub = car
    first = build_agent_email(form, sub, mail_from="intake@example.com")
    again = build_agent_email(form, sub, mail_from="intake@example.com")
    other = build_agent_email(
        form, sub, mail_from="intake@example.com", target=EmailTarget(to=["x@example.com"])
    )
    assert first["Message-ID"] == again["Message-ID"]
    assert bytes(first) == bytes(again)  # fixed MIME boundaries too
    assert message_id(sub.reference, 1, "intake@example.com") != first["Message-ID"]
    assert other["Message-ID"] == first["Message-ID"]  # same target index
    another = submission(form, sub.data, reference="CAR-ZZZZZZ")
    assert build(form, another)["Message-ID"] != first["Message-ID"]


def test_no_reply_to_without_a_valid_address(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    for address in ("not an address", "x@y\r\nBcc: evil@example.com", 42, None):
        msg = build(form, submission(form, sub.data | {"email": address}))
        assert msg["Reply-To"] is None
        assert "Bcc" not in msg


def test_a_bad_mail_from_is_refused(car: tuple[Form, StoredSubmission]) -> None:
    for bad in ("nobody", "a@b\r\nBcc: evil@example.com", "<>"):
        with pytest.raises(ValueError, match="mail_from"):
            build_agent_email(*car, mail_from=bad)


def test_another_forms_submission_is_refused(car: tuple[Form, StoredSubmission]) -> None:
    form = load_form(RETURN)
    with pytest.raises(ValueError, match="not 'product-return'"):
        build_agent_email(form, car[1], mail_from="intake@example.com")


# -- bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["fi", "sv", "en"])
def test_plain_text_has_a_line_per_answer(car: tuple[Form, StoredSubmission], locale: str) -> None:
    msg = build(*car, locale=locale)
    text = plain(msg)
    assert text.splitlines()[0].startswith("CAR-4F7K2Q · ")
    assert answer_lines(text) == CAR_LINES[locale]


def test_intro_line_holds_reference_title_and_time(car: tuple[Form, StoredSubmission]) -> None:
    assert plain(build(*car)).splitlines()[0] == (
        "CAR-4F7K2Q · Huoltovaraus · lähetetty 2.3.2026 9.15 UTC"
    )
    assert plain(build(*car, locale="en")).splitlines()[0] == (
        "CAR-4F7K2Q · Car service booking · submitted Mar 2, 2026 9:15\u202fAM UTC"
    )


def test_footer_says_where_replies_go(car: tuple[Form, StoredSubmission]) -> None:
    text = plain(build(*car, locale="en"))
    assert "Replying to this email answers the customer at matti.meikalainen@example.com." in text
    assert "Attachments: CAR-4F7K2Q.json (all answers as JSON)" in text


def test_every_type_is_written_for_the_agent() -> None:
    form = make_form(
        """
        - {name: count, type: integer, label: Count}
        - {name: price, type: number, unit: €, label: Price}
        - {name: picks, type: multichoice, label: Picks, choices: {a: Apple, b: Banana, c: Cherry}}
        - {name: ok, type: boolean, label: OK}
        - {name: nope, type: boolean, label: Nope}
        - {name: terms, type: consent, required: false, label: Terms}
        - {name: day, type: date, label: Day}
        - {name: at, type: time, label: At}
        - {name: notes, type: textarea, label: Notes}
        - {name: skipped, type: text, label: Skipped}
        - {name: empty, type: multichoice, label: Empty, choices: {a: A}}
        """,
        locales="[fi, en]",
    )
    data = {
        "count": 1200,
        "price": 89.9,
        "picks": ["a", "c"],
        "ok": True,
        "nope": False,
        "terms": False,
        "day": "2026-12-01",
        "at": "08:30",
        "notes": "first line\nsecond line\n\nafter a blank",
        "empty": [],
        "gone": "an answer to a question the form no longer has",
    }
    rows = answer_rows(form, submission(form, data), "fi")
    assert rows == [
        ("Count", f"1{NBSP}200"),
        ("Price", f"89,9{NBSP}€"),
        ("Picks", "Apple, Cherry"),
        ("OK", "Kyllä"),
        ("Nope", "Ei"),
        ("Suostumusta ei annettu", "Terms"),
        ("Day", "1.12.2026"),
        ("At", "8.30"),
        ("Notes", "first line\nsecond line\n\nafter a blank"),
        ("gone", "an answer to a question the form no longer has"),
    ]
    text = plain(build(form, submission(form, data), target=EmailTarget(to=["a@example.com"])))
    assert "Notes: first line\n    second line\n\n    after a blank\n" in text


def test_odd_stored_values_never_fail() -> None:
    form = make_form(
        """
        - {name: count, type: integer, label: Count}
        - {name: pick, type: choice, label: Pick, choices: {a: Apple}}
        - {name: picks, type: multichoice, label: Picks, choices: {a: Apple}}
        - {name: day, type: date, label: Day}
        - {name: flag, type: boolean, label: Flag}
        - {name: size, type: number, label: Size}
        - {name: words, type: text, label: Words}
        - {name: upload, type: file, label: Upload}
        - {name: none, type: file, label: None}
        """,
        summary="'{upload} {none} {size}'",
    )
    data = {
        "count": "12",
        "pick": "zz",
        "picks": ["a", 3],
        "day": "soon",
        "flag": {"x": 1},
        "size": True,
        "words": ["a", None],
        "upload": ["odd.pdf", {"name": "b.pdf", "size": "big"}],
        "none": [],
    }
    sub = submission(form, data)
    assert answer_rows(form, sub, "en") == [
        ("Count", "12"),
        ("Pick", "zz"),
        ("Picks", "Apple, 3"),
        ("Day", "soon"),
        ("Flag", '{"x": 1}'),
        ("Size", "true"),
        ("Words", "a,"),
        (
            "Upload",
            "named by the customer “odd.pdf” – file missing, not attached\n"
            "named by the customer “b.pdf” – file missing, not attached",
        ),
    ]
    assert agent_subject(form, sub, "en") == "[CAR-4F7K2Q] true"


def test_an_old_row_without_a_time_zone_is_utc(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    naive = StoredSubmission(**{**asdict(sub), "submitted_at": SUBMITTED.replace(tzinfo=None)})
    assert build(form, naive)["Date"].datetime == SUBMITTED


def test_an_address_that_needs_smtputf8_is_not_a_reply_to(
    car: tuple[Form, StoredSubmission],
) -> None:
    form, sub = car
    msg = build(form, submission(form, sub.data | {"email": "tëst@example.com"}))
    assert msg["Reply-To"] is None
    assert "Sähköposti: tëst@example.com" in plain(msg)
    idn = build(form, submission(form, sub.data | {"email": "matti@exämple.fi"}))
    assert idn["Reply-To"] == "Matti Meikäläinen <matti@xn--exmple-cua.fi>"


def test_html_is_a_table_with_every_value_escaped(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    hostile = "<script>alert(1)</script> & <img src=https://evil.example/x.png>"
    msg = build(form, submission(form, sub.data | {"model": hostile, "symptoms": "a\n<b>"}))
    page = html_part(msg)
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img" in page
    assert '<th scope="row"' in page
    assert "a<br>\n&lt;b&gt;" in page
    assert "<table" in page
    assert "http" not in page.replace("https://evil.example", "")


# -- customer text cannot touch the headers ------------------------------------


@pytest.mark.parametrize("field", ["name", "model", "plate", "email"])
def test_hostile_text_never_adds_a_header(car: tuple[Form, StoredSubmission], field: str) -> None:
    form, sub = car
    hostile = "Evil\r\nBcc: evil@example.com\r\nX-Injected: yes\n\nbody"
    raw = build_agent_email(
        form,
        submission(form, sub.data | {field: hostile}),
        mail_from="intake@example.com",
    )
    msg = parsed(raw)
    assert set(msg.keys()) <= set(build(*car).keys())
    assert len(msg.keys()) >= len(build(*car).keys()) - 1  # at most Reply-To goes
    assert "Bcc" not in msg
    assert "X-Injected" not in msg
    assert "\r" not in msg["Subject"]
    assert "\n" not in msg["Subject"]
    assert b"\r\nBcc:" not in bytes(raw)
    assert b"\r\nX-Injected:" not in bytes(raw)


def test_bidi_and_control_characters_are_cleaned(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    data = sub.data | {"model": "Toyota\u202e\t\x00  Corolla", "name": "Matti\x85 M"}
    msg = build(form, submission(form, data))
    assert msg["Subject"] == f"[CAR-4F7K2Q] Korjaus ABC-123 Toyota Corolla 184{NBSP}000{NBSP}km"
    assert "Merkki ja malli: Toyota Corolla" in plain(msg)
    assert msg["Reply-To"] == "Matti M <matti.meikalainen@example.com>"


def test_extra_headers_allow_list(car: tuple[Form, StoredSubmission]) -> None:
    msg = build(*car, extra_headers={"X-Zammad-Customer": "matti", "X-Priority": "1"})
    assert msg["X-Zammad-Customer"] == "matti"
    assert msg["X-Priority"] == "1"
    assert check_extra_headers({"X-Ticket-Group": " Service "}) == [("X-Ticket-Group", "Service")]
    for refused in (
        {"Bcc": "evil@example.com"},
        {"To": "evil@example.com"},
        {"Reply-To": "evil@example.com"},
        {"X Space": "1"},
        {"X-Bad:Name": "1"},
        {"X-Intake-Reference": "CAR-000000"},
        {"X-Ok": "line\r\nBcc: evil@example.com"},
        {"X-Ok": "line\nmore"},
    ):
        with pytest.raises(ValueError, match="extra header"):
            build_agent_email(*car, mail_from="intake@example.com", extra_headers=refused)


# -- attachments -----------------------------------------------------------------


def test_json_attachment_round_trips(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    part = attachments(build(*car))["CAR-4F7K2Q.json"]
    assert part.get_content_type() == "application/json"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    record = json.loads(payload.decode("utf-8"))
    assert record == {
        "form": "car-service",
        "form_version": form.version,
        "reference": "CAR-4F7K2Q",
        "submitted_at": "2026-03-02T09:15:00+00:00",
        "locale": "fi",
        "data": sub.data,
        "context": None,
    }
    assert dt.datetime.fromisoformat(record["submitted_at"]) == sub.submitted_at
    assert "Meikäläinen" in payload.decode("utf-8")  # ensure_ascii=False


def test_uploaded_files_are_attached(tmp_path: Path) -> None:
    form, sub = sample(RETURN)
    photo = b"\xff\xd8\xff\xe0 a jpeg"
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "cdef").write_bytes(photo)
    files = (
        StoredFile("photos", "../../etc/se\u202ekoitin.jpg", "image/jpeg", 2_483_112, "ab/cdef"),
        StoredFile("photos", "pakkaus.png", "image/png", 918_245, "ab/gone"),
        StoredFile("photos", "escape.png", "image/png", 10, "../outside"),
        StoredFile("photos", "root.png", "image/png", 10, "/etc/passwd"),
    )
    msg = build(form, submission(form, sub.data, files=files), upload_dir=tmp_path)
    found = attachments(msg)
    assert sorted(found) == ["CAR-4F7K2Q-photos-1.jpg", "CAR-4F7K2Q.json"]
    assert found["CAR-4F7K2Q-photos-1.jpg"].get_content_type() == "image/jpeg"
    assert found["CAR-4F7K2Q-photos-1.jpg"].get_payload(decode=True) == photo
    text = plain(msg)
    assert (
        "Valokuvat: CAR-4F7K2Q-photos-1.jpg (2,5 Mt), "
        "asiakkaan antama nimi ”../../etc/se koitin.jpg”\n"
    ) in text
    for index, name, size in ((2, "pakkaus", "918 kt"), (3, "escape", "10 t"), (4, "root", "10 t")):
        assert (
            f"    CAR-4F7K2Q-photos-{index}.png ({size}), asiakkaan antama nimi ”{name}.png” "
            "– tiedosto puuttuu, ei liitteenä\n"
        ) in text
    assert (
        "Liitteet: CAR-4F7K2Q.json (kaikki vastaukset JSON-muodossa), CAR-4F7K2Q-photos-1.jpg"
    ) in text


def test_files_without_an_upload_folder_are_listed_as_missing() -> None:
    form, sub = sample(RETURN)
    msg = build(form, sub, locale="en")
    assert list(attachments(msg)) == ["RET-4F7K2Q.json"]
    assert (
        "Photos: named by the customer “sekoitin.jpg” (2.5 MB) – file missing, not attached\n"
        "    named by the customer “pakkaus.png” (918 kB) – file missing, not attached\n"
    ) in plain(msg)


def test_odd_media_types_are_sent_as_octet_stream(tmp_path: Path) -> None:
    form, sub = sample(RETURN)
    (tmp_path / "f").write_bytes(b"x")
    files = (
        StoredFile("photos", "a.eml", "message/rfc822", 1, "f"),
        StoredFile("photos", "b", "not a type", 1, "f"),
    )
    found = attachments(build(form, submission(form, sub.data, files=files), upload_dir=tmp_path))
    assert found["CAR-4F7K2Q-photos-1.bin"].get_content_type() == "application/octet-stream"
    assert found["CAR-4F7K2Q-photos-2.bin"].get_content_type() == "application/octet-stream"


#: The first bytes of a real PDF: the web layer detects its type from them.
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_an_uploaded_pdf_named_exe_reaches_agents_as_a_pdf(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    # Before: the attachment was called invoice.pdf.exe, as the customer named it.
    form = make_form(
        """
        - {name: receipt, type: file, accept: [application/pdf], label: Receipt, max_files: 2}
        - {name: email, type: email, role: reply_to, label: Email}
        """,
        reference_prefix="CAR",
        deliver="[{email: {to: [service@example.com]}}]",
    )
    settings = settings_for(tmp_path, smtp_url=smtp.url)
    with TestClient(create_app([form], settings)) as client:
        token = token_from(client.get("/forms/test").text)
        answer = client.post(
            "/forms/test/submissions",
            data={"email": "anna@example.com", "_token": token},
            files=[
                ("receipt", ("invoice.pdf.exe", PDF, "application/x-msdownload")),
                ("receipt", ("kuitti.pdf", PDF, "application/pdf")),
            ],
            headers={"accept": "application/json"},
        )
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]

    async def deliver() -> None:
        async with SqliteStore(tmp_path / "intake.db") as store:
            worker = Worker(
                store=store,
                forms={form.id: form},
                settings=settings,
                transport=mail_transport(settings),
            )
            assert await worker.run_once() == 1
            await worker.transport.close()

    asyncio.run(deliver())
    [mail] = smtp.recorder.messages
    found = attachments(mail)
    first, second = f"{reference}-receipt-1.pdf", f"{reference}-receipt-2.pdf"
    assert sorted(found) == sorted([f"{reference}.json", first, second])
    assert found[first].get_content_type() == "application/pdf"
    assert found[first].get_payload(decode=True) == PDF
    headers = [str(value) for part in mail.walk() for value in part.values()]
    assert not [value for value in headers if ".exe" in value]
    # The customer's name for it: labelled as theirs in the text, and in the JSON.
    text = plain(mail)
    assert f"Receipt: {first} ({len(PDF)} byte), named by the customer “invoice.pdf.exe”\n" in text
    payload = found[f"{reference}.json"].get_payload(decode=True)
    assert isinstance(payload, bytes)
    record = json.loads(payload)
    assert record["data"]["receipt"][0] == {
        "name": "invoice.pdf.exe",
        "type": "application/pdf",
        "size": len(PDF),
    }
    page = html_part(mail)
    assert "named by the customer “invoice.pdf.exe”" in page


@pytest.mark.parametrize(
    ("content_type", "name"),
    [
        ("application/pdf", "CAR-4F7K2Q-receipt-1.pdf"),
        ("image/jpeg", "CAR-4F7K2Q-receipt-1.jpg"),
        ("image/png", "CAR-4F7K2Q-receipt-1.png"),
        ("image/heic", "CAR-4F7K2Q-receipt-1.heic"),
        ("text/plain", "CAR-4F7K2Q-receipt-1.txt"),
        ("application/octet-stream", "CAR-4F7K2Q-receipt-1.bin"),
        ("application/x-unknown-thing", "CAR-4F7K2Q-receipt-1.bin"),
        ("message/rfc822", "CAR-4F7K2Q-receipt-1.bin"),
        ("not a type", "CAR-4F7K2Q-receipt-1.bin"),
        (" Application/PDF ", "CAR-4F7K2Q-receipt-1.pdf"),
    ],
)
def test_attachment_names_come_from_the_detected_type(content_type: str, name: str) -> None:
    assert attachment_name("CAR-4F7K2Q", "receipt", 1, content_type) == name
    # Nothing odd in a reference or a name can make a path or a second extension.
    assert attachment_name("../X.exe", "a/b", 2, "application/pdf") == "X_exe-a_b-2.pdf"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/*.yaml")), ids=lambda p: p.parent.name)
def test_every_example_builds_a_mail(path: Path) -> None:
    form, sub = sample(path)
    msg = build(form, sub)
    assert msg["Subject"].startswith(f"[{sub.reference}] ")
    assert msg["X-Intake-Form"] == form.id
    lines = answer_lines(plain(msg))
    answered = [name for name in form.fields if name in sub.data]
    starts = [line for line in lines if not line.startswith("    ")]
    assert len(starts) == len(answered)
    assert f"{sub.reference}.json" in attachments(msg)


# -- the context: an incomplete contact, the FAQ answers read ------------------

#: What the web service stores for a customer who read two FAQ answers in
#: Finnish and then pressed "Talk to a person" before the mileage and the service.
CONTEXT: dict[str, Any] = {
    "faq": {
        "search": "0123456789abcdef0123456789abcdef",
        "shown": [
            {"faq": "workshop", "entry": "winter-tyres", "question": "Milloin talvirenkaat?"},
            {"faq": "workshop", "entry": "tyre-hotel", "question": "Säilytättekö renkaat?"},
        ],
    },
    "incomplete": {"missing": ["mileage", "service"]},
}

INCOMPLETE = {
    "fi": (
        "[Kesken]",
        "Kesken: asiakas halusi puhua ihmisen kanssa ennen kuin vastasi kaikkiin kysymyksiin.",
        "Vielä vastaamatta: Mittarilukema, Mitä tarvitset?",
        "Ennen yhteydenottoa asiakas luki nämä vastaukset, jotka eivät auttaneet:",
    ),
    "sv": (
        "[Ofullständig]",
        "Ofullständig: kunden ville tala med en person innan alla frågor var besvarade.",
        "Ännu obesvarade: Mätarställning, Vad behöver du?",
        "Innan kunden kontaktade oss läste hen de här svaren, som inte hjälpte:",
    ),
    "en": (
        "[Incomplete]",
        "Incomplete: the customer chose to talk to a person before answering every question.",
        "Not answered yet: Mileage, What do you need?",
        "Before contacting us, the customer read these answers, which did not help:",
    ),
}


def unfinished(car: tuple[Form, StoredSubmission], context: Any = CONTEXT) -> StoredSubmission:
    """The car-service sample without the mileage and the service, as stored
    for an incomplete contact."""
    form, sub = car
    data = {k: v for k, v in sub.data.items() if k not in ("mileage", "service", "symptoms")}
    return submission(form, data, context=context)


@pytest.mark.parametrize("locale", ["fi", "sv", "en"])
def test_an_incomplete_contact_is_marked_in_the_agents_language(
    car: tuple[Form, StoredSubmission], locale: str
) -> None:
    form, _ = car
    marker, line, missing, faq = INCOMPLETE[locale]
    msg = build(form, unfinished(car), locale=locale)
    assert msg["Subject"] == f"[CAR-4F7K2Q] {marker} ABC-123 Toyota Corolla 2018"
    text = plain(msg).split("\n")
    # The intro and the customer's language, then the mark with what is
    # missing, then the FAQ answers read.
    assert text[2:10] == [
        "",
        line,
        missing,
        "",
        faq,
        "- Milloin talvirenkaat?",
        "- Säilytättekö renkaat?",
        "",
    ]
    assert text[10] == CAR_LINES[locale][0]  # then the answers given, as always
    assert not [row for row in text if row.startswith(CAR_LINES[locale][2].split(":")[0])]
    page = html_part(msg)
    assert f"<strong>{line}</strong>" in page
    assert missing in page
    assert "<ul>\n<li>Milloin talvirenkaat?</li>\n<li>Säilytättekö renkaat?</li>\n</ul>" in page
    assert page.index(missing) < page.index("<table")


def test_only_the_faq_answers_read(car: tuple[Form, StoredSubmission]) -> None:
    form, sub = car
    context = {"faq": CONTEXT["faq"]}
    msg = build(form, submission(form, sub.data, context=context), locale="en")
    assert msg["Subject"] == build(*car, locale="en")["Subject"]  # no mark
    text = plain(msg)
    assert "Incomplete" not in text and "Not answered" not in text
    assert (
        "Before contacting us, the customer read these answers, which did not help:\n"
        "- Milloin talvirenkaat?\n- Säilytättekö renkaat?\n\n" + CAR_LINES["en"][0]
    ) in text


def test_the_json_attachment_holds_the_context(car: tuple[Form, StoredSubmission]) -> None:
    payload = attachments(build(car[0], unfinished(car)))["CAR-4F7K2Q.json"]
    found = payload.get_payload(decode=True)
    assert isinstance(found, bytes)
    assert json.loads(found)["context"] == CONTEXT


def test_context_text_is_escaped_and_kept_on_one_line(car: tuple[Form, StoredSubmission]) -> None:
    form, _ = car
    hostile = "<script>x</script>\r\nBcc: evil@example.com\n\nPlate: FAKE-1"
    context = {"faq": {"shown": [{"faq": "w", "entry": "e", "question": hostile}]}}
    msg = build(form, unfinished(car, context))
    text = plain(msg)
    assert "- <script>x</script> Bcc: evil@example.com Plate: FAKE-1\n" in text
    assert "\nPlate: FAKE-1" not in text and "Bcc" not in msg
    page = html_part(msg)
    assert "<script" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("context", "shown"),
    [
        # Marked incomplete, nothing known to be missing.
        ({"incomplete": True}, ["Incomplete: the customer"]),
        ({"incomplete": {"missing": "mileage"}}, ["Incomplete: the customer"]),
        # A question the form no longer has is named as stored.
        ({"incomplete": {"missing": ["gone", 3]}}, ["Not answered yet: gone\n"]),
        # An entry without its question is named by its id.
        (
            {"faq": {"shown": ["x", {"entry": "tyre-hotel"}, {"question": 5, "entry": None}]}},
            ["which did not help:\n- tyre-hotel\n\n"],
        ),
        ({"faq": []}, []),
        ({"faq": {"shown": {}}}, []),
        ({"other": 1}, []),
    ],
)
def test_a_malformed_context_shows_what_can_be_read(
    car: tuple[Form, StoredSubmission], context: dict[str, Any], shown: list[str]
) -> None:
    form, sub = car
    text = plain(build(form, submission(form, sub.data, context=context), locale="en"))
    for words in shown:
        assert words in text
    if not shown:
        assert text == plain(build(*car, locale="en"))


def test_an_incomplete_contact_reaches_agents_through_the_store_and_the_worker(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """submit with a context → stored → the worker sends it → the mail the
    agents receive names the FAQ answers read and what is not answered."""
    form = load_form(CAR)
    settings = settings_for(tmp_path, smtp_url=smtp.url)
    answers = {"plate": "abc123", "model": "Corolla", "email": "matti@example.com"}

    async def run() -> StoredSubmission | None:
        async with SqliteStore(tmp_path / "intake.db") as store:
            receipt = await submit(
                store,
                form,
                answers,
                channel="api",
                locale="fi",
                context={"faq": CONTEXT["faq"], "incomplete": {}},
            )
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
    assert stored.context == {
        "faq": CONTEXT["faq"],
        "incomplete": {"missing": ["mileage", "service", "name", "privacy"]},
    }
    [mail] = smtp.recorder.messages
    assert mail["Subject"] == f"[{stored.reference}] [Kesken] ABC-123 Corolla"
    text = plain(mail)
    assert (
        "Kesken: asiakas halusi puhua ihmisen kanssa ennen kuin vastasi kaikkiin kysymyksiin.\n"
        "Vielä vastaamatta: Mittarilukema, Mitä tarvitset?, Nimi, Hyväksyn, että tietojani "
        "käytetään huollon varaamiseen.\n\n"
        "Ennen yhteydenottoa asiakas luki nämä vastaukset, jotka eivät auttaneet:\n"
        "- Milloin talvirenkaat?\n- Säilytättekö renkaat?\n\n"
        "Rekisterinumero: ABC-123\n"
    ) in text
    assert "<li>Säilytättekö renkaat?</li>" in html_part(mail)


def test_preview_of_an_incomplete_contact(car: tuple[Form, StoredSubmission]) -> None:
    form, _ = car
    answers = {"plate": "abc123", "email": "matti@example.com"}
    msg = parsed(preview(form, answers, "en", context={"faq": CONTEXT["faq"], "incomplete": {}}))
    assert msg["Subject"] == "[CAR-PREVIEW] [Incomplete] ABC-123"
    text = plain(msg)
    assert (
        "Not answered yet: Make and model, Mileage, What do you need?, Name, "
        "I agree that my details are used to book the service.\n"
    ) in text
    assert "- Säilytättekö renkaat?" in text
    with pytest.raises(InvalidAnswers) as caught:
        preview(form, {"plate": "abc123"}, "en", context={"incomplete": {}})
    assert [e.field for e in caught.value.errors] == ["email"]
    with pytest.raises(InvalidAnswers):  # the same answers, not marked incomplete
        preview(form, answers, "en", context={"faq": CONTEXT["faq"]})


# -- the preview command -------------------------------------------------------


def test_preview_prints_a_parseable_eml(capsys: pytest.CaptureFixture[str]) -> None:
    data = str(EXAMPLES / "car-service" / "answers.json")
    args = ["preview", str(CAR), "--data", data, "--locale", "sv", "--mail-from", "a@example.com"]
    assert main(args) == 0
    out = capsys.readouterr().out
    msg = email.message_from_bytes(out.encode("utf-8"), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"].startswith("[CAR-PREVIEW] Reparation ABC-123")
    assert msg["From"] == "Servicebokning <a@example.com>"
    assert msg["Message-ID"] == "<CAR-PREVIEW.0@example.com>"
    assert "Registreringsnummer: ABC-123" in plain(msg)


def test_preview_of_a_form_without_email_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    form = tmp_path / "f.yaml"
    form.write_text("form: f\ntitle: F\nfields: [{name: a, type: text, label: A}]\n")
    answers = tmp_path / "a.json"
    answers.write_text('{"a": "hello"}')
    assert main(["preview", str(form), "--data", str(answers)]) == 0
    msg = email.message_from_string(capsys.readouterr().out, policy=email.policy.default)
    assert msg["To"] == "agents@example.invalid"
    assert msg["Subject"] == "[F-PREVIEW] F"


def test_preview_lists_invalid_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "bad.json"
    answers.write_text('{"plate": "x", "email": "nope", "colour": "red"}')
    assert main(["preview", str(CAR), "--data", str(answers), "--locale", "en"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert "plate: Enter a registration plate, like ABC-123. (invalid_plate)" in lines
    assert "model: Please fill in “Make and model”. (required)" in lines
    assert "colour: This form has no such question. (unknown_field)" in lines


def test_preview_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(EXAMPLES / "car-service" / "answers.json")
    assert main(["preview", str(CAR), "--data", str(tmp_path / "missing.json")]) == 1
    assert "cannot read the answers" in capsys.readouterr().err
    (tmp_path / "list.json").write_text("[1]")
    assert main(["preview", str(CAR), "--data", str(tmp_path / "list.json")]) == 1
    assert "(not_object)" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("form: broken\n")
    assert main(["preview", str(broken), "--data", data]) == 1
    assert "broken.yaml:" in capsys.readouterr().err
    assert main(["preview", str(CAR), "--data", data, "--target", "3"]) == 2
    assert "not an email target" in capsys.readouterr().err
    assert main(["preview", str(CAR), "--data", data, "--mail-from", "nobody"]) == 1
    assert "mail_from" in capsys.readouterr().err


def test_preview_of_an_incomplete_contact_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "so-far.json"
    answers.write_text('{"plate": "abc123", "email": "matti@example.com"}')
    args = ["preview", str(CAR), "--data", str(answers), "--locale", "en"]
    assert main([*args, "--incomplete"]) == 0
    msg = email.message_from_string(capsys.readouterr().out, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "[CAR-PREVIEW] [Incomplete] ABC-123"
    assert "Not answered yet: Make and model, Mileage," in plain(msg)
    # Without the option, the same answers are not enough.
    assert main(args) == 1
    assert "model: Please fill in “Make and model”. (required)" in capsys.readouterr().err
    answers.write_text('{"plate": "abc123"}')
    assert main([*args, "--incomplete"]) == 1
    assert capsys.readouterr().err == (
        "email: Enter your email address, so that we can answer you. (required)\n"
    )


LINKED = {"link": {"given": ["plate", "model"], "locked": ["plate"]}, "page": ["mileage"]}


@pytest.mark.parametrize(
    ("locale", "plate", "model", "mileage"),
    [
        (
            "en",
            "Registration plate (from the link, locked): ABC-123",
            "Make and model (from the link): Toyota Corolla 2018",
            f"Mileage (given by the page): 184,000{NBSP}km",
        ),
        (
            "fi",
            "Rekisterinumero (linkistä, lukittu): ABC-123",
            "Merkki ja malli (linkistä): Toyota Corolla 2018",
            f"Mittarilukema (sivun antama): 184{NBSP}000{NBSP}km",
        ),
    ],
)
def test_answers_a_link_or_the_page_gave_are_marked(
    car: tuple[Form, StoredSubmission], locale: str, plate: str, model: str, mileage: str
) -> None:
    form, sub = car
    msg = build(form, submission(form, sub.data, context=LINKED), locale=locale)
    lines = plain(msg).split("\n")
    assert [plate, model, mileage] == lines[3:6]
    # Typed answers are as they always are.
    assert lines[6] == CAR_LINES[locale][3]
    label, value = plate.split(": ", 1)
    assert f">{label}</th>" in html_part(msg) and f">{value}</td>" in html_part(msg)


CONFIRMING = """\
form: billing
title: Billing question
reference_prefix: BIL
locales: [fi, en]
fields:
  - {name: invoice, type: choice, label: Topic, choices: {late: Late payment, wrong: Wrong sum}}
  - {name: email, type: email, label: Email, role: reply_to}
deliver:
  - email: {to: [billing@example.com]}
autorespond: {}
"""


@pytest.mark.parametrize("public_url", ["https://forms.example.com/intake", None])
def test_the_confirmation_links_to_the_status_page(
    tmp_path: Path, smtp: SmtpServer, public_url: str | None
) -> None:
    from intakeforms.links import read_status_token

    form = load_form_text(CONFIRMING)
    settings = settings_for(
        tmp_path, smtp_url=smtp.url, secret="new-secret,old-secret", public_url=public_url
    )

    async def run() -> str:
        async with SqliteStore(tmp_path / "intake.db") as store:
            receipt = await submit(
                store, form, {"invoice": "late", "email": "maija@example.com"}, locale="fi"
            )
            worker = Worker(
                store=store,
                forms={form.id: form},
                settings=settings,
                transport=mail_transport(settings),
            )
            assert await worker.run_once() == 2
            await worker.close()
            return receipt.reference

    reference = asyncio.run(run())
    (confirmation,) = [m for m in smtp.recorder.messages if m["To"] == "maija@example.com"]
    text = plain(confirmation)
    if public_url is None:
        assert "/status/" not in text and "<a " not in html_part(confirmation)
        return
    intro = "Voit seurata viestiäsi ja nähdä aiemmat yhteydenottosi täällä:\n"
    assert intro in text
    url = text.split(intro, 1)[1].split("\n", 1)[0]
    prefix = f"https://forms.example.com/intake/status/{reference}?t="
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    read_status_token(token, reference, secrets=settings.secrets)  # signed for this reference
    assert f'<a href="{url}">{url}</a>' in html_part(confirmation)
    # The agents' mail has no such link.
    (agents,) = [m for m in smtp.recorder.messages if m["To"] == "billing@example.com"]
    assert "/status/" not in plain(agents)
