"""The service and its store: health during an outage and after it, and rate
limits that several service processes on one PostgreSQL store share."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient
from test_store_backends import admin, fresh_schema
from test_store_postgres import schema_of
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms.store import NewSubmission, SaveResult, SqliteStore
from intakeforms.web import create_app

SUBMIT = "/forms/car-service/submissions"


@contextlib.contextmanager
def locked(database: Path) -> Iterator[None]:
    """Another connection holds the SQLite file's write lock meanwhile."""
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_health_and_submissions_through_an_outage_and_after(tmp_path: Path) -> None:
    database = tmp_path / "intake.db"
    settings = settings_for(tmp_path, store=f"sqlite:///{database}?timeout=0.2")
    with TestClient(create_app(FORMS, settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "store": "ok", "forms": len(FORMS)}
        with locked(database):
            health = client.get("/healthz")
            assert health.status_code == 503
            assert health.json() == {"status": "failing", "store": "failing"}
            refused = client.post(SUBMIT, json=CAR_ANSWERS)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["errors"][0]["code"] == "unavailable"
        # Writable again: the service recovers by itself.
        assert client.post(SUBMIT, json=CAR_ANSWERS).status_code == 201
        assert client.get("/healthz").status_code == 200


def test_health_of_a_postgresql_store_that_cannot_write(tmp_path: Path) -> None:
    with fresh_schema() as url:
        settings = settings_for(tmp_path, store=f"{url}&timeout=0.5")
        with TestClient(create_app(FORMS, settings)) as client:
            assert client.get("/healthz").status_code == 200
            schema = schema_of(url)
            # Another session locks the tables the service writes to.
            with psycopg.connect(url) as blocker:
                blocker.execute(f"LOCK TABLE {schema}.submissions IN ACCESS EXCLUSIVE MODE")
                blocker.execute(f"LOCK TABLE {schema}.intakeforms_version IN ACCESS EXCLUSIVE MODE")
                health = client.get("/healthz")
                assert health.status_code == 503
                assert health.json() == {"status": "failing", "store": "failing"}
                refused = client.post(SUBMIT, json=CAR_ANSWERS)
                assert refused.status_code == 503 and refused.headers["retry-after"]
            assert client.post(SUBMIT, json=CAR_ANSWERS).status_code == 201
            assert client.get("/healthz").status_code == 200


# -- shared rate limits ----------------------------------------------------------


def test_two_instances_on_one_postgresql_share_the_rate_limit(tmp_path: Path) -> None:
    with fresh_schema() as url:
        settings = settings_for(tmp_path, store=url, rate_limit="3/minute")
        with (
            TestClient(create_app(FORMS, settings)) as one,
            TestClient(create_app(FORMS, settings)) as two,
        ):
            codes = [
                client.post(SUBMIT, json=CAR_ANSWERS).status_code
                for client in (one, two, one, two, one)
            ]
            assert codes == [201, 201, 201, 429, 429]
            limited = two.post(SUBMIT, json=CAR_ANSWERS)
            assert int(limited.headers["retry-after"]) >= 1
            # Another form has its own budget, counted in the same store.
            assert one.post("/forms/billing-question/submissions", json={}).status_code == 422
            # Checking answers has its own, larger one.
            assert two.post("/forms/car-service/validate", json={}).status_code == 200
        # No client address in the store's counters: a keyed hash only.
        keys = " ".join(str(row) for row in admin(f"SELECT * FROM {schema_of(url)}.rate_hits"))
        assert "testclient" not in keys and "car-service" not in keys


def test_a_store_that_cannot_count_lets_requests_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fresh_schema() as url:
        settings = settings_for(tmp_path, store=url, rate_limit="1/minute")
        caplog.set_level(logging.WARNING, logger="intakeforms.web")
        with TestClient(create_app(FORMS, settings)) as client:
            assert client.post("/forms/car-service/validate", json={}).status_code == 200
            admin(f"DROP TABLE {schema_of(url)}.rate_hits")
            for _ in range(3):
                answer = client.post("/forms/car-service/validate", json={})
                assert answer.status_code == 200
    failing = [r for r in caplog.records if "cannot count rate limits" in r.getMessage()]
    assert len(failing) == 1


class _StoreSeeingNul(SqliteStore):
    """A real SQLite store handed answers with a NUL that validation did not
    see: what a future field type or a bug in a check would let through."""

    async def save(self, submission: NewSubmission) -> SaveResult:
        data = {**submission.data, "model": "Volvo\x00V70"}
        return await super().save(dataclasses.replace(submission, data=data))


def test_what_the_store_cannot_keep_is_a_422_for_that_submission_only(tmp_path: Path) -> None:
    database = tmp_path / "intake.db"
    store = _StoreSeeingNul(database)
    with TestClient(create_app(FORMS, settings_for(tmp_path), store=store)) as client:
        refused = client.post(SUBMIT, json=CAR_ANSWERS)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "model"
        assert refused.json()["errors"][0]["code"] == "invalid_text"
        assert client.get("/healthz").status_code == 200
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM submissions").fetchone() == (0,)
