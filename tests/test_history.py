"""Agents see a customer's earlier contacts: real SQLite store, real SMTP
server (aiosmtpd), real HTTP server on loopback for webhooks and tickets.

Submissions enter through :func:`intakeforms.submit` with the service's
secret, as the web service and the command line store them; the worker
delivers them as it does in production.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from http_server import ZENDESK_TOKEN, HttpServer
from smtp_server import SmtpServer
from web_helpers import settings_for

from intakeforms import Form, load_form_text, submit
from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery.history import look_up_history
from intakeforms.intake import contact_keys
from intakeforms.mail import HistoryEntry, history_notice, make_history
from intakeforms.mail.history import History
from intakeforms.settings import Settings
from intakeforms.store import EarlierContact, SqliteStore

SECRET = "history-test-secret-0123456789abcdef"

CAR = """\
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
  - {{name: notes, type: textarea, label: Describe the problem}}
  - {{name: name, type: text, role: customer_name, label: Name}}
  - {{name: email, type: email, role: reply_to, label: Email}}
  - {{name: phone, type: phone, region: FI, label: Phone}}
deliver:
  - email: {{to: [service@example.com], locale: en}}
  - webhook: {{url: "{base}/hook"}}
  - zendesk:
      url: {base}
      email: agent@acme.example
      token_env: TEST_ZENDESK_TOKEN
"""

RETURNS = """\
form: returns
title: {en: Product return, fi: Palautus}
locales: [en, fi]
reference_prefix: RET
summary: "Return of {product}"
fields:
  - {name: product, type: text, label: Product, required: true}
  - {name: email, type: email, role: reply_to, label: Email}
  - {name: phone, type: phone, region: FI, label: Phone}
deliver:
  - email: {to: [returns@example.com], locale: en}
"""

BASE_DAY = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class StoreClock:
    """The store's clock: when the next submission is stored."""

    def __init__(self) -> None:
        self.now = BASE_DAY

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> StoreClock:
    return StoreClock()


@pytest.fixture
async def store(tmp_path: Path, clock: StoreClock) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "intake.db", clock=clock) as opened:
        yield opened


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpServer]:
    monkeypatch.setenv("TEST_ZENDESK_TOKEN", ZENDESK_TOKEN)
    with HttpServer() as running:
        yield running


@pytest.fixture
def forms(server: HttpServer) -> dict[str, Form]:
    car = load_form_text(CAR.format(base=server.url), "car-service.yaml")
    returns = load_form_text(RETURNS, "returns.yaml")
    return {car.id: car, returns.id: returns}


async def sent_at(
    store: SqliteStore, clock: StoreClock, form: Form, when: dt.datetime, **answers: Any
) -> str:
    """Submit ``answers`` as the service does, stored at ``when``; the reference."""
    clock.now = when
    receipt = await submit(store, form, answers, locale="en", secret=SECRET)
    return receipt.reference


async def deliver_all(
    store: SqliteStore,
    forms: dict[str, Form],
    settings: Settings,
    builders: int = 0,
    erased: tuple[str, ...] = (),
) -> None:
    worker = Worker(
        store=store,
        forms=forms,
        settings=settings,
        transport=mail_transport(settings),
        builders=builders,
    )
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.close()
    # An erased submission's jobs are ended by the erasure, not delivered.
    jobs = [job for job in await store.jobs() if job.reference not in erased]
    assert {job.status for job in jobs} == {"delivered"}, [(j.target, j.last_error) for j in jobs]


def mails_by_reference(smtp: SmtpServer) -> dict[str, EmailMessage]:
    return {str(m["X-Intake-Reference"]): m for m in smtp.recorder.messages}


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


@pytest.mark.anyio
@pytest.mark.parametrize("builders", [0, 1], ids=["threads", "build-process"])
async def test_the_agent_email_lists_the_customers_earlier_contacts_and_no_one_elses(
    store: SqliteStore,
    clock: StoreClock,
    forms: dict[str, Form],
    smtp: SmtpServer,
    tmp_path: Path,
    builders: int,
) -> None:
    car, returns = forms["car-service"], forms["returns"]
    first = await sent_at(
        store, clock, car, BASE_DAY, plate="abc123", service="repair", email="Matti@Example.com"
    )
    stranger = await sent_at(
        store,
        clock,
        returns,
        BASE_DAY + dt.timedelta(days=1),
        product="Kettle of someone else",
        email="liisa@example.com",
    )
    # The same customer by phone alone, written another way.
    by_phone = await sent_at(
        store,
        clock,
        returns,
        BASE_DAY + dt.timedelta(days=2),
        product="Blender",
        phone="040 123 4567",
    )
    latest = await sent_at(
        store,
        clock,
        car,
        BASE_DAY + dt.timedelta(days=3),
        plate="xyz-789",
        service="annual",
        email="matti@example.COM",
        phone="+358401234567",
    )
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET)
    await deliver_all(store, forms, settings, builders)

    mails = mails_by_reference(smtp)
    text = text_of(mails[latest])
    heading = "Earlier contacts from this customer (last 90 days):"
    assert heading in text
    listed = text.split(heading + "\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert listed == [
        f"- {by_phone} · Product return · Mar 4, 2026 9:15\u202fAM UTC · Return of Blender",
        f"- {first} · Car service · Mar 2, 2026 9:15\u202fAM UTC · Repair ABC-123",
    ]
    assert stranger not in text and "Kettle" not in text
    html = text_of(mails[latest], "html")
    assert heading in html and f"<li>{first} · Car service" in html
    assert stranger not in html
    # Earlier contacts are listed, never their other answers.
    # (the first contact's address was written "Matti@Example.com").
    assert "Matti@" not in text and "Matti@" not in html
    # The first contact of each customer has nothing earlier to show; nor
    # has the one by phone: the address before it is not its number.
    for reference in (first, stranger, by_phone):
        assert "Earlier contacts" not in text_of(mails[reference])


@pytest.mark.anyio
async def test_contacts_older_than_the_window_and_erased_ones_are_not_listed(
    store: SqliteStore,
    clock: StoreClock,
    forms: dict[str, Form],
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    car = forms["car-service"]
    answers = {"service": "repair", "email": "matti@example.com"}
    old = await sent_at(store, clock, car, BASE_DAY, plate="aaa-111", **answers)
    erased = await sent_at(
        store, clock, car, BASE_DAY + dt.timedelta(days=25), plate="bbb-222", **answers
    )
    kept = await sent_at(
        store, clock, car, BASE_DAY + dt.timedelta(days=28), plate="ccc-333", **answers
    )
    latest = await sent_at(
        store, clock, car, BASE_DAY + dt.timedelta(days=40), plate="ddd-444", **answers
    )
    assert await store.erase(erased) is not None
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET, history_days=30)
    await deliver_all(store, forms, settings, erased=(erased,))

    text = text_of(mails_by_reference(smtp)[latest])
    assert "Earlier contacts from this customer (last 30 days):" in text
    assert kept in text and "CCC-333" in text
    assert old not in text and "AAA-111" not in text
    # Erasure unties a submission from its customer: it is gone from the list.
    assert erased not in text and "BBB-222" not in text


@pytest.mark.anyio
async def test_the_webhook_and_the_ticket_carry_the_history(
    store: SqliteStore,
    clock: StoreClock,
    forms: dict[str, Form],
    server: HttpServer,
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    car, returns = forms["car-service"], forms["returns"]
    first = await sent_at(store, clock, returns, BASE_DAY, product="Blender", email="m@example.com")
    stranger = await sent_at(
        store, clock, returns, BASE_DAY, product="Kettle", email="other@example.com"
    )
    latest = await sent_at(
        store,
        clock,
        car,
        BASE_DAY + dt.timedelta(hours=5),
        plate="abc123",
        service="repair",
        email="M@EXAMPLE.COM",
    )
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret=SECRET)
    await deliver_all(store, forms, settings)

    (hook,) = [r for r in server.requests if r.path == "/hook"]
    event = hook.json()
    assert event["reference"] == latest
    assert event["history"] == [
        {
            "reference": first,
            "form": "returns",
            "submitted_at": "2026-03-02T09:15:00+00:00",
            "summary": "Return of Blender",
        }
    ]
    assert stranger not in hook.body.decode()
    # Never the earlier contact's answers: only its summary line.
    assert "m@example.com" not in json.dumps(event["history"])

    (ticket,) = server.helpdesk.tickets["zendesk"]
    body = ticket["comment"]["html_body"]
    assert "Earlier contacts from this customer (last 90 days):" in body
    assert (
        f"<li>{first} · Product return · Mar 2, 2026 9:15\u202fAM UTC · Return of Blender</li>"
        in body
    )
    assert stranger not in body


@pytest.mark.anyio
async def test_the_history_stays_whole_across_a_change_of_secret(
    store: SqliteStore,
    clock: StoreClock,
    forms: dict[str, Form],
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    returns = forms["returns"]
    clock.now = BASE_DAY
    # Stored while the old secret signed.
    before = await submit(
        store, returns, {"product": "Kettle", "email": "m@example.com"}, secret="old-secret"
    )
    clock.now = BASE_DAY + dt.timedelta(days=1)
    after = await submit(
        store, returns, {"product": "Toaster", "email": "m@example.com"}, secret="new-secret"
    )
    assert await store.contact_keys_of(before.reference) != await store.contact_keys_of(
        after.reference
    )
    settings = settings_for(tmp_path, smtp_url=smtp.url, secret="new-secret,old-secret")
    await deliver_all(store, forms, settings)
    text = text_of(mails_by_reference(smtp)[after.reference])
    assert f"- {before.reference} · Product return · " in text
    # Once the old secret is dropped, so is what only it tied together.
    stored = await store.get(after.reference)
    assert stored is not None
    dropped = settings_for(tmp_path, secret="new-secret")
    history = await look_up_history(store, forms, returns, stored, dropped)
    assert history is not None and history.entries == ()


@pytest.mark.anyio
async def test_without_a_secret_nothing_ties_submissions_together(
    store: SqliteStore, clock: StoreClock, forms: dict[str, Form]
) -> None:
    returns = forms["returns"]
    clock.now = BASE_DAY
    first = await submit(store, returns, {"product": "Kettle", "email": "m@example.com"})
    clock.now = BASE_DAY + dt.timedelta(days=1)
    second = await submit(store, returns, {"product": "Kettle", "email": "m@example.com"})
    assert await store.contact_keys_of(first.reference) == ()
    assert await store.contact_keys_of(second.reference) == ()


def test_contact_keys_match_however_the_customer_writes_them(forms: dict[str, Form]) -> None:
    returns = forms["returns"]
    written = contact_keys(
        returns,
        {"product": "x", "email": "Matti@EXAMPLE.com", "phone": "040 123 4567"},
        SECRET,
    )
    again = contact_keys(
        returns,
        {"product": "x", "email": "matti@example.com", "phone": "+358401234567"},
        SECRET,
    )
    assert written == again and len(written) == 2
    # A key is a hash under the secret, never the address.
    assert all(len(key) == 64 and "matti" not in key for key in written)
    assert contact_keys(returns, {"email": "matti@example.com"}, "another secret")[0] not in written
    assert contact_keys(returns, {"product": "no way to reach me"}, SECRET) == ()
    # An internationalised domain is compared in its ASCII (IDNA) form.
    assert contact_keys(returns, {"email": "matti@bücher.example"}, SECRET) == contact_keys(
        returns, {"email": "MATTI@xn--bcher-kva.example"}, SECRET
    )


def test_an_erased_or_unknown_earlier_contact_is_shown_without_a_summary(
    forms: dict[str, Form],
) -> None:
    contacts = [
        EarlierContact("RET-2222AA", "returns", BASE_DAY, erased=True),
        EarlierContact("OLD-3333BB", "gone-form", BASE_DAY, data={"x": "secret words"}),
    ]
    history = make_history(contacts, forms, days=90, locales=["en", "fi"])
    notice = history_notice(history, "fi")
    assert notice is not None
    assert notice.lines == ("Asiakkaan aiemmat yhteydenotot (viimeiset 90 päivää):",)
    assert notice.items[0] == "RET-2222AA · Palautus · 2.3.2026 9.15 UTC · vastaukset poistettu"
    assert notice.items[1] == "OLD-3333BB · gone-form · 2.3.2026 9.15 UTC"
    assert "secret words" not in repr(history)
    assert history_notice(History(days=90), "en") is None
    assert HistoryEntry("X-1", "f", BASE_DAY, {}).summary("en") is None
