"""intake: the one way a submission is stored, and the names of its delivery jobs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from intakeforms import (
    Form,
    InvalidAnswers,
    JobTarget,
    Store,
    load_form_text,
    open_store,
    submit,
)
from intakeforms.intake import contact_keys, job_targets
from intakeforms.store import DraftRecord
from intakeforms.validate import check_partial

FORM = """\
form: billing
title: Billing question
reference_prefix: BIL
locales: [fi, en]
fields:
  - {name: invoice, type: text, label: Invoice number, required: true}
  - {name: email, type: email, label: Email, role: reply_to}
  - {name: name, type: text, label: Name, role: customer_name}
deliver:
  - email: {to: [billing@example.com]}
  - webhook: {url: "https://hooks.example.com/billing"}
autorespond: {}
"""


@pytest.fixture
def form() -> Form:
    return load_form_text(FORM)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'intake.db'}")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def test_a_job_target_reads_back_what_the_outbox_stores() -> None:
    for name, target in [
        ("email:0", JobTarget("email", 0)),
        ("zendesk:12", JobTarget("zendesk", 12)),
        ("autoreply", JobTarget("autoreply")),
    ]:
        assert JobTarget.parse(name) == target
        assert str(target) == name
    assert JobTarget("autoreply").autoreply and not JobTarget("email", 0).autoreply
    for unknown in ("email", "email:", ":0", "email:-1", "email:²", "email:0x1", ""):
        assert JobTarget.parse(unknown) is None, unknown


def test_the_confirmation_needs_an_address(form: Form) -> None:
    with_address = job_targets(form, {"invoice": "1", "email": "maija@example.com"})
    assert [str(t) for t in with_address] == ["email:0", "webhook:1", "autoreply"]
    assert [str(t) for t in job_targets(form, {"invoice": "1", "email": "  "})] == [
        "email:0",
        "webhook:1",
    ]


@pytest.mark.anyio
async def test_submit_validates_stores_and_queues(
    form: Form, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intakeforms.intake")
    receipt = await submit(
        store,
        form,
        {"invoice": " 2026-0042 ", "email": "maija@example.com", "name": "Maija"},
        channel="cli",
        locale="en",
    )
    assert receipt.reference.startswith("BIL-") and receipt.created and not receipt.spam
    assert receipt.answers["invoice"] == "2026-0042"
    stored = await store.get(receipt.reference)
    assert stored is not None
    assert (stored.locale, stored.data["invoice"]) == ("en", "2026-0042")
    jobs = [job.target for job in await store.outbox(receipt.reference)]
    assert jobs == ["email:0", "webhook:1", "autoreply"]
    assert f"billing: stored {receipt.reference} via cli" in caplog.text
    assert "maija" not in caplog.text.lower()


@pytest.mark.anyio
async def test_answers_that_do_not_fit_store_nothing(form: Form, store: Store) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        await submit(store, form, {"email": "not an address"}, locale="fi")
    assert sorted(e.field for e in caught.value.errors) == ["email", "invoice"]
    assert await store.count() == 0


@pytest.mark.anyio
async def test_a_repeated_key_gives_the_first_reference(form: Form, store: Store) -> None:
    first = await submit(store, form, {"invoice": "1"}, idempotency_key="k-1")
    again = await submit(store, form, {"invoice": "2"}, idempotency_key="k-1")
    assert (again.reference, again.created) == (first.reference, False)
    assert await store.count() == 1


@pytest.mark.anyio
async def test_spam_is_kept_without_deliveries(
    form: Form, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intakeforms.intake")
    receipt = await submit(
        store, form, {"invoice": "1", "email": "bot@example.com"}, spam_reason="honeypot filled"
    )
    assert receipt.spam
    assert await store.outbox(receipt.reference) == []
    assert await store.count(spam=True) == 1
    assert "as spam, kept for review" in caplog.text


@pytest.mark.anyio
async def test_a_locale_the_form_lacks_is_its_default(form: Form, store: Store) -> None:
    receipt = await submit(store, form, {"invoice": "1"}, locale="de")
    stored = await store.get(receipt.reference)
    assert stored is not None and stored.locale == "fi"


# -- context: the FAQ answers read, an incomplete contact ---------------------

SHOWN = {
    "search": "0123456789abcdef0123456789abcdef",
    "shown": [{"faq": "billing", "entry": "due-date", "question": "When is my invoice due?"}],
}


@pytest.mark.anyio
async def test_an_incomplete_contact_is_stored_with_what_is_missing(
    form: Form, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intakeforms.intake")
    receipt = await submit(
        store,
        form,
        {"email": "maija@example.com", "name": "Maija Meikäläinen"},
        channel="api",
        locale="en",
        context={"faq": SHOWN, "incomplete": {}},
    )
    assert receipt.created and receipt.answers == {
        "email": "maija@example.com",
        "name": "Maija Meikäläinen",
    }
    assert receipt.context == {"faq": SHOWN, "incomplete": {"missing": ["invoice"]}}
    # Delivered like any other: every target and the confirmation.
    jobs = [job.target for job in await store.outbox(receipt.reference)]
    assert jobs == ["email:0", "webhook:1", "autoreply"]
    assert f"billing: stored {receipt.reference} via api (incomplete)" in caplog.text
    assert "maija" not in caplog.text.lower() and "invoice" not in caplog.text


@pytest.mark.anyio
async def test_an_incomplete_contact_must_leave_a_way_to_answer(form: Form, store: Store) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        await submit(store, form, {"invoice": "1"}, locale="en", context={"incomplete": {}})
    assert [(e.field, e.code) for e in caught.value.errors] == [("email", "required")]
    assert "so that we can answer you" in caught.value.errors[0].message
    assert await store.count() == 0


@pytest.mark.anyio
async def test_answers_check_partial_returned_are_not_checked_again(
    form: Form, store: Store
) -> None:
    clean, missing, errors = check_partial(form, {"email": "maija@example.com"}, "en")
    assert (missing, errors) == (["invoice"], [])
    context = {"incomplete": {"missing": missing}}
    receipt = await submit(store, form, clean, context=context)
    assert receipt.created and receipt.context == context


@pytest.mark.anyio
async def test_without_incomplete_every_answer_is_still_required(form: Form, store: Store) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        await submit(store, form, {"email": "maija@example.com"}, context={"faq": SHOWN})
    assert [e.field for e in caught.value.errors] == ["invoice"]
    receipt = await submit(store, form, {"invoice": "1"}, context={"faq": SHOWN})
    assert receipt.context == {"faq": SHOWN}
    assert (await submit(store, form, {"invoice": "2"}, context={})).context is None


@pytest.mark.anyio
async def test_a_context_that_cannot_be_stored_is_refused_first(form: Form, store: Store) -> None:
    for bad, words in (
        ({"faq": {"at": object()}}, "JSON-able"),
        ({"faq": float("nan")}, "JSON-able"),
        (["incomplete"], "mapping"),
    ):
        with pytest.raises(ValueError, match=words):
            await submit(store, form, {"invoice": "1"}, context=bad)  # type: ignore[arg-type]
    assert await store.count() == 0


@pytest.mark.anyio
async def test_the_secret_ties_a_customers_submissions_together(form: Form, store: Store) -> None:
    secret = "intake-test-secret"
    first = await submit(store, form, {"invoice": "1", "email": "Maija@Example.com"}, secret=secret)
    second = await submit(
        store, form, {"invoice": "2", "email": "maija@example.COM"}, secret=secret
    )
    other = await submit(store, form, {"invoice": "3", "email": "pekka@example.com"}, secret=secret)
    keys = await store.contact_keys_of(second.reference)
    assert (
        keys
        == await store.contact_keys_of(first.reference)
        == contact_keys(form, second.answers, secret)
    )
    # The store keeps a hash, never the address.
    assert all("maija" not in key.lower() for key in keys)
    assert await store.contact_keys_of(other.reference) != keys
    stored = await store.get(first.reference)
    assert stored is not None
    earlier = await store.earlier_contacts(
        keys, before_reference=second.reference, since=stored.submitted_at
    )
    assert [c.reference for c in earlier] == [first.reference]


@pytest.mark.anyio
async def test_spam_and_a_call_without_secret_keep_no_contact_keys(
    form: Form, store: Store
) -> None:
    spam = await submit(
        store,
        form,
        {"invoice": "1", "email": "maija@example.com"},
        spam_reason="honeypot filled",
        secret="s",
    )
    plain = await submit(store, form, {"invoice": "2", "email": "maija@example.com"})
    assert await store.contact_keys_of(spam.reference) == ()
    assert await store.contact_keys_of(plain.reference) == ()


@pytest.mark.anyio
async def test_a_submission_that_continues_a_draft_deletes_it(form: Form, store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    draft = DraftRecord(
        id="0123456789abcdef0123456789abcdef",
        form=form.id,
        locale="en",
        data={"invoice": "2026-0042"},
        email="maija@example.com",
        created_at=now,
        expires_at=now + dt.timedelta(days=7),
    )
    await store.save_draft(draft)
    assert await store.get_draft(draft.id) is not None
    await submit(store, form, {"invoice": "2026-0042"}, draft=draft.id)
    assert await store.get_draft(draft.id) is None
