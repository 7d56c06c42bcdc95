"""Behind a reverse proxy: INTAKE_TRUST_PROXY and INTAKE_PROXY_HOPS.

The requests carry exactly what nginx sends with the usual configuration
(docs/operations.md)::

    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;

The service itself is reached over plain HTTP from the proxy, as it is in
such a set-up.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from starlette.testclient import TestClient
from test_web_process import call, free_port
from web_helpers import CAR_ANSWERS, FORMS, settings_for, token_from

from intakeforms.web import create_app
from intakeforms.web.proxy import forwarded_entry

PUBLIC = "https://forms.example.com"
CUSTOMER = "198.51.100.7"
#: The customer's address as nginx's $remote_addr; a CDN's in the CDN tests.
PEER = "203.0.113.10"


def nginx(client_sent: str | None = None, *, remote: str = CUSTOMER) -> dict[str, str]:
    """The headers nginx adds to a request that came to it from ``remote``
    over HTTPS, when the client itself sent ``X-Forwarded-For: client_sent``."""
    forwarded = f"{client_sent}, {remote}" if client_sent else remote
    return {
        "host": "forms.example.com",
        "x-real-ip": remote,
        "x-forwarded-for": forwarded,
        "x-forwarded-proto": "https",
    }


def html_post(client: TestClient, headers: dict[str, str], **changes: str) -> Any:
    """The HTML form as a browser on the public address posts it."""
    page = client.get("/forms/car-service?lang=fi", headers=headers)
    assert page.status_code == 200
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "privacy": "true",
        "_token": token_from(page.text),
        "_homepage": "",
        **changes,
    }
    return client.post(
        "/forms/car-service/submissions?lang=fi",
        data=form,
        headers={**headers, "origin": PUBLIC},
    )


def client_of(tmp_path: Path, reference: str) -> str:
    with contextlib.closing(sqlite3.connect(tmp_path / "intake.db")) as db:
        row = db.execute(
            "SELECT client FROM submissions WHERE reference = ?", (reference,)
        ).fetchone()
    assert row is not None, reference
    client: str = row[0]
    return client


def reference_in(text: str) -> str:
    found = re.search(r'id="intake-reference">([^<]+)<', text)
    assert found, "the page shows no reference"
    return found.group(1)


@pytest.fixture
def trusted(tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, trust_proxy=True)
    with TestClient(create_app(FORMS, settings)) as client:
        yield client


@pytest.fixture
def untrusted(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        yield client


def test_the_own_html_form_posts_behind_an_https_proxy(trusted: TestClient) -> None:
    answer = html_post(trusted, nginx())
    assert answer.status_code == 201, answer.text


def test_without_trust_forwarded_headers_change_nothing(
    untrusted: TestClient, tmp_path: Path
) -> None:
    # The service sees http://forms.example.com: the browser's https origin is foreign.
    refused = html_post(untrusted, nginx())
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "origin_not_allowed"
    # Nor does X-Forwarded-For name the client.
    answer = untrusted.post(
        "/forms/car-service/submissions", json=CAR_ANSWERS, headers=nginx("192.0.2.1")
    )
    assert answer.status_code == 201
    assert client_of(tmp_path, answer.json()["reference"]) == "testclient"


def test_the_client_is_the_address_nginx_saw(trusted: TestClient, tmp_path: Path) -> None:
    # The client wrote its own X-Forwarded-For; nginx appended the real address.
    answer = trusted.post(
        "/forms/car-service/submissions", json=CAR_ANSWERS, headers=nginx("192.0.2.66")
    )
    assert answer.status_code == 201
    assert client_of(tmp_path, answer.json()["reference"]) == CUSTOMER


def test_a_forged_x_forwarded_for_keeps_the_rate_limit_bucket(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, trust_proxy=True, rate_limit="2/minute")
    with TestClient(create_app(FORMS, settings)) as client:
        codes = [
            client.post(
                "/forms/car-service/submissions",
                json=CAR_ANSWERS,
                headers=nginx(forged),
            ).status_code
            for forged in (None, "192.0.2.1", "192.0.2.2", "192.0.2.3, 192.0.2.4")
        ]
        assert codes == [201, 201, 429, 429]
        # Another customer behind the same proxy has a budget of its own.
        other = client.post(
            "/forms/car-service/submissions",
            json=CAR_ANSWERS,
            headers=nginx(remote="198.51.100.8"),
        )
        assert other.status_code == 201


def test_a_cdn_in_front_of_nginx_is_two_hops(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, trust_proxy=True, proxy_hops=2)
    with TestClient(create_app(FORMS, settings)) as client:
        # The CDN appends the customer's address, nginx the CDN's; nginx passes
        # the CDN's X-Forwarded-Proto on (see docs/operations.md).
        headers = {**nginx(f"192.0.2.66, {CUSTOMER}", remote=PEER)}
        answer = html_post(client, headers)
        assert answer.status_code == 201, answer.text
        assert client_of(tmp_path, reference_in(answer.text)) == CUSTOMER


def test_urls_the_service_builds_are_the_public_ones(trusted: TestClient) -> None:
    # A trailing slash is redirected to an absolute URL on the public address.
    answer = trusted.get("/forms/", headers=nginx(), follow_redirects=False)
    assert answer.status_code in (307, 308)
    assert answer.headers["location"] == f"{PUBLIC}/forms"


def test_headers_that_cannot_be_used_change_nothing(trusted: TestClient, tmp_path: Path) -> None:
    headers = {
        "host": "forms.example.com",
        "x-forwarded-proto": "gopher",
        "x-forwarded-host": "evil.example/path@x",
        "x-forwarded-for": "not an address",
    }
    answer = trusted.get("/forms/", headers=headers, follow_redirects=False)
    assert answer.headers["location"] == "http://forms.example.com/forms"
    saved = trusted.post("/forms/car-service/submissions", json=CAR_ANSWERS, headers=headers)
    assert client_of(tmp_path, saved.json()["reference"]) == "testclient"


def test_x_forwarded_host_wins_over_host(trusted: TestClient) -> None:
    headers = {**nginx(), "host": "intake:8000", "x-forwarded-host": "forms.example.com"}
    assert html_post(trusted, headers).status_code == 201
    # With the default port spelled out (nginx's $http_host keeps what the
    # browser sent; some proxies add the port): the same origin.
    headers = {**nginx(), "x-forwarded-host": "forms.example.com:443"}
    assert html_post(trusted, headers).status_code == 201


@pytest.mark.parametrize(
    ("values", "hops", "entry"),
    [
        ([b"a"], 1, "a"),
        ([b"a, b, c"], 1, "c"),
        ([b"a, b, c"], 2, "b"),
        ([b"a, b", b"c"], 2, "b"),  # several header lines are one list
        ([b"a"], 2, "a"),  # a proxy that set instead of appending
        ([b" , "], 1, None),
        ([], 1, None),
    ],
)
def test_forwarded_entry(values: list[bytes], hops: int, entry: str | None) -> None:
    assert forwarded_entry(values, hops) == entry


# -- a real uvicorn process, started as the documentation says ----------------------


@contextlib.contextmanager
def serve(tmp_path: Path, **env: str) -> Iterator[str]:
    port = free_port()
    environ = {**os.environ, "INTAKE_MIN_FILL_SECONDS": "0", "INTAKE_RATE_LIMIT": "0", **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "intakeforms", "serve", str(EXAMPLES), "--port", str(port)],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if call(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the service did not start:\n{process.communicate()[0]!r}")
            time.sleep(0.1)
        yield base
    finally:
        process.kill()
        process.communicate()


def post_form(base: str, headers: dict[str, str]) -> tuple[int, str]:
    """GET the page and post it back, as a browser behind the proxy does."""
    asked = urllib.request.Request(f"{base}/forms/car-service?lang=fi", headers=headers)
    with urllib.request.urlopen(asked, timeout=10) as answer:
        page = answer.read().decode()
    form = {
        **{k: str(v) for k, v in CAR_ANSWERS.items()},
        "privacy": "true",
        "_token": token_from(page),
    }
    request = urllib.request.Request(
        f"{base}/forms/car-service/submissions?lang=fi",
        data=urllib.parse.urlencode(form).encode(),
        headers={**headers, "origin": PUBLIC},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


@pytest.mark.parametrize("trust", [True, False], ids=["trusted", "untrusted"])
def test_intakeforms_serve_behind_nginx(tmp_path: Path, trust: bool) -> None:
    # uvicorn trusts proxy headers from 127.0.0.1 by default; serve turns that
    # off, so that only INTAKE_TRUST_PROXY decides.
    with serve(tmp_path, INTAKE_TRUST_PROXY=str(trust).lower()) as base:
        status, text = post_form(base, nginx("192.0.2.66"))
    if trust:
        assert status == 201, text
        assert client_of(tmp_path, reference_in(text)) == CUSTOMER
    else:
        assert status == 403, text
        assert "origin_not_allowed" in text


@pytest.mark.parametrize(
    ("entry", "client"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("203.0.113.5:4711", "203.0.113.5"),  # some proxies add the port
        ("[2001:DB8::1]:4711", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("256.1.1.1", "testclient"),  # not an address: the peer stays
    ],
)
def test_the_client_address_as_proxies_write_it(
    trusted: TestClient, tmp_path: Path, entry: str, client: str
) -> None:
    headers = {"x-forwarded-for": f"192.0.2.1, {entry}"}
    saved = trusted.post("/forms/car-service/submissions", json=CAR_ANSWERS, headers=headers)
    assert client_of(tmp_path, saved.json()["reference"]) == client
