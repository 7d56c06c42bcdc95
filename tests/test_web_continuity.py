"""Contacts that continue, over HTTP: prefilled links, drafts, the status page."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms import load_form_text
from intakeforms.links import make_draft_token, make_status_token, make_token
from intakeforms.web import create_app

SECRET = "test-secret"
CAR = next(form for form in FORMS if form.id == "car-service")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as test_client:
        yield test_client


@pytest.fixture
def mailing(tmp_path: Path) -> Iterator[TestClient]:
    """A service that can mail draft links: a public address and a secret."""
    settings = settings_for(tmp_path, public_url="https://forms.example.com")
    with TestClient(create_app(FORMS, settings)) as test_client:
        yield test_client


def store_of(client: TestClient) -> Any:
    return client.app.state.service.store  # type: ignore[attr-defined]


def call(client: TestClient, method: Any, *args: Any) -> Any:
    return client.portal.call(method, *args)  # type: ignore[union-attr]


def link(values: dict[str, Any], **options: Any) -> str:
    return make_token("car-service", values, secret=SECRET, **options)


def post(client: TestClient, answers: dict[str, Any], **extra: Any) -> Any:
    return client.post("/forms/car-service/submissions?lang=en", json={**answers, **extra})


# -- prefilled links ---------------------------------------------------------------


def test_a_link_opens_the_form_with_its_answers_and_locks_some(client: TestClient) -> None:
    token = link({"plate": "abc123", "model": "Volvo V70"}, lock=["plate"])
    page = client.get(f"/forms/car-service?lang=en&t={token}")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'<input[^>]*value="ABC-123"[^>]*readonly', html), "plate not locked"
    assert 'value="Volvo V70"' in html
    model = re.search(r'<input[^>]*id="field-model"[^>]*>', html)
    assert model is not None and "readonly" not in model.group(0)
    assert f'name="_link" value="{token}"' in html
    assert "cannot be changed" in html
    # The address holds the token: no referrer leaves the page.
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_locked_answer_keeps_the_signed_value_whatever_is_posted(client: TestClient) -> None:
    token = link({"plate": "abc123", "model": "Volvo V70"}, lock=["plate"])
    sent = post(client, {**CAR_ANSWERS, "plate": "ZZZ-999", "model": "Saab"}, _link=token)
    assert sent.status_code == 201, sent.text
    stored = call(client, store_of(client).get, sent.json()["reference"])
    assert stored.data["plate"] == "ABC-123"  # locked: the link's
    assert stored.data["model"] == "Saab"  # not locked: the customer's
    assert stored.context["link"] == {"given": ["model", "plate"], "locked": ["plate"]}


def test_a_damaged_or_foreign_link_says_so_and_offers_the_empty_form(client: TestClient) -> None:
    token = link({"plate": "abc123"})
    foreign = make_token("billing-question", {"invoice_number": "123"}, secret=SECRET)
    for bad in (token[:-3] + "xyz", foreign, "nonsense"):
        page = client.get(f"/forms/car-service?lang=en&t={bad}")
        assert page.status_code == 400
        assert "This link is damaged" in page.text
        assert 'href="/forms/car-service?lang=en"' in page.text
        assert bad not in page.text


def test_a_link_signed_with_another_secret_is_damaged(client: TestClient) -> None:
    token = make_token("car-service", {"plate": "abc123"}, secret="someone-else")
    assert client.get(f"/forms/car-service?t={token}").status_code == 400


def test_an_expired_link_opens_the_empty_form_with_a_notice(client: TestClient) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    token = link({"plate": "abc123"}, expires=dt.timedelta(days=7), now=old)
    page = client.get(f"/forms/car-service?lang=en&t={token}")
    assert page.status_code == 200
    assert "has expired, so the form below is empty" in page.text
    assert 'value="ABC-123"' not in page.text and "_link" not in page.text


def test_a_single_use_link_used_again_gives_the_first_reference(client: TestClient) -> None:
    token = link({"plate": "abc123"}, once=True)
    first = post(client, CAR_ANSWERS, _link=token)
    assert first.status_code == 201
    reference = first.json()["reference"]
    again = post(client, CAR_ANSWERS, _link=token)
    assert again.status_code == 409
    assert again.json()["reference"] == reference
    page = client.get(f"/forms/car-service?lang=en&t={token}")
    assert "This link has already been used" in page.text and reference in page.text
    assert call(client, store_of(client).count) == 1


def test_a_link_cannot_smuggle_an_answer_the_form_refuses(client: TestClient) -> None:
    token = link({"plate": "abc123", "mileage": 5})  # sign what make_link would refuse
    raw = make_token("car-service", {"plate": "not a plate!!", "model": "Volvo"}, secret=SECRET)
    html = client.get(f"/forms/car-service?lang=en&t={raw}").text
    assert "not a plate!!" not in html and 'value="Volvo"' in html
    assert client.get(f"/forms/car-service?t={token}").status_code == 200


def test_the_widget_spec_carries_the_prefill(client: TestClient) -> None:
    token = link({"plate": "abc123"}, lock=["plate"])
    spec = client.get(f"/forms/car-service/spec.json?lang=en&t={token}").json()
    assert spec["prefill"] == {"values": {"plate": "ABC-123"}, "locked": ["plate"], "link": token}
    assert client.get("/forms/car-service/spec.json?t=broken").json()["prefill_error"] == (
        "damaged"
    )


def test_a_form_sent_back_with_errors_keeps_its_link(client: TestClient) -> None:
    token = link({"plate": "abc123"}, lock=["plate"])
    page = client.post("/forms/car-service/submissions?lang=en", data={"_link": token})
    assert page.status_code == 422
    assert f'name="_link" value="{token}"' in page.text
    assert re.search(r'<input[^>]*value="ABC-123"[^>]*readonly', page.text)


# -- drafts ----------------------------------------------------------------------


def save_draft(client: TestClient, data: dict[str, Any], email: str = "matti@example.com") -> Any:
    return client.post("/forms/car-service/drafts?lang=fi", json={"data": data, "email": email})


def test_a_draft_is_kept_and_reopened_by_its_link(mailing: TestClient) -> None:
    answer = save_draft(mailing, {"plate": "abc123", "model": "Volvo", "nonsense": 1})
    assert answer.status_code == 202, answer.text
    expires = dt.datetime.fromisoformat(answer.json()["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(7)
    store = store_of(mailing)
    (draft,) = call(mailing, store.drafts_of, "MATTI@example.com")
    assert draft.data == {"plate": "abc123", "model": "Volvo"} and draft.locale == "fi"
    token = make_draft_token(draft.id, "car-service", secret=SECRET)
    page = mailing.get(f"/forms/car-service?lang=fi&d={token}")
    assert 'value="ABC-123"' in page.text and 'value="Volvo"' in page.text
    assert "readonly" not in page.text
    # Sent, the draft is gone.
    sent = post(mailing, CAR_ANSWERS, _draft=token)
    assert sent.status_code == 201
    assert call(mailing, store.get_draft, draft.id) is None
    again = mailing.get(f"/forms/car-service?lang=en&d={token}")
    assert "The saved answers are no longer kept" in again.text


@pytest.mark.parametrize("email", ["", "not an address", None])
def test_a_draft_needs_an_email_address(mailing: TestClient, email: Any) -> None:
    answer = save_draft(mailing, {"plate": "abc123"}, email)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "email"


def test_drafts_need_an_address_to_mail_links_from(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        answer = save_draft(client, {"plate": "abc123"})
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "drafts_off"


def test_a_draft_with_text_no_store_keeps_is_422_naming_the_answers(
    mailing: TestClient,
) -> None:
    """A lone surrogate (what a browser's JSON.stringify makes of half an
    emoji) is valid JSON: refused as answers that cannot be kept, not as a
    body that is not JSON, and nothing is saved."""
    body = b'{"data": {"model": "Volvo \\ud83d"}, "email": "matti@example.com"}'
    answer = mailing.post(
        "/forms/car-service/drafts?lang=fi",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["code"], error["field"]) == ("invalid_text", "data")
    assert call(mailing, store_of(mailing).drafts_of, "matti@example.com") == []


def test_drafts_are_limited_per_address(mailing: TestClient) -> None:
    codes = [save_draft(mailing, {"plate": "abc123"}).status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]
    assert save_draft(mailing, {}, "other@example.com").status_code == 202


def test_two_services_on_one_store_count_an_address_together(tmp_path: Path) -> None:
    """As the processes of serve --workers or instances behind a balancer:
    the limit is the store's, not each process's."""
    settings = settings_for(tmp_path, public_url="https://forms.example.com")
    with (
        TestClient(create_app(FORMS, settings)) as one,
        TestClient(create_app(FORMS, settings)) as two,
    ):
        codes = [save_draft(c, {"plate": "abc123"}).status_code for c in (one, two) * 3]
    assert codes == [202] * 5 + [429]
    with sqlite3.connect(tmp_path / "intake.db") as db:
        kept = " ".join(str(row) for row in db.execute("SELECT * FROM rate_hits"))
    assert "example.com" not in kept  # the address only as an HMAC


# -- the status page ---------------------------------------------------------------


def test_the_status_page_shows_the_contact_and_the_earlier_ones(client: TestClient) -> None:
    first = post(client, CAR_ANSWERS).json()["reference"]
    other = post(client, {**CAR_ANSWERS, "email": "someone@example.com"}).json()["reference"]
    second = post(client, CAR_ANSWERS).json()["reference"]
    token = make_status_token(second, secret=SECRET)
    page = client.get(f"/status/{second}?t={token}&lang=en")
    assert page.status_code == 200
    assert f"Your message {second}" in page.text and "Received" in page.text
    assert first in page.text  # the same customer's earlier contact
    assert other not in page.text  # never another customer's
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_status_link_for_another_reference_is_damaged(client: TestClient) -> None:
    one = post(client, CAR_ANSWERS).json()["reference"]
    two = post(client, CAR_ANSWERS).json()["reference"]
    token = make_status_token(one, secret=SECRET)
    page = client.get(f"/status/{two}?t={token}&lang=en")
    assert page.status_code == 400 and two not in page.text.replace(f"/status/{two}", "")
    assert client.get(f"/status/{one}?lang=en").status_code == 400


def test_two_posts_racing_with_a_single_use_link_store_one(tmp_path: Path) -> None:
    import anyio
    import httpx

    token = link({"plate": "abc123"}, once=True)
    app = create_app(FORMS, settings_for(tmp_path))

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answers: list[httpx.Response] = []

            async def send() -> None:
                answers.append(
                    await http.post(
                        "/forms/car-service/submissions?lang=en",
                        json={**CAR_ANSWERS, "_link": token},
                    )
                )

            async with anyio.create_task_group() as group:
                for _ in range(4):
                    group.start_soon(send)
            store = app.state.service.store
            assert await store.count() == 1
            await app.state.service.shut()
            return answers

    # In a thread of its own: a browser test's event loop may be running here.
    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(anyio.run, race).result()
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409, 409]
    first = next(a for a in answers if a.status_code == 201).json()["reference"]
    assert {a.json()["reference"] for a in answers} == {first}


# -- hidden questions: answered by the page's address --------------------------------

SHOP = load_form_text(
    """\
form: order-question
title: Order question
locales: [en, fi]
fields:
  - {name: order, type: hidden, label: Order number, pattern: "[0-9]{4,10}"}
  - {name: campaign, type: hidden, label: Campaign}
  - {name: question, type: textarea, label: Your question, required: true}
  - {name: email, type: email, role: reply_to, label: Email, required: true}
""",
    "order-question.yaml",
)
SHOP_ANSWERS = {"question": "Where is my parcel?", "email": "matti@example.com"}


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, public_url="https://forms.example.com")
    with TestClient(create_app([SHOP], settings)) as test_client:
        yield test_client


def hidden_value(html: str, name: str) -> str | None:
    found = re.search(
        rf'<input value="([^"]*)" id="field-{name}" name="{name}" type="hidden"', html
    )
    return None if found is None else found.group(1)


def test_the_address_answers_hidden_questions(shop: TestClient) -> None:
    page = shop.get("/forms/order-question?lang=en&order=1234&campaign=%20spring%20")
    assert page.status_code == 200
    assert hidden_value(page.text, "order") == "1234"
    assert hidden_value(page.text, "campaign") == "spring"  # as the server reads it
    # Never asked: no label, and the question the customer answers is there.
    assert "Order number" not in page.text and 'for="field-question"' in page.text
    # A value the question refuses is left out: the customer could not correct it.
    refused = shop.get("/forms/order-question?lang=en&order=12ab&campaign=a%0Ab")
    assert hidden_value(refused.text, "order") == ""
    assert hidden_value(refused.text, "campaign") == ""
    # Other parameters are no answers.
    other = shop.get("/forms/order-question?lang=en&question=injected")
    assert "injected" not in other.text


def test_a_link_answer_wins_over_the_address(shop: TestClient) -> None:
    token = make_token("order-question", {"order": "5555"}, secret=SECRET)
    page = shop.get(f"/forms/order-question?lang=en&order=1234&t={token}")
    assert hidden_value(page.text, "order") == "5555"


def test_the_context_lists_what_the_page_gave(shop: TestClient) -> None:
    sent = shop.post(
        "/forms/order-question/submissions?lang=en",
        data={**SHOP_ANSWERS, "order": "1234", "campaign": "spring", "_token": "x"},
        headers={"accept": "application/json"},
    )
    assert sent.status_code == 201, sent.text
    stored = call(shop, store_of(shop).get, sent.json()["reference"])
    assert stored.data["order"] == "1234"
    assert stored.context["page"] == ["order", "campaign"]
    # Not answered: not listed, and no "page" at all without any.
    plain = shop.post("/forms/order-question/submissions?lang=en", json=SHOP_ANSWERS)
    assert "page" not in (call(shop, store_of(shop).get, plain.json()["reference"]).context or {})
    # One a link gave is the link's.
    token = make_token("order-question", {"order": "5555"}, secret=SECRET)
    linked = shop.post(
        "/forms/order-question/submissions?lang=en",
        json={**SHOP_ANSWERS, "order": "5555", "campaign": "spring", "_link": token},
    )
    context = call(shop, store_of(shop).get, linked.json()["reference"]).context
    assert context["page"] == ["campaign"] and context["link"]["given"] == ["order"]


def test_a_refused_hidden_answer_is_refused_like_text(shop: TestClient) -> None:
    sent = shop.post(
        "/forms/order-question/submissions?lang=en", json={**SHOP_ANSWERS, "order": "x"}
    )
    assert sent.status_code == 422
    assert [(e["field"], e["code"]) for e in sent.json()["errors"]] == [("order", "pattern")]


def test_continue_later_is_offered_where_links_can_be_mailed(
    shop: TestClient, client: TestClient
) -> None:
    page = shop.get("/forms/order-question?lang=fi").text
    assert 'data-intake-drafts="/forms/order-question/drafts?lang=fi"' in page
    assert '<script src="/assets/drafts.js" defer></script>' in page
    assert "Jatka myöhemmin sähköpostilinkillä" in page
    assert shop.get("/assets/drafts.js").status_code == 200
    # Without INTAKE_PUBLIC_URL no mail could carry the link: not offered.
    plain = client.get("/forms/car-service?lang=fi").text
    assert "data-intake-drafts" not in plain and "drafts.js" not in plain


def test_a_link_prefills_a_conditional_answer_and_never_a_sensitive_one(
    client: TestClient,
) -> None:
    # "symptoms" is asked only for a repair: the link gives it all the same,
    # and the page shows it once the customer picks a repair.
    token = link({"symptoms": "Kolisee."})
    assert "Kolisee." in client.get(f"/forms/car-service?lang=en&t={token}").text
    # A token that carries a sensitive answer (a portal may sign anything):
    # the form opens without it, not with an error.
    signed = make_token(
        "address-change", {"name": "Matti", "national_id": "311280-888Y"}, secret=SECRET
    )
    page = client.get(f"/forms/address-change?lang=en&t={signed}")
    assert page.status_code == 200
    assert 'value="Matti"' in page.text and "311280-888Y" not in page.text


def test_a_draft_keeps_no_sensitive_answer(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, public_url="https://forms.example.com")
    with TestClient(create_app(FORMS, settings)) as client:
        answer = client.post(
            "/forms/address-change/drafts?lang=en",
            json={
                "data": {"name": "Matti", "national_id": "311280-888Y"},
                "email": "m@example.com",
            },
        )
        assert answer.status_code == 202
        (kept,) = call(client, store_of(client).drafts_of, "m@example.com")
    assert kept.data == {"name": "Matti"}
