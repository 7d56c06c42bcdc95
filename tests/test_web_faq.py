"""Self-service over HTTP: search, answer pages, feedback and the handover."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms.faq.load import load_faq_text, load_faqs
from intakeforms.web import create_app

FAQS = load_faqs([EXAMPLES], forms=FORMS)
WINTER = "milloin talvirenkaat pitää vaihtaa"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FORMS, settings_for(tmp_path), faqs=FAQS)) as test_client:
        yield test_client


def stored_search(client: TestClient, search: str) -> Any:
    store = client.app.state.service.store  # type: ignore[attr-defined]
    return client.portal.call(store.faq_search, search)  # type: ignore[union-attr]


def stored_submission(client: TestClient, reference: str) -> Any:
    store = client.app.state.service.store  # type: ignore[attr-defined]
    return client.portal.call(store.get, reference)  # type: ignore[union-attr]


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    answer = client.get("/faq/search", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# -- search --------------------------------------------------------------------


def test_a_finnish_winter_tyre_question_finds_its_answer(client: TestClient) -> None:
    body = search(client, q=WINTER, lang="fi")
    assert body["lang"] == "fi"
    assert re.fullmatch(r"[0-9a-f]{32}", body["search"])
    best = body["results"][0]
    assert (best["faq"], best["id"]) == ("workshop", "winter-tyres")
    assert best["question"] == "Milloin talvirenkaat pitää vaihtaa alle?"
    assert best["answer_html"].startswith("<p>") and "joulukuun" in best["answer_html"]
    assert best["url"] == "/faq/workshop/winter-tyres?lang=fi"
    assert 0 < best["score"] <= 1
    assert [r["score"] for r in body["results"]] == sorted(
        (r["score"] for r in body["results"]), reverse=True
    )


def test_inflected_and_misspelt_words_in_swedish_and_english(client: TestClient) -> None:
    assert search(client, q="kan ni förvara däcken på däckhotellet", lang="sv")["results"][0][
        "id"
    ] == ("tyre-hotel")
    assert search(client, q="when do i put on wintr tyres", lang="en")["results"][0]["id"] == (
        "winter-tyres"
    )


def test_nothing_matches_well_no_answer_but_the_search_is_counted(client: TestClient) -> None:
    body = search(client, q="haluan tilata pizzan kotiin", lang="fi")
    assert body["results"] == []
    record = stored_search(client, body["search"])
    assert record.results == () and record.top_score is None
    assert record.query == "haluan tilata pizzan kotiin"


def test_an_empty_query_finds_nothing_and_records_nothing(client: TestClient) -> None:
    body = search(client, q="  ", lang="fi")
    assert body["results"] == [] and body["search"] is None


def test_a_long_query_is_cut_not_refused(client: TestClient) -> None:
    long = WINTER + " " + "ja vielä yksi asia " * 30
    body = search(client, q=long, lang="fi")
    assert body["results"][0]["id"] == "winter-tyres"
    assert stored_search(client, body["search"]).query == long[:200]


def test_an_unknown_language_searches_the_faq_default(client: TestClient) -> None:
    body = search(client, q="talvirenkaat", lang="de")
    assert body["lang"] == "fi"
    assert body["results"][0]["id"] == "winter-tyres"
    # The page's language tag with a region is its language.
    assert search(client, q="vinterdäck", lang="sv-FI")["lang"] == "sv"


def test_an_unknown_form_is_404(client: TestClient) -> None:
    answer = client.get("/faq/search", params={"q": "talvirenkaat", "form": "pizza"})
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "unknown_form"


def test_a_form_keeps_the_entries_offered_before_it(client: TestClient) -> None:
    everywhere = search(client, q="talvirenkaat", lang="fi")
    assert everywhere["results"][0]["id"] == "winter-tyres"
    returns = search(client, q="talvirenkaat", lang="fi", form="product-return")
    assert "winter-tyres" not in [r["id"] for r in returns["results"]]
    assert "topics" not in returns
    # An entry with no forms: is offered before every form.
    assert search(client, q="aukioloajat", lang="fi", form="product-return")["results"][0][
        "id"
    ] == ("opening-hours")


def test_the_words_propose_the_form_they_are_about(client: TestClient) -> None:
    assert search(client, q="laskussa on virhe", lang="fi")["topics"][0]["form"] == (
        "billing-question"
    )
    topics = search(client, q="muutin uuteen osoitteeseen", lang="fi")["topics"]
    assert topics[0] == {
        "form": "address-change",
        "title": topics[0]["title"],
        "score": topics[0]["score"],
    }
    assert topics[0]["title"] == FORMS_BY_ID["address-change"].title("fi")
    assert search(client, q="asdf qwerty", lang="fi")["topics"] == []


FORMS_BY_ID = {form.id: form for form in FORMS}


@pytest.mark.parametrize("limit", ["0", "11", "x"])
def test_a_limit_out_of_range_is_400(client: TestClient, limit: str) -> None:
    answer = client.get("/faq/search", params={"q": "talvirenkaat", "limit": limit})
    assert answer.status_code == 400
    assert answer.json()["errors"][0] == {
        "field": "limit",
        "code": "invalid_limit",
        "message": "limit must be a whole number from 1 to 10",
    }


def test_limit_caps_the_results(client: TestClient) -> None:
    assert len(search(client, q="huolto hinta aika", lang="fi", limit=1)["results"]) == 1


def test_searches_are_rate_limited_like_the_rest(tmp_path: Path) -> None:
    app = create_app(FORMS, settings_for(tmp_path, rate_limit="1/minute"), faqs=FAQS)
    with TestClient(app) as client:
        codes = [client.get("/faq/search", params={"q": "renkaat"}).status_code for _ in range(11)]
    # Searching as one types is ten times the submissions' limit.
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_nothing_of_the_client_is_recorded(client: TestClient) -> None:
    body = search(client, q=WINTER, lang="fi", channel="chat")
    record = stored_search(client, body["search"])
    assert record.channel == "chat" and record.language == "fi"
    assert record.results[0] == ("workshop", "winter-tyres")
    fields = set(getattr(record, "__dataclass_fields__", {}))
    assert not fields & {"client", "ip", "address", "user_agent"}


# -- answer pages ---------------------------------------------------------------


def test_an_answer_page_in_the_asked_language(client: TestClient) -> None:
    answer = client.get("/faq/workshop/winter-tyres?lang=sv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="sv"' in answer.text
    assert "<h1" in answer.text and "vinterdäck" in answer.text.lower()
    # The answer is tied to one form: its link goes there.
    assert 'href="/forms/car-service?lang=sv"' in answer.text
    assert "unsafe-inline" not in answer.headers["content-security-policy"]


def test_an_unknown_answer_is_404(client: TestClient) -> None:
    assert client.get("/faq/workshop/pizza").status_code == 404
    assert client.get("/faq/pizza/winter-tyres").status_code == 404


def test_markup_in_answers_is_sanitised_markdown(tmp_path: Path) -> None:
    faq = load_faq_text(
        """\
faq: tricky
locales: [en]
entries:
  - id: markup
    question: {en: Is markup safe?}
    answer:
      en: |
        **Yes.** <script>alert(1)</script> <img src=x onerror=alert(1)>
        [a link](https://example.com) [not a link](javascript:alert(1)) ![pixel](https://tracker.example/p.gif)
"""
    )
    with TestClient(create_app(FORMS, settings_for(tmp_path), faqs=[faq])) as client:
        html = search(client, q="markup safe", lang="en")["results"][0]["answer_html"]
        page = client.get("/faq/tricky/markup").text
    for text in (html, page):
        assert "<strong>Yes.</strong>" in text
        assert "<script>" not in text and "<img" not in text
        assert "&lt;script&gt;" in text
        assert '<a href="https://example.com">a link</a>' in text
        assert 'href="javascript:' not in text


# -- feedback -------------------------------------------------------------------


def feedback(client: TestClient, body: Any) -> Any:
    return client.post("/faq/feedback", json=body)


def test_feedback_on_a_shown_answer_is_recorded(client: TestClient) -> None:
    found = search(client, q=WINTER, lang="fi")
    for event in ("opened", "helpful"):
        answer = feedback(
            client, {"search": found["search"], "entry": "winter-tyres", "event": event}
        )
        assert answer.status_code == 204, answer.text
    assert feedback(client, {"search": found["search"], "event": "continued"}).status_code == 204


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"search": "0" * 32, "entry": "winter-tyres", "event": "opened"}, 404, "unknown_search"),
        ({"search": "SEARCH", "entry": "payment", "event": "opened"}, 422, "unknown_entry"),
        ({"search": "SEARCH", "event": "helpful"}, 422, "unknown_entry"),
        ({"search": "SEARCH", "entry": "winter-tyres", "event": "liked"}, 422, "invalid_event"),
        ({"search": 7, "entry": "winter-tyres", "event": "opened"}, 422, "unknown_search"),
        (["SEARCH"], 400, "not_object"),
    ],
)
def test_feedback_that_cannot_be_recorded(
    client: TestClient, body: Any, status: int, code: str
) -> None:
    found = search(client, q=WINTER, lang="fi", limit=1)
    if isinstance(body, dict) and body.get("search") == "SEARCH":
        body = {**body, "search": found["search"]}
    answer = feedback(client, body)
    assert answer.status_code == status
    assert answer.json()["errors"][0]["code"] == code


def test_feedback_must_be_json(client: TestClient) -> None:
    answer = client.post(
        "/faq/feedback", content="search=x", headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 415
    answer = client.post(
        "/faq/feedback", content="{" * 3000, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


# -- the forms and the handover -------------------------------------------------


def test_the_widget_spec_says_where_to_search(client: TestClient) -> None:
    spec = client.get("/forms/car-service/spec.json").json()
    assert spec["faq"] == "/faq/search?form=car-service"


def test_a_form_with_no_answers_offered_has_no_search(tmp_path: Path) -> None:
    faq = load_faq_text(
        "faq: cars\nlocales: [en]\nentries:\n  - id: oil\n    question: {en: Oil?}\n"
        "    answer: {en: Yes.}\n    forms: [car-service]\n"
    )
    with TestClient(create_app(FORMS, settings_for(tmp_path), faqs=[faq])) as client:
        assert "faq" in client.get("/forms/car-service/spec.json").json()
        assert "faq" not in client.get("/forms/product-return/spec.json").json()
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        assert "faq" not in client.get("/forms/car-service/spec.json").json()
        # Without FAQ files, search answers nothing (and the topics still work).
        body = search(client, q="laskussa on virhe", lang="fi")
        assert body["results"] == [] and body["topics"][0]["form"] == "billing-question"


def test_a_contact_that_saw_answers_tells_the_agent_which(client: TestClient) -> None:
    found = search(client, q="winter tyres", lang="en", form="car-service")
    shown = [r["id"] for r in found["results"]]
    answer = client.post(
        "/forms/car-service/submissions?lang=en", json={**CAR_ANSWERS, "_faq": found["search"]}
    )
    assert answer.status_code == 201, answer.text
    submission = stored_submission(client, answer.json()["reference"])
    assert submission.context["faq"]["search"] == found["search"]
    assert [item["entry"] for item in submission.context["faq"]["shown"]] == shown
    assert (
        submission.context["faq"]["shown"][0]["question"] == "When do winter tyres have to go on?"
    )
    assert "incomplete" not in submission.context


def test_an_unknown_search_adds_nothing_and_loses_nothing(client: TestClient) -> None:
    answer = client.post("/forms/car-service/submissions", json={**CAR_ANSWERS, "_faq": "f" * 32})
    assert answer.status_code == 201
    assert stored_submission(client, answer.json()["reference"]).context is None


def test_talk_to_a_person_sends_what_is_answered_so_far(client: TestClient) -> None:
    answers = {"plate": "abc123", "email": "matti@example.com", "_incomplete": True}
    answer = client.post("/forms/car-service/submissions?lang=fi", json=answers)
    assert answer.status_code == 201, answer.text
    submission = stored_submission(client, answer.json()["reference"])
    assert submission.data["plate"] == "ABC-123"
    missing = submission.context["incomplete"]["missing"]
    assert {"model", "mileage", "service", "name", "privacy"} <= set(missing)
    assert "plate" not in missing and "email" not in missing


def test_talk_to_a_person_needs_a_way_to_reach_the_customer(client: TestClient) -> None:
    answer = client.post(
        "/forms/car-service/submissions?lang=en", json={"plate": "abc123", "_incomplete": True}
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["email"]


def test_the_openapi_document_has_the_faq_routes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert {"/faq/search", "/faq/feedback", "/faq/{faq}/{entry}"} <= set(document["paths"])
    assert "FaqSearch" in document["components"]["schemas"]


def test_links_in_answers_lead_to_this_service_wherever_shown(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    # Shown in a widget on another site, "/forms/car-service" would be that site's.
    with TestClient(create_app(FORMS, settings_for(tmp_path), faqs=FAQS)) as client:
        html = search(client, q=WINTER, lang="fi")["results"][0]["answer_html"]
        assert 'href="http://testserver/forms/car-service"' in html
    host = Starlette(routes=[Mount("/help", create_app(FORMS, settings_for(tmp_path), faqs=FAQS))])
    with TestClient(host) as client:
        body = client.get("/help/faq/search", params={"q": WINTER, "lang": "fi"}).json()
        assert (
            'href="http://testserver/help/forms/car-service"' in body["results"][0]["answer_html"]
        )
        assert body["results"][0]["url"] == "/help/faq/workshop/winter-tyres?lang=fi"
        page = client.get("/help/faq/workshop/winter-tyres").text
        assert 'href="http://testserver/help/forms/car-service"' in page


def test_the_hosted_form_page_suggests_answers_where_some_are_offered(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path), faqs=FAQS)) as client:
        page = client.get("/forms/car-service?lang=fi").text
        assert 'data-faq="/faq/search?form=car-service"' in page
        assert "/assets/faq.js" in page
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        page = client.get("/forms/car-service?lang=fi").text
        assert "data-faq" not in page and "faq.js" not in page


def test_a_form_page_with_errors_keeps_the_answers_shown(client: TestClient) -> None:
    found = search(client, q="winter tyres", lang="en", form="car-service")
    page = client.post(
        "/forms/car-service/submissions?lang=en",
        data={"plate": "abc123", "_faq": found["search"]},
    )
    assert page.status_code == 422
    assert f'name="_faq" value="{found["search"]}"' in page.text
    # Corrected and sent again, the agent still learns what was read first.
    fixed = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in CAR_ANSWERS.items()}
    sent = client.post(
        "/forms/car-service/submissions?lang=en",
        data={**fixed, "privacy": "yes", "_faq": found["search"]},
        headers={"accept": "application/json"},
    )
    assert sent.status_code == 201, sent.text
    context = stored_submission(client, sent.json()["reference"]).context
    assert context["faq"]["search"] == found["search"]
