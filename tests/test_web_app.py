"""The service through Starlette's test client: every endpoint and its errors."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, REFERENCE, settings_for, token_from

from intakeforms.settings import SettingsError, load_settings
from intakeforms.web import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as test_client:
        yield test_client


def stored(tmp_path: Path, reference: str) -> dict[str, Any]:
    with sqlite3.connect(tmp_path / "intake.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM submissions WHERE reference = ?", (reference,)).fetchone()
        outbox = db.execute(
            "SELECT count(*) FROM outbox WHERE reference = ?", (reference,)
        ).fetchone()
    assert row is not None, f"{reference} was not stored"
    return {**dict(row), "outbox": outbox[0]}


def test_list_of_forms_in_the_asked_language(client: TestClient) -> None:
    answer = client.get("/forms", headers={"accept-language": "sv-FI,sv;q=0.9"})
    assert answer.status_code == 200
    forms = {item["id"]: item for item in answer.json()}
    assert forms["car-service"] == {
        "id": "car-service",
        "title": "Servicebokning",
        "locales": ["fi", "sv", "en"],
        "url": "/forms/car-service",
    }


def test_form_page_and_its_headers(client: TestClient) -> None:
    answer = client.get("/forms/car-service?lang=en")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="en"' in answer.text
    assert "Registration plate" in answer.text
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "unsafe-inline" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in answer.text


def test_unknown_form_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("GET", "/forms/nope"),
        ("GET", "/forms/nope/schema.json"),
        ("GET", "/forms/nope/spec.json"),
        ("POST", "/forms/nope/submissions"),
        ("POST", "/forms/nope/validate"),
    ]:
        answer = client.request(method, path, json={})
        assert answer.status_code == 404, path
        assert answer.json()["errors"][0]["code"] == "unknown_form"


def test_schema_and_spec(client: TestClient) -> None:
    schema = client.get("/forms/car-service/schema.json")
    assert schema.headers["content-type"].startswith("application/schema+json")
    assert schema.json()["properties"]["mileage"]["type"] == "integer"
    spec = client.get("/forms/car-service/spec.json?lang=sv").json()
    assert spec["title"] == "Servicebokning"
    assert spec["submit"] == "/forms/car-service/submissions"
    assert spec["token"] and spec["honeypot"] == "_homepage"


def test_json_submission_is_stored_before_201(client: TestClient, tmp_path: Path) -> None:
    answer = client.post("/forms/car-service/submissions", json=CAR_ANSWERS)
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]
    assert REFERENCE.match(reference)
    row = stored(tmp_path, reference)
    data = json.loads(row["data"])
    assert data["plate"] == "ABC-123"
    assert row["form_version"] == next(f for f in FORMS if f.id == "car-service").version
    assert row["spam"] == 0
    assert row["outbox"] == 1  # one delivery target in the YAML


def test_json_errors_in_the_customers_language(client: TestClient) -> None:
    answers = {**CAR_ANSWERS, "plate": "12", "mileage": -1}
    answer = client.post(
        "/forms/car-service/submissions", json=answers, headers={"accept-language": "fi"}
    )
    assert answer.status_code == 422
    errors = {e["field"]: e for e in answer.json()["errors"]}
    assert errors["plate"]["code"] == "invalid_plate"
    assert errors["plate"]["message"].startswith("Anna rekisteritunnus")
    sv = client.post("/forms/car-service/submissions?lang=sv", json=answers).json()["errors"]
    assert sv[0]["message"] != errors["plate"]["message"]


@pytest.mark.parametrize(
    ("content", "kind", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 400, "not_object"),
        (b"plate=x", "text/plain", 415, "unsupported_media_type"),
        (b"\xff\xfe", "application/x-www-form-urlencoded", 400, "malformed_form"),
    ],
)
def test_bad_bodies(client: TestClient, content: bytes, kind: str, status: int, code: str) -> None:
    answer = client.post(
        "/forms/car-service/submissions", content=content, headers={"content-type": kind}
    )
    assert answer.status_code == status
    assert answer.json()["errors"][0]["code"] == code


def test_body_size_is_counted_as_it_streams(tmp_path: Path) -> None:
    app = create_app(FORMS, settings_for(tmp_path, max_json_bytes=1000))
    with TestClient(app) as client:
        big = json.dumps({**CAR_ANSWERS, "symptoms": "x" * 5000}).encode()
        declared = client.post(
            "/forms/car-service/submissions",
            content=big,
            headers={"content-type": "application/json"},
        )
        assert declared.status_code == 413

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 100):
                yield big[start : start + 100]

        # No Content-Length: the body is streamed in chunks and counted.
        streamed = client.post(
            "/forms/car-service/submissions",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413


def test_browser_post_gets_a_thank_you_page(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/forms/car-service?lang=fi").text
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "privacy": "true",
        "_token": token_from(page),
        "_homepage": "",
    }
    answer = client.post("/forms/car-service/submissions?lang=fi", data=form)
    assert answer.status_code == 201
    found = re.search(r"CAR-[0-9A-HJKMNP-TV-Z]{6}", answer.text)
    assert found
    row = stored(tmp_path, found.group(0))
    assert row["spam"] == 0 and row["locale"] == "fi"


def test_browser_post_with_errors_keeps_every_answer(client: TestClient) -> None:
    page = client.get("/forms/car-service?lang=fi").text
    form = {
        "plate": "x<script>",
        "model": 'Saab 9-3 "Aero"',
        "mileage": "120 000",
        "service": "repair",
        "_token": token_from(page),
    }
    answer = client.post("/forms/car-service/submissions?lang=fi", data=form)
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "x&lt;script&gt;" in answer.text and "x<script>" not in answer.text
    assert "Saab 9-3 &#34;Aero&#34;" in answer.text or "Saab 9-3 &quot;Aero&quot;" in answer.text
    assert 'value="120 000"' in answer.text


def test_spam_looks_normal_but_is_quarantined(client: TestClient, tmp_path: Path) -> None:
    form = {**{k: str(v) for k, v in CAR_ANSWERS.items()}, "privacy": "true"}
    no_token = client.post("/forms/car-service/submissions", data=form)
    assert no_token.status_code == 201
    page = client.get("/forms/car-service").text
    honeypot = client.post(
        "/forms/car-service/submissions",
        data={**form, "_token": token_from(page), "_homepage": "http://spam.example"},
    )
    assert honeypot.status_code == 201
    for answer in (no_token, honeypot):
        reference = re.search(r"CAR-[0-9A-HJKMNP-TV-Z]{6}", answer.text)
        assert reference
        row = stored(tmp_path, reference.group(0))
        assert row["spam"] == 1 and row["outbox"] == 0


def test_too_fast_is_spam(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path, min_fill_seconds=60))) as client:
        spec = client.get("/forms/car-service/spec.json").json()
        answer = client.post(
            "/forms/car-service/submissions", json={**CAR_ANSWERS, "_token": spec["token"]}
        )
        assert answer.status_code == 201
        assert stored(tmp_path, answer.json()["reference"])["spam"] == 1
        # A JSON client without a token is an API client, not spam.
        api = client.post("/forms/car-service/submissions", json=CAR_ANSWERS)
        assert stored(tmp_path, api.json()["reference"])["spam"] == 0


def test_idempotency_key_returns_the_first_reference(client: TestClient, tmp_path: Path) -> None:
    headers = {"idempotency-key": "order-42"}
    first = client.post("/forms/car-service/submissions", json=CAR_ANSWERS, headers=headers)
    again = client.post("/forms/car-service/submissions", json=CAR_ANSWERS, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    with sqlite3.connect(tmp_path / "intake.db") as db:
        assert db.execute("SELECT count(*) FROM submissions").fetchone()[0] == 1


def test_double_submitted_html_form_is_stored_once(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/forms/car-service").text
    key = re.search(r'name="_submission" value="([^"]+)"', page)
    assert key
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "privacy": "true",
        "_token": token_from(page),
        "_submission": key.group(1),
    }
    first = client.post("/forms/car-service/submissions", data=form)
    second = client.post("/forms/car-service/submissions", data=form)
    references = {re.findall(r"CAR-[0-9A-HJKMNP-TV-Z]{6}", a.text)[0] for a in (first, second)}
    assert len(references) == 1


def test_store_that_cannot_write_answers_503(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, store=f"sqlite:///{tmp_path / 'intake.db'}?timeout=0.2")
    with TestClient(create_app(FORMS, settings)) as client:
        blocker = sqlite3.connect(tmp_path / "intake.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            answer = client.post("/forms/car-service/submissions", json=CAR_ANSWERS)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert answer.status_code == 503
        assert answer.headers["retry-after"]
        assert answer.json()["errors"][0]["code"] == "unavailable"
        assert client.post("/forms/car-service/submissions", json=CAR_ANSWERS).status_code == 201


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path, rate_limit="2/minute"))) as client:
        codes = [
            client.post("/forms/car-service/submissions", json=CAR_ANSWERS).status_code
            for _ in range(3)
        ]
        assert codes == [201, 201, 429]
        limited = client.post("/forms/car-service/submissions", json=CAR_ANSWERS)
        assert int(limited.headers["retry-after"]) >= 1
        # Another form has its own budget.
        other = client.post("/forms/billing-question/submissions", json={})
        assert other.status_code == 422


EVENT = {"session": "visit-1234", "form": "car-service", "channel": "form", "event": "view"}


def test_origins(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, allowed_origins=("https://shop.example",))
    with TestClient(create_app(FORMS, settings)) as client:
        allowed = client.post(
            "/forms/car-service/submissions",
            json=CAR_ANSWERS,
            headers={"origin": "https://shop.example"},
        )
        assert allowed.status_code == 201
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        other = client.post(
            "/forms/car-service/submissions",
            json=CAR_ANSWERS,
            headers={"origin": "https://evil.example"},
        )
        assert other.status_code == 403
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(
            "/forms/car-service/submissions",
            headers={
                "origin": "https://shop.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, idempotency-key",
            },
        )
        assert preflight.status_code == 200
        same_site = client.post(
            "/forms/car-service/submissions",
            json=CAR_ANSWERS,
            headers={"origin": "http://testserver"},
        )
        assert same_site.status_code == 201


def test_the_own_origin_follows_each_requests_host(tmp_path: Path) -> None:
    """The service's own origin is worked out once for each host it is
    reached by: a page of one host is not let in by another's, in either
    order, and the port a browser leaves out is left out."""
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:

        def status(host: str, origin: str) -> int:
            answer = client.post("/events", json=[EVENT], headers={"host": host, "origin": origin})
            return answer.status_code

        for _ in range(2):
            assert status("forms.example", "http://forms.example") == 204
            assert status("other.example", "http://other.example") == 204
            assert status("other.example", "http://forms.example") == 403
            assert status("forms.example", "http://other.example") == 403
            assert status("forms.example:80", "http://forms.example") == 204
            assert status("forms.example:8080", "http://forms.example:8080") == 204
            assert status("forms.example:8080", "http://forms.example") == 403


def test_frame_ancestors_is_configurable(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, frame_ancestors="https://www.example.com")
    with TestClient(create_app(FORMS, settings)) as client:
        csp = client.get("/forms/car-service").headers["content-security-policy"]
        assert "frame-ancestors https://www.example.com" in csp


def test_validate_checks_just_the_given_answers(client: TestClient) -> None:
    answer = client.post(
        "/forms/car-service/validate?lang=en", json={"plate": "abc123", "mileage": "lots"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["valid"] is False
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("mileage", "not_integer")]
    assert body["values"] == {"plate": "ABC-123"}
    ok = client.post("/forms/car-service/validate", json={"plate": "abc123"}).json()
    assert ok == {"valid": True, "errors": [], "values": {"plate": "ABC-123"}}


def test_json_cannot_claim_files(client: TestClient) -> None:
    answers = {
        "order": "A-1",
        "photos": [{"name": "a.png", "type": "image/png", "size": 1}],
    }
    answer = client.post("/forms/product-return/submissions", json=answers)
    assert answer.status_code == 422
    assert ("photos", "invalid_file") in [(e["field"], e["code"]) for e in answer.json()["errors"]]


def test_healthz(client: TestClient, tmp_path: Path) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    (tmp_path / "intake.db").unlink()
    failing = client.get("/healthz")
    assert failing.status_code == 503
    assert str(tmp_path) not in failing.text  # no server paths to the world


def test_openapi_lists_every_form(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for form in FORMS:
        assert f"/forms/{form.id}/submissions" in document["paths"]
        assert form.id in document["components"]["schemas"]


# -- the time-trap counts from the first page ------------------------------------


def reference_in(html: str) -> str:
    found = re.search(r"CAR-[0-9A-HJKMNP-TV-Z]{6}", html)
    assert found, "the page shows no reference"
    return found.group(0)


def test_a_quick_correction_after_an_error_page_is_not_spam(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, min_fill_seconds=1.0)
    with TestClient(create_app(FORMS, settings)) as client:
        page = client.get("/forms/car-service?lang=fi").text
        time.sleep(1.2)  # the customer fills the form in (the trap's minimum)
        form = {
            **{k: str(v) for k, v in CAR_ANSWERS.items()},
            "privacy": "true",
            "plate": "12",
            "_token": token_from(page),
            "_homepage": "",
        }
        error_page = client.post("/forms/car-service/submissions?lang=fi", data=form)
        assert error_page.status_code == 422
        # The customer corrects the plate at once and sends again.
        corrected = {**form, "plate": "abc123", "_token": token_from(error_page.text)}
        answer = client.post("/forms/car-service/submissions?lang=fi", data=corrected)
        assert answer.status_code == 201
        reference = reference_in(answer.text)
        store = client.app.state.service.store  # type: ignore[attr-defined]
        submission = client.portal.call(store.get, reference)  # type: ignore[union-attr]
        assert submission is not None and submission.spam is False
        jobs = client.portal.call(store.outbox, reference)  # type: ignore[union-attr]
        assert [job.target for job in jobs] == ["email:0"]
        # Because the error page carried the first page's token, not a fresh one.
        assert token_from(error_page.text) == token_from(page)


def test_an_error_page_gives_a_forged_token_no_second_life(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path, min_fill_seconds=60))) as client:
        other = client.get("/forms/billing-question").text
        for forged in ("forged", token_from(other), ""):
            form = {"plate": "12", "_token": forged}
            error_page = client.post("/forms/car-service/submissions", data=form)
            assert error_page.status_code == 422
            fresh = token_from(error_page.text)
            assert fresh != forged
            # A fresh token of this form: sent back at once, it is judged too soon.
            verdict = client.app.state.service.judge.judge(  # type: ignore[attr-defined]
                "car-service", token=fresh, honeypot="", browser=True
            )
            assert verdict.spam and verdict.reason.startswith("sent ")


# -- origins ---------------------------------------------------------------------------


def test_every_origin_with_a_star(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, allowed_origins=load_settings({"INTAKE_ALLOWED_ORIGINS": "*"}).allowed_origins
    )
    with TestClient(create_app(FORMS, settings)) as client:
        for origin in ("https://anyone.example", "http://localhost:3000"):
            answer = client.post(
                "/forms/car-service/submissions", json=CAR_ANSWERS, headers={"origin": origin}
            )
            assert answer.status_code == 201, origin
            assert answer.headers["access-control-allow-origin"] == "*"
            spec = client.get("/forms/car-service/spec.json", headers={"origin": origin})
            assert spec.status_code == 200
        preflight = client.options(
            "/forms/car-service/submissions",
            headers={
                "origin": "https://anyone.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, idempotency-key",
            },
        )
        assert preflight.status_code == 200


def test_a_refused_origin_is_logged_once_naming_the_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, allowed_origins=("https://shop.example",))
    caplog.set_level(logging.WARNING, logger="intakeforms.web")
    with TestClient(create_app(FORMS, settings)) as client:
        for origin in ("https://x.example", "https://x.example", "https://y.example"):
            # What a widget on that site asks first, then what a post would.
            spec = client.get("/forms/car-service/spec.json", headers={"origin": origin})
            assert spec.status_code == 403
            assert spec.json()["errors"][0]["code"] == "origin_not_allowed"
            assert "access-control-allow-origin" not in spec.headers
            listed = client.get("/forms", headers={"origin": origin})
            assert listed.status_code == 403
            posted = client.post(
                "/forms/car-service/submissions", json=CAR_ANSWERS, headers={"origin": origin}
            )
            assert posted.status_code == 403
        assert client.get("/forms/car-service/spec.json").status_code == 200
    refused = [r.getMessage() for r in caplog.records if "INTAKE_ALLOWED_ORIGINS" in r.getMessage()]
    assert refused == [
        "refused a request from the origin https://x.example: add https://x.example to "
        "INTAKE_ALLOWED_ORIGINS if the forms are embedded there",
        "refused a request from the origin https://y.example: add https://y.example to "
        "INTAKE_ALLOWED_ORIGINS if the forms are embedded there",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if "refused" in r.getMessage())


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        (
            "https://Shop.Example/, http://localhost:8080",
            ("https://shop.example", "http://localhost:8080"),
        ),
        ("*", ("*",)),
        ("shop.example", None),
        ("https://shop.example/contact", None),
    ],
)
def test_allowed_origins_are_checked_at_start(value: str, origins: tuple[str, ...] | None) -> None:
    if origins is not None:
        assert load_settings({"INTAKE_ALLOWED_ORIGINS": value}).allowed_origins == origins
        return
    with pytest.raises(SettingsError, match=r"INTAKE_ALLOWED_ORIGINS: .* is not an origin"):
        load_settings({"INTAKE_ALLOWED_ORIGINS": value})
