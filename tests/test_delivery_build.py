"""A job that can never be built is dead at once, with its reason.

Building a mail, ticket or payload is computation on stored data: what
fails once fails on every retry. Such a job goes to ``dead`` on its first
attempt, naming the answer and the kind of error (never the answer's
value), and the other jobs of the batch are delivered. The submissions are
stored straight through the store, as data written before a check existed
(or by another program) would be: a number of 4,000 digits, one of 1e300.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from http_server import ZENDESK_TOKEN, HttpServer
from smtp_server import SmtpServer
from test_delivery import CAR, Clock, save, store
from test_delivery_http import server
from web_helpers import CAR_ANSWERS, settings_for

from intakeforms import load_form_text
from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery.unbuildable import build_error
from intakeforms.errors import BuildError
from intakeforms.mail import answer_rows
from intakeforms.store import SqliteStore, StoredSubmission

# The fixtures, shared with test_delivery and test_delivery_http.
__all__ = ["server", "store"]

HUGE = 10**4000  # JSON can hold it; babel cannot format it
FORM_TEXT = """\
form: garage
title: Garage
locales: [en]
reference_prefix: GAR
fields:
  - {{name: plate, type: plate, region: FI, label: Registration plate, required: true}}
  - {{name: mileage, type: integer, unit: km, label: Mileage}}
  - {{name: name, type: text, role: customer_name, label: Name}}
  - {{name: email, type: email, role: reply_to, label: Email, required: true}}
deliver:
  - email: {{to: [service@example.com]}}
  - zendesk:
      url: {base}
      email: agent@acme.example
      token_env: TEST_ZENDESK_TOKEN
autorespond:
  intro: Thank you!
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def good_car() -> dict[str, Any]:
    return dict(CAR.validate(CAR_ANSWERS))


@pytest.mark.anyio
@pytest.mark.parametrize("builders", [0, 1], ids=["threads", "build-process"])
async def test_a_mail_that_cannot_be_built_is_dead_at_once_and_the_others_go(
    store: SqliteStore,
    smtp: SmtpServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    builders: int,
) -> None:
    first = await save(store, CAR, good_car(), ["email:0"])
    huge = await save(store, CAR, {**good_car(), "mileage": HUGE}, ["email:0"])
    far = await save(store, CAR, {**good_car(), "mileage": 1e300}, ["email:0"])
    # An unknown choice is shown as its key: odd, but it can be built.
    odd = await save(store, CAR, {**good_car(), "service": "tyres"}, ["email:0"])
    last = await save(store, CAR, good_car(), ["email:0"])
    settings = settings_for(tmp_path, smtp_url=smtp.url)
    delivering = Worker(
        store=store,
        forms={CAR.id: CAR},
        settings=settings,
        transport=mail_transport(settings),
        clock=Clock(),
        builders=builders,
    )
    caplog.set_level(logging.DEBUG, logger="intakeforms")
    try:
        assert await delivering.run_once() == 5
        assert await delivering.run_once() == 0  # nothing left to retry
    finally:
        await delivering.close()
    jobs = {job.reference: job for job in await store.jobs()}
    assert {r: jobs[r].status for r in (first, odd, last)} == dict.fromkeys(
        (first, odd, last), "delivered"
    )
    for reference in (huge, far):
        job = jobs[reference]
        assert (job.status, job.attempts) == ("dead", 1)
        assert job.last_error is not None
        assert job.last_error.startswith(
            "cannot build the agent email: the stored answer to 'mileage' cannot be "
            "written (InvalidOperation)"
        )
        assert "outbox retry" in job.last_error
        assert "0000" not in job.last_error and "e+300" not in job.last_error
    delivered = sorted(str(m["X-Intake-Reference"]) for m in smtp.recorder.messages)
    assert delivered == sorted([first, odd, last])
    assert "'mileage'" in caplog.text
    assert "0000" not in caplog.text and "Meikäläinen" not in caplog.text


@pytest.mark.anyio
async def test_a_ticket_that_cannot_be_built_is_dead_at_once(
    store: SqliteStore,
    smtp: SmtpServer,
    server: HttpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_ZENDESK_TOKEN", ZENDESK_TOKEN)
    form = load_form_text(FORM_TEXT.format(base=server.url), "garage.yaml")
    answers = {"plate": "abc123", "mileage": 184000, "name": "Matti", "email": "m@example.com"}
    # The confirmation repeats no number: it can be built, and is sent.
    targets = ["email:0", "zendesk:1", "autoreply"]
    good = await save(store, form, dict(form.validate(answers)), targets)
    bad = await save(store, form, {**form.validate(answers), "mileage": HUGE}, targets)
    settings = settings_for(tmp_path, smtp_url=smtp.url)
    delivering = Worker(
        store=store,
        forms={form.id: form},
        settings=settings,
        transport=mail_transport(settings),
        clock=Clock(),
    )
    try:
        assert await delivering.run_once() == 6
    finally:
        await delivering.close()
    jobs = await store.jobs()
    assert {j.target: j.status for j in jobs if j.reference == good} == dict.fromkeys(
        targets, "delivered"
    )
    errors = {j.target: (j.status, j.attempts, j.last_error) for j in jobs if j.reference == bad}
    assert errors.pop("autoreply")[0] == "delivered"
    what = {"email:0": "the agent email", "zendesk:1": "the Zendesk ticket"}
    for target, (status, attempts, error) in errors.items():
        assert (status, attempts) == ("dead", 1), target
        assert error is not None and error.startswith(
            f"cannot build {what[target]}: the stored answer to 'mileage' cannot be written "
            "(InvalidOperation)"
        )
    # The good submission's ticket was the only request: nothing was sent for the bad one.
    assert len(server.requests) == 1
    assert len(server.helpdesk.tickets["zendesk"]) == 1


def stored(data: dict[str, Any]) -> StoredSubmission:
    return StoredSubmission(
        "CAR-4F7K2Q", CAR.id, CAR.version, "fi", data, (), dt.datetime.now(dt.UTC), False, None
    )


def test_a_build_error_names_every_answer_at_fault() -> None:
    def rows(submission: StoredSubmission) -> object:
        return answer_rows(CAR, submission, "fi")

    # Too long for Python to write as text: a ValueError that says so.
    longer = 10**5000
    submission = stored({**good_car(), "mileage": longer, "symptoms": longer})
    with pytest.raises(ValueError, match="integer string conversion") as caught:
        rows(submission)
    error = build_error("the rows", caught.value, submission, rows)
    assert isinstance(error, BuildError) and error.field == "mileage"
    assert error.cause == "ValueError"
    assert str(error).startswith(
        "cannot build the rows: the stored answers to 'mileage', 'symptoms' cannot be written "
        "(ValueError)"
    )


def test_a_build_error_of_the_settings_keeps_its_words() -> None:
    refusal = "mail_from 'intake@' is not an email address"

    def refuse(submission: StoredSubmission) -> object:
        raise ValueError(refusal)

    error = build_error("the agent email", ValueError(refusal), stored(good_car()), refuse)
    assert error.field is None
    assert str(error) == f"cannot build the agent email: {refusal}"
