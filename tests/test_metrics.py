"""``/metrics``: what is counted, where it is served, and what it never holds.

The app runs with real SQLite (and PostgreSQL for the outbox gauges), the
worker delivers to a real SMTP server and a real HTTP server on loopback,
and the scrapes are parsed with prometheus-client's own parser.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from conftest import EXAMPLES, make_form
from http_server import HttpServer
from prometheus_client.parser import text_string_to_metric_families
from smtp_server import SmtpServer, free_port
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from test_delivery import Clock
from test_delivery_processes import fill, wait_until
from test_store_backends import Backend, backend
from web_helpers import CAR_ANSWERS, FORMS, settings_for, token_from

from intakeforms.delivery import Worker, mail_transport
from intakeforms.metrics import Metrics, MetricsPlan, metrics_plan
from intakeforms.settings import SettingsError
from intakeforms.store import NewSubmission, SqliteStore, Store, new_worker_id
from intakeforms.web import create_app
from intakeforms.web.metrics import CountResponses

CAR = next(f for f in FORMS if f.id == "car-service")

__all__ = ["backend"]  # the fixture, shared with test_store_backends


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels`` in a scrape, or None."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return str(answer.read().decode())


# -- the setting -------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "false", "0", "off", " No "])
def test_metrics_are_off_unless_set(text: str | None) -> None:
    assert metrics_plan(text) is None


def test_the_setting_reads_true_or_an_address() -> None:
    assert metrics_plan("true") == MetricsPlan()
    assert metrics_plan("TRUE").on_service_port  # type: ignore[union-attr]
    assert metrics_plan("127.0.0.1:9464") == MetricsPlan(("127.0.0.1", 9464))
    assert metrics_plan("[::1]:9464") == MetricsPlan(("::1", 9464))
    assert metrics_plan("0.0.0.0:9464") == MetricsPlan(("0.0.0.0", 9464))


@pytest.mark.parametrize("text", ["9464", ":9464", "localhost:", "host:99999", "metrics please"])
def test_a_setting_that_is_neither_says_what_to_write(text: str) -> None:
    with pytest.raises(SettingsError, match=r"INTAKE_METRICS=.*HOST:PORT like 127\.0\.0\.1:9464"):
        metrics_plan(text)


# -- the service's own port ------------------------------------------------------------


def test_without_the_setting_nothing_is_served(tmp_path: Path) -> None:
    app = create_app(FORMS, settings_for(tmp_path))
    with TestClient(app) as client:
        assert client.post("/forms/car-service/submissions", json=CAR_ANSWERS).status_code == 201
        assert client.get("/metrics").status_code == 404
    assert app.state.service.metrics is None


def test_a_scrape_counts_submissions_and_errors_without_personal_data(tmp_path: Path) -> None:
    app = create_app(FORMS, settings_for(tmp_path, metrics="true"))
    with TestClient(app) as client:
        accepted = client.post(
            "/forms/car-service/submissions",
            json=CAR_ANSWERS,
            headers={"idempotency-key": "order-1"},
        )
        assert accepted.status_code == 201
        # The same key again: the first reference, not a second submission.
        again = client.post(
            "/forms/car-service/submissions",
            json=CAR_ANSWERS,
            headers={"idempotency-key": "order-1"},
        )
        assert again.json() == accepted.json()
        page = client.get("/forms/car-service").text
        form = {**{k: str(v) for k, v in CAR_ANSWERS.items()}, "privacy": "true"}
        spam = client.post(
            "/forms/car-service/submissions",
            data={**form, "_token": token_from(page), "_homepage": "http://spam.example"},
        )
        assert spam.status_code == 201
        invalid = client.post("/forms/car-service/submissions", json={"email": "matti@"})
        assert invalid.status_code == 422
        assert client.post("/forms/no-such-form/submissions", json={}).status_code == 404
        assert client.get("/forms/car-service/matti@example.com/x").status_code == 404
        text = client.get("/metrics").text

    submissions = "intakeforms_submissions_total"
    assert value(text, submissions, form="car-service", outcome="accepted") == 1
    assert value(text, submissions, form="car-service", outcome="spam") == 1
    # Every form's series is there from the start, at 0.
    assert value(text, submissions, form="product-return", outcome="accepted") == 0
    responses = "intakeforms_http_responses_total"
    route = "/forms/{form}/submissions"
    assert value(text, responses, route=route, status="201", code="") == 3
    assert value(text, responses, route=route, status="422", code="required") == 1
    assert value(text, responses, route=route, status="404", code="unknown_form") == 1
    assert value(text, responses, route="none", status="404", code="") == 1
    assert value(text, responses, route="/forms/{form}", status="200", code="") == 1
    assert value(text, "intakeforms_outbox_jobs", state="pending") == 1
    # No label holds a reference, a client address, an answer or a raw path.
    reference = accepted.json()["reference"]
    for personal in (reference, "testclient", "matti", "Meik", "no-such-form", "spam.example"):
        assert personal not in text


def test_behind_a_proxy_responses_are_counted_by_their_route(tmp_path: Path) -> None:
    """The proxy's headers rewrite the request; its route is still the label."""
    app = create_app(FORMS, settings_for(tmp_path, metrics="true", trust_proxy=True))
    proxy = {"x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https"}
    with TestClient(app) as client:
        posted = client.post("/forms/car-service/submissions", json=CAR_ANSWERS, headers=proxy)
        assert posted.status_code == 201
        assert client.get("/forms/car-service", headers=proxy).status_code == 200
        text = client.get("/metrics").text
    responses = "intakeforms_http_responses_total"
    route = "/forms/{form}/submissions"
    assert value(text, responses, route=route, status="201", code="") == 1
    assert value(text, responses, route="/forms/{form}", status="200", code="") == 1
    assert value(text, responses, route="none", status="201", code="") is None


def test_an_unhandled_error_is_counted_as_a_500() -> None:
    async def broken(request: object) -> None:
        raise RuntimeError("boom")

    metrics = Metrics()
    app = CountResponses(Starlette(routes=[Route("/broken/{id}", broken)]), metrics)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/broken/42").status_code == 500
    text = anyio.run(metrics.exposition).decode()
    labels = {"route": "/broken/{id}", "status": "500", "code": "exception"}
    assert value(text, "intakeforms_http_responses_total", **labels) == 1


# -- a port of its own -----------------------------------------------------------------


def test_metrics_on_a_port_of_their_own_read_the_outbox_at_scrape_time(tmp_path: Path) -> None:
    port = free_port()
    app = create_app(FORMS, settings_for(tmp_path, metrics=f"127.0.0.1:{port}"))
    url = f"http://127.0.0.1:{port}/metrics"
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404  # never on the public port
        before = get(url)
        assert value(before, "intakeforms_outbox_jobs", state="pending") == 0
        assert client.post("/forms/car-service/submissions", json=CAR_ANSWERS).status_code == 201
        # Nothing asked the app for /metrics: the scrape itself read the store.
        after = get(url)
        assert value(after, "intakeforms_outbox_jobs", state="pending") == 1
        assert value(after, "intakeforms_store_up") == 1
        labels = {"route": "/forms/{form}/submissions", "status": "201", "code": ""}
        assert value(after, "intakeforms_http_responses_total", **labels) == 1
    with pytest.raises(urllib.error.URLError):  # the port closes with the app
        get(url)


def test_a_metrics_port_in_use_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(FORMS, settings_for(tmp_path, metrics=f"127.0.0.1:{port}"))
        with pytest.raises(BaseExceptionGroup) as caught, TestClient(app):
            pass
    assert caught.group_contains(SettingsError, match=f"127.0.0.1:{port}: cannot listen there")


# -- the worker ------------------------------------------------------------------------

HOOK_FORM = """
- {name: email, type: email, role: reply_to, label: Email}
- {name: note, type: text, label: Note}
"""


@pytest.mark.anyio
async def test_the_worker_counts_attempts_failures_and_latency_by_kind(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", "whsec_" + "a2V5" * 8)
    with HttpServer() as hooks:
        form = make_form(
            HOOK_FORM,
            deliver=f"[{{email: {{to: [agents@example.com]}}}}, "
            f"{{webhook: {{url: '{hooks.url}/hook', secret_env: TEST_HOOK_SECRET}}}}]",
            autorespond="{}",
        )
        settings = settings_for(tmp_path, smtp_url=smtp.url, retry_base_seconds=0.01)
        metrics = Metrics()
        async with SqliteStore(tmp_path / "intake.db") as store:
            for note in ("one", "two"):
                await store.save(
                    NewSubmission(
                        form=form.id,
                        form_version=form.version,
                        reference_prefix="T",
                        locale="en",
                        data=dict(form.validate({"email": "a@example.com", "note": note})),
                        targets=["email:0", "webhook:1", "autoreply"],
                    )
                )
            smtp.recorder.answers = ["451 try again later"]  # the first mail fails once
            worker = Worker(
                store=store,
                forms={form.id: form},
                settings=settings,
                transport=mail_transport(settings),
                metrics=metrics,
            )
            try:
                assert await worker.run_once() == 6
                await anyio.sleep(0.05)
                assert await worker.run_once() == 1  # the retry
            finally:
                await worker.close()
            assert (await store.counts())["delivered"] == 6
            text = (await metrics.exposition()).decode()
    attempts = {
        kind: value(text, "intakeforms_delivery_attempts_total", kind=kind)
        for kind in ("email", "webhook", "autoreply")
    }
    assert sum(v or 0 for v in attempts.values()) == 7
    # Jobs go out in the order they were stored: the refused mail was an agent email.
    assert value(text, "intakeforms_delivery_failures_total", kind="email") == 1
    assert value(text, "intakeforms_delivery_failures_total", kind="webhook") is None
    for kind in ("email", "webhook", "autoreply"):
        count = value(text, "intakeforms_delivery_seconds_count", kind=kind)
        assert count == attempts[kind]
        assert (value(text, "intakeforms_delivery_seconds_sum", kind=kind) or 0) > 0
        assert value(text, "intakeforms_delivery_seconds_bucket", kind=kind, le="60.0") == count
    assert len(hooks.requests) == 2


def test_the_worker_command_serves_its_metrics_on_a_port_of_their_own(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    store_url = f"sqlite:///{tmp_path / 'intake.db'}"
    fill(store_url, 2)
    port = free_port()
    env = {
        **os.environ,
        "INTAKE_STORE": store_url,
        "INTAKE_SMTP_URL": smtp.url,
        "INTAKE_METRICS": f"127.0.0.1:{port}",
        "INTAKE_UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "intakeforms", "worker", str(EXAMPLES)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def delivered() -> bool:
            try:
                text = get(url)
            except (urllib.error.URLError, ConnectionError):
                return False
            return value(text, "intakeforms_outbox_jobs", state="delivered") == 2

        wait_until(delivered, 30, "the worker's metrics to show two delivered jobs")
        text = get(url)
        assert value(text, "intakeforms_delivery_attempts_total", kind="email") == 2
        assert value(text, "intakeforms_outbox_oldest_pending_age_seconds") == 0
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        assert worker.stderr is not None
        stderr = worker.stderr.read().decode()
        worker.stderr.close()
    assert f"Metrics on http://127.0.0.1:{port}/metrics" in stderr


def test_the_worker_command_warns_that_true_needs_a_port(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "INTAKE_STORE": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_METRICS": "true",
        "INTAKE_MAIL_DIR": str(tmp_path / "mail"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "intakeforms", "worker", str(EXAMPLES), "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"set INTAKE_METRICS=HOST:PORT" in done.stderr


# -- the outbox gauges, on both backends -------------------------------------------------


@pytest.fixture
async def clocked(backend: Backend) -> AsyncIterator[tuple[Store, Clock]]:
    clock = Clock()
    store = backend.make(clock=clock)
    await store.open()
    try:
        yield store, clock
    finally:
        await store.close()


async def save(store: Store, n: int) -> None:
    data = dict(CAR.validate(CAR_ANSWERS))
    for _ in range(n):
        await store.save(
            NewSubmission(
                form=CAR.id,
                form_version=CAR.version,
                reference_prefix="CAR",
                locale="fi",
                data=data,
                targets=["email:0"],
            )
        )


@pytest.mark.anyio
async def test_outbox_gauges_count_jobs_by_state_and_age_the_oldest_pending(
    clocked: tuple[Store, Clock],
) -> None:
    store, clock = clocked
    metrics = Metrics()
    metrics.watch(store)
    empty = (await metrics.exposition()).decode()
    assert {s: value(empty, "intakeforms_outbox_jobs", state=s) for s in ("pending", "dead")} == {
        "pending": 0,
        "dead": 0,
    }
    assert value(empty, "intakeforms_outbox_oldest_pending_age_seconds") == 0
    clock.offset = -dt.timedelta(minutes=20)
    await save(store, 4)
    clock.offset = dt.timedelta(0)
    await save(store, 1)
    worker = new_worker_id()
    first, second = await store.claim(worker, limit=2, lease_seconds=60)
    await store.complete(first.job.id, worker=worker, receipt="250 OK")
    await store.dead_letter(second.job.id, worker=worker, error="550 no such user")
    await store.claim(worker, limit=1, lease_seconds=60)
    text = (await metrics.exposition()).decode()
    states = {
        s: value(text, "intakeforms_outbox_jobs", state=s)
        for s in ("pending", "claimed", "delivered", "dead")
    }
    assert states == {"pending": 2, "claimed": 1, "delivered": 1, "dead": 1}
    age = value(text, "intakeforms_outbox_oldest_pending_age_seconds")
    assert age is not None and 20 * 60 - 5 < age < 20 * 60 + 60
    assert value(text, "intakeforms_store_up") == 1


@pytest.mark.anyio
async def test_a_store_that_does_not_answer_is_reported_down(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "intake.db")  # never opened: every call fails
    metrics = Metrics()
    metrics.watch(store)
    text = (await metrics.exposition()).decode()
    assert value(text, "intakeforms_store_up") == 0
    assert value(text, "intakeforms_outbox_jobs", state="pending") is None


def test_registries_are_per_app(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = create_app(FORMS, settings_for(tmp_path / "one", metrics="true"))
    two = create_app(FORMS, settings_for(tmp_path / "two", metrics="true"))
    with TestClient(one) as first, TestClient(two) as second:
        first.post("/forms/car-service/submissions", json=CAR_ANSWERS)
        labels = {"form": "car-service", "outcome": "accepted"}
        assert value(first.get("/metrics").text, "intakeforms_submissions_total", **labels) == 1
        assert value(second.get("/metrics").text, "intakeforms_submissions_total", **labels) == 0


def test_a_mounted_service_without_its_lifespan_reads_the_outbox_too(tmp_path: Path) -> None:
    service = create_app(FORMS, settings_for(tmp_path, metrics="true"))
    host = Starlette(routes=[Mount("/contact", app=service)])
    client = TestClient(host)  # not entered: the host runs no lifespan of ours
    text = client.get("/contact/metrics").text
    assert value(text, "intakeforms_store_up") == 1
    assert value(text, "intakeforms_outbox_jobs", state="pending") == 0
    assert (
        client.post("/contact/forms/car-service/submissions", json=CAR_ANSWERS).status_code == 201
    )
    text = client.get("/contact/metrics").text
    assert value(text, "intakeforms_outbox_jobs", state="pending") == 1
    labels = {"route": "/forms/{form}/submissions", "status": "201", "code": ""}
    assert value(text, "intakeforms_http_responses_total", **labels) == 1
    anyio.run(service.state.service.shut)
