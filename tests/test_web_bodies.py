"""Hostile and faulty bodies: each is refused with a clear 4xx, never a 500,
on SQLite and on PostgreSQL, and the next good submission is stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.testclient import TestClient
from starlette.types import Message
from test_store_backends import fresh_schema
from web_helpers import CAR_ANSWERS, FORMS, REFERENCE, settings_for, token_from

from intakeforms.web import create_app
from intakeforms.web.bodies import (
    MAX_DEPTH,
    MAX_KEY_LENGTH,
    BadBody,
    Posted,
    kept_values,
    read_json,
)

SUBMIT = "/forms/car-service/submissions"
VALIDATE = "/forms/car-service/validate"


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with fresh_schema() if request.param == "postgresql" else nullcontext() as url:
        settings = settings_for(tmp_path, **({"store": url} if url else {}))
        # A server error must reach the test as a 500, not as an exception.
        app = create_app(FORMS, settings)
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client


def post_json(client: TestClient, path: str, body: bytes, **headers: str) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


def code_of(answer: Any) -> str:
    code: str = answer.json()["errors"][0]["code"]
    return code


def assert_still_works(client: TestClient) -> None:
    answer = client.post(SUBMIT, json=CAR_ANSWERS)
    assert answer.status_code == 201, answer.text
    assert REFERENCE.match(answer.json()["reference"])


# -- deep nesting --------------------------------------------------------------------


@pytest.mark.parametrize("path", [SUBMIT, VALIDATE])
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"plate": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        # Shallow enough for the parser, still deeper than any answer.
        b'{"plate": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}",
    ],
    ids=["array", "object", "in-an-answer", "past-the-bound"],
)
def test_deep_nesting_is_400(client: TestClient, path: str, body: bytes) -> None:
    answer = post_json(client, path, body)
    assert answer.status_code == 400
    assert code_of(answer) == "too_deep"
    assert f"deeper than {MAX_DEPTH} levels" in answer.json()["errors"][0]["message"]
    assert_still_works(client)


# -- names of answers -------------------------------------------------------------


@pytest.mark.parametrize("path", [SUBMIT, VALIDATE])
@pytest.mark.parametrize(
    "name",
    ["na\u0000me", "\ud800", "_na\u0000me", "name\x1b"],
    ids=["nul", "surrogate", "meta", "esc"],
)
def test_a_name_with_a_nul_or_a_surrogate_is_400(client: TestClient, path: str, name: str) -> None:
    body = json.dumps({**CAR_ANSWERS, name: "x"}).encode()
    answer = post_json(client, path, body)
    assert answer.status_code == 400, answer.text
    assert code_of(answer) == "invalid_name"
    assert "answer 9" in answer.json()["errors"][0]["message"]
    assert_still_works(client)


def test_a_urlencoded_name_with_a_nul_is_400(client: TestClient) -> None:
    answer = client.post(
        SUBMIT,
        content=b"plate=abc123&na%00me=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert code_of(answer) == "invalid_name"


# -- text that is not valid Unicode ----------------------------------------------------


@pytest.mark.parametrize("path", [SUBMIT, VALIDATE])
def test_a_lone_surrogate_in_an_answer_is_never_a_500(client: TestClient, path: str) -> None:
    body = json.dumps({**CAR_ANSWERS, "name": "Matti \ud800"}).encode()
    assert b"\\ud800" in body
    answer = post_json(client, path, body, **{"accept-language": "en"})
    assert answer.status_code in (200, 422), answer.text
    fields = [error["field"] for error in answer.json()["errors"]]
    assert fields == ["name"]
    assert_still_works(client)


def test_a_submission_key_with_a_surrogate_is_400(client: TestClient) -> None:
    body = json.dumps({**CAR_ANSWERS, "_submission": "key-\ud800"}).encode()
    answer = post_json(client, SUBMIT, body)
    assert answer.status_code == 400
    assert code_of(answer) == "invalid_idempotency_key"


# -- the same limits whatever the encoding ---------------------------------------------


def test_multipart_text_answers_obey_max_json_bytes(client: TestClient) -> None:
    limit = 256 * 1024
    form = {k: str(v) for k, v in CAR_ANSWERS.items() if k != "name"}
    # 20 MiB: within the 25 MiB a body with files may have.
    huge = client.post(SUBMIT, data=form, files={"name": (None, "x" * (20 * 1024 * 1024))})
    assert huge.status_code == 413
    assert code_of(huge) == "too_large"
    assert f"{limit} bytes" in huge.json()["errors"][0]["message"]
    # Many parts, each small, add up all the same.
    parts = {f"extra{i}": (None, "y" * 1000) for i in range(300)}
    many = client.post(SUBMIT, data=form, files={"name": (None, "Matti"), **parts})
    assert many.status_code == 413
    # Under the limit, a multipart post is read as before (an unknown answer: 422).
    small = client.post(
        SUBMIT,
        data={**form, "name": "Matti"},
        files={"x": (None, "y")},
        headers={"accept": "application/json"},
    )
    assert small.status_code == 422
    assert [e["field"] for e in small.json()["errors"]] == ["x"]
    # JSON and urlencoded bodies of the same size are refused alike.
    big = {**CAR_ANSWERS, "name": "x" * limit}
    assert client.post(SUBMIT, json=big).status_code == 413
    assert client.post(SUBMIT, data={k: str(v) for k, v in big.items()}).status_code == 413


# -- idempotency keys --------------------------------------------------------------------


def test_an_idempotency_key_over_the_limit_is_400(client: TestClient) -> None:
    long_key = "k" * (MAX_KEY_LENGTH + 1)
    answer = client.post(SUBMIT, json=CAR_ANSWERS, headers={"idempotency-key": long_key})
    assert answer.status_code == 400
    assert code_of(answer) == "invalid_idempotency_key"
    message = answer.json()["errors"][0]["message"]
    assert "Idempotency-Key" in message and str(MAX_KEY_LENGTH) in message
    # Two keys that share their first 200 characters are two keys.
    first = client.post(SUBMIT, json=CAR_ANSWERS, headers={"idempotency-key": "k" * 200})
    again = client.post(SUBMIT, json=CAR_ANSWERS, headers={"idempotency-key": "k" * 200})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


def test_a_submission_field_over_the_limit_is_400(client: TestClient) -> None:
    page = client.get("/forms/car-service").text
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "privacy": "true",
        "_token": token_from(page),
        "_submission": "s" * (MAX_KEY_LENGTH + 1),
    }
    answer = client.post(SUBMIT, data=form)
    assert answer.status_code == 400
    assert code_of(answer) == "invalid_idempotency_key"
    assert "_submission" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize("charset", ["utf-7", "unicode_escape", "utf-16"])
def test_multipart_in_another_charset_is_415(client: TestClient, charset: str) -> None:
    # Decoded with these, "+2AA-" or "\\ud800" would become a lone surrogate.
    body = (
        b'--xx\r\nContent-Disposition: form-data; name="name"\r\n\r\nMatti +2AA- \\ud800\r\n'
        b'--xx\r\nContent-Disposition: form-data; name="plate"\r\n\r\nabc123\r\n--xx--\r\n'
    )
    kind = f"multipart/form-data; boundary=xx; charset={charset}"
    for path in (SUBMIT, VALIDATE):
        answer = client.post(path, content=body, headers={"content-type": kind})
        assert answer.status_code == 415
        assert "UTF-8" in answer.json()["errors"][0]["message"]
    utf8 = client.post(
        SUBMIT,
        content=body,
        headers={"content-type": "multipart/form-data; boundary=xx; charset=UTF-8"},
    )
    assert utf8.status_code == 422  # read, and its answers judged


def test_the_error_page_shows_text_that_is_not_unicode_as_replacement_characters() -> None:
    posted = Posted(answers={"name": "Matti \ud800", "extras": ["wash", "\udfff"]}, browser=True)
    assert kept_values(posted) == {"name": "Matti \ufffd", "extras": ["wash", "\ufffd"]}


@pytest.mark.parametrize("path", [SUBMIT, VALIDATE])
def test_an_integer_of_thousands_of_digits_is_an_answer_too_large(
    client: TestClient, path: str
) -> None:
    # Python's own int() refuses 4300 digits or more, which made the whole
    # body "not valid JSON" (400) instead of one answer too large.
    raw = json.dumps({**CAR_ANSWERS, "mileage": 0}).replace(
        '"mileage": 0', '"mileage": ' + "9" * 5000
    )
    answer = post_json(client, path, raw.encode())
    assert answer.status_code in (200, 422), answer.text
    assert [error["field"] for error in answer.json()["errors"]] == ["mileage"]
    assert_still_works(client)


# -- small JSON bodies (events, feedback, drafts) -------------------------------------------


def small_body(
    chunks: list[bytes], headers: list[tuple[bytes, bytes]], limit: int = 64
) -> tuple[Any, int]:
    """What read_json makes of ``chunks`` sent as the server sends a body
    (``None`` for a client gone), or the BadBody's status; and how many
    messages it read."""
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": "/events", "headers": headers}

    async def run() -> Any:
        try:
            return await read_json(Request(scope, receive), limit, "the events", MEDIA)
        except BadBody as exc:
            return exc.status
        except ClientDisconnect:
            return None

    return asyncio.run(run()), read


MEDIA = ("application/json", "text/plain")
JSON = [(b"content-type", b"application/json")]


def test_a_small_body_in_several_pieces_is_read_whole() -> None:
    assert small_body([b'[{"event": ', b'"view"}', b"]"], JSON) == ([{"event": "view"}], 3)
    beacon = [(b"content-type", b"text/plain;charset=UTF-8")]
    assert small_body([b'{"a": 1}'], beacon) == ({"a": 1}, 1)


def test_a_small_body_too_large_is_refused_as_soon_as_known() -> None:
    # Said in its Content-Length: refused before a byte is read.
    assert small_body([b"[]"], [*JSON, (b"content-length", b"65")]) == (413, 0)
    # Not said: refused at the piece that goes past the limit, not read on.
    assert small_body([b"[" + b" " * 40, b" " * 40, b"]"], JSON) == (413, 2)
    assert small_body([b"[" + b" " * 62 + b"]"], [*JSON, (b"content-length", b"64")])[0] == []


def test_a_small_body_of_another_kind_or_not_json_or_cut_short() -> None:
    assert small_body([b"{}"], [(b"content-type", b"application/xml")]) == (415, 0)
    assert small_body([b"{}"], []) == (415, 0)
    assert small_body([b"{"], JSON) == (400, 1)
    assert small_body([], JSON) == (None, 1)  # the client went away


@pytest.mark.parametrize(
    "body",
    [
        '{"q": "Mitä öljyä 5W-30 €", "n": [1, 2.5, null, true, 1e999]}'.encode(),
        b'{"q": "a\\u00e4\\ud83d\\ude97"}',
        b"\xef\xbb\xbf{}",  # a byte order mark
        '{"q": "ä"}'.encode("utf-16"),
        b'{"q": "\\ud800"}',  # a lone surrogate
        b"[" * 300 + b"]" * 300,
        b'{"q": "\xff"}',
        b"{} x",
        b"[1,]",
        b"1" * 5000,
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_a_small_body_is_read_as_json_loads_reads_it(body: bytes) -> None:
    """The faster parser first, json.loads when it refuses: a body is taken
    as json.loads takes it, and refused (400) where json.loads refuses it."""
    try:
        expected: Any = json.loads(body)
    except (ValueError, RecursionError):
        expected = 400
    got = small_body([body], JSON, limit=20_000)[0]
    assert got == expected
