"""Contacts that continue, over HTTP: prefilled links, drafts, the status page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, settings_for

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
    assert answer.status_code == 503
    assert answer.json()["errors"][0]["code"] == "drafts_off"


def test_drafts_are_limited_per_address(mailing: TestClient) -> None:
    codes = [save_draft(mailing, {"plate": "abc123"}).status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]
    assert save_draft(mailing, {}, "other@example.com").status_code == 202


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

    answers = anyio.run(race)
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409, 409]
    first = next(a for a in answers if a.status_code == 201).json()["reference"]
    assert {a.json()["reference"] for a in answers} == {first}
