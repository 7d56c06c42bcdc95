"""The app mounted under a prefix in a host Starlette or FastAPI app."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms.web import create_app


def check_mounted(client: TestClient, prefix: str) -> None:
    page = client.get(f"{prefix}/forms/car-service?lang=en")
    assert page.status_code == 200
    assert f'action="{prefix}/forms/car-service/submissions?lang=en"' in page.text
    assert f'href="{prefix}/assets/form.css"' in page.text
    assert client.get(f"{prefix}/assets/form.js").status_code == 200
    spec = client.get(f"{prefix}/forms/car-service/spec.json").json()
    assert spec["submit"] == f"{prefix}/forms/car-service/submissions"
    listed = client.get(f"{prefix}/forms").json()
    assert {f["url"] for f in listed} >= {f"{prefix}/forms/car-service"}
    answer = client.post(f"{prefix}/forms/car-service/submissions", json=CAR_ANSWERS)
    assert answer.status_code == 201
    assert re.match(r"^CAR-", answer.json()["reference"])


def test_mounted_in_starlette(tmp_path: Path) -> None:
    intake = create_app(FORMS, settings_for(tmp_path))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A mounted app's lifespan does not run by itself: the host runs it.
        async with intake.router.lifespan_context(intake):
            yield

    host = Starlette(routes=[Mount("/support", app=intake)], lifespan=lifespan)
    with TestClient(host) as client:
        check_mounted(client, "/support")


def test_mounted_in_fastapi(tmp_path: Path) -> None:
    intake = create_app(FORMS, settings_for(tmp_path))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with intake.router.lifespan_context(intake):
            yield

    host = FastAPI(lifespan=lifespan)
    host.mount("/help/contact", intake)
    with TestClient(host) as client:
        check_mounted(client, "/help/contact")


def test_mounted_without_running_its_lifespan(tmp_path: Path) -> None:
    # Hosts often forget to run a mounted app's lifespan: the store opens on
    # first use instead.
    host = Starlette(routes=[Mount("/support", app=create_app(FORMS, settings_for(tmp_path)))])
    with TestClient(host) as client:
        check_mounted(client, "/support")
        assert client.get("/support/healthz").status_code == 200


def test_at_the_root(tmp_path: Path) -> None:
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        check_mounted(client, "")


def test_one_app_at_two_prefixes_describes_each_in_its_openapi(tmp_path: Path) -> None:
    """The document is made once per prefix and kept: each mount keeps its own."""
    intake = create_app(FORMS, settings_for(tmp_path))
    host = Starlette(routes=[Mount("/support", app=intake), Mount("/help", app=intake)])
    with TestClient(host) as client:
        for _ in range(2):
            for prefix in ("/support", "/help"):
                answer = client.get(f"{prefix}/openapi.json")
                assert answer.headers["content-type"] == "application/json"
                assert answer.json()["servers"] == [{"url": prefix}]
