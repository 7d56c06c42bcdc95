"""Retention and erasure on real SQLite and PostgreSQL, files included.

The end-to-end test submits through the real app with an upload and a
marker text, erases it with the command line, and then reads the SQLite
database, its WAL and the upload folder byte by byte: the marker is gone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from conftest import EXAMPLES
from starlette.testclient import TestClient
from test_store_backends import Backend, StillClock, backend
from test_web_uploads import RETURN, png
from web_helpers import CAR_ANSWERS, FORMS, settings_for, token_from

from intakeforms.cli import main
from intakeforms.delivery import deliver_in_process
from intakeforms.privacy import (
    CLIENT_MINIMUM,
    maintain,
    purge,
    remove_uploads,
    retention_cutoffs,
)
from intakeforms.settings import Settings
from intakeforms.store import NewSubmission, SqliteStore, Store, StoredFile, new_worker_id
from intakeforms.web import create_app

CAR = next(f for f in FORMS if f.id == "car-service")
NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

__all__ = ["backend"]  # the fixture, shared with test_store_backends


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="clocked_store")
async def clocked_store_fixture(backend: Backend) -> AsyncIterator[tuple[Store, StillClock]]:
    """An open store on ``backend`` whose clock the test sets."""
    clock = StillClock(NOW)
    store = backend.make(clock)
    await store.open()
    try:
        yield store, clock
    finally:
        await store.close()


def keep_file(upload_dir: Path, content: bytes = b"photo bytes") -> StoredFile:
    """A file in the upload folder, as the web layer keeps one."""
    relative = f"{secrets.token_hex(1)}/{secrets.token_hex(15)}"
    (upload_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (upload_dir / relative).write_bytes(content)
    return StoredFile("photos", "kuva.png", "image/png", len(content), relative)


async def saved(
    store: Store,
    *,
    spam: bool = False,
    files: tuple[StoredFile, ...] = (),
    targets: tuple[str, ...] = ("email:0",),
    client: str | None = "203.0.113.5",
    **answers: object,
) -> str:
    """Store one car-service submission; its reference."""
    result = await store.save(
        NewSubmission(
            form=CAR.id,
            form_version=CAR.version,
            reference_prefix="CAR",
            locale="fi",
            data=dict(CAR.validate({**CAR_ANSWERS, **answers})),
            files=files,
            targets=() if spam else targets,
            spam=spam,
            spam_reason="honeypot filled" if spam else "",
            client=client,
        )
    )
    return result.reference


async def deliver_all(store: Store) -> None:
    worker = new_worker_id()
    for claimed in await store.claim(worker, limit=100, lease_seconds=60):
        await store.complete(claimed.job.id, worker=worker, receipt="250 OK")


# -- the cutoffs -----------------------------------------------------------------------


def test_cutoffs_follow_the_settings() -> None:
    default = retention_cutoffs(Settings(), NOW)
    assert default.delivered_before is None  # unset: keep
    assert default.spam_before == NOW - 30 * DAY
    assert default.clients_before == NOW - CLIENT_MINIMUM  # 30/minute needs a minute
    custom = Settings(retention_days=90, spam_retention_days=7, rate_limit="100/hour")
    cut = retention_cutoffs(custom, NOW)
    assert cut.delivered_before == NOW - 90 * DAY
    assert cut.spam_before == NOW - 7 * DAY
    assert cut.clients_before == NOW - dt.timedelta(hours=1)
    assert retention_cutoffs(Settings(rate_limit="0"), NOW).clients_before == NOW - CLIENT_MINIMUM


# -- purge, on both backends -------------------------------------------------------------


@pytest.mark.anyio
async def test_purge_applies_each_retention_rule(
    clocked_store: tuple[Store, StillClock], tmp_path: Path
) -> None:
    store, clock = clocked_store
    uploads = tmp_path / "uploads"
    settings = Settings(retention_days=30, upload_dir=uploads)
    clock.now = NOW - 40 * DAY
    old_file = keep_file(uploads)
    old_delivered = await saved(store, files=(old_file,), symptoms="vanha")
    old_spam = await saved(store, spam=True)
    clock.now = NOW - 1 * DAY
    recent_delivered = await saved(store)
    recent_spam = await saved(store, spam=True)
    await deliver_all(store)
    clock.now = NOW - 40 * DAY
    old_pending = await saved(store, symptoms="odottaa")  # its delivery still waits
    clock.now = NOW - dt.timedelta(minutes=1)
    fresh = await saved(store)
    clock.now = NOW

    done = await purge(store, settings, now=NOW)

    assert (done.result.erased, done.result.deleted_spam) == (1, 1)
    assert done.files_removed == 1 and not (uploads / old_file.path).exists()
    erased = await store.get(old_delivered)
    assert erased is not None and erased.erased and erased.data == {} and erased.files == ()
    assert await store.get(old_spam) is None
    for kept in (old_pending, recent_delivered, recent_spam):
        found = await store.get(kept)
        assert found is not None and not found.erased and found.data
    # Client addresses: only the one the rate limit may still need is kept.
    clients = {ref: (await store.get(ref)).client for ref in (recent_delivered, fresh)}  # type: ignore[union-attr]
    assert clients == {recent_delivered: None, fresh: "203.0.113.5"}
    again = await purge(store, settings, now=NOW)
    assert (again.result.erased, again.result.deleted_spam, again.files_removed) == (0, 0, 0)


@pytest.mark.anyio
async def test_without_retention_days_delivered_submissions_are_kept(
    clocked_store: tuple[Store, StillClock], tmp_path: Path
) -> None:
    store, clock = clocked_store
    clock.now = NOW - 4000 * DAY
    reference = await saved(store)
    await deliver_all(store)
    done = await purge(store, Settings(upload_dir=tmp_path), now=NOW)
    assert done.cutoffs.delivered_before is None and done.result.erased == 0
    found = await store.get(reference)
    assert found is not None and found.data and found.client is None


def test_removing_files_never_leaves_the_upload_folder(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("not an upload")
    kept = keep_file(uploads)
    hostile = [
        dataclasses.replace(kept, path="../outside.txt"),
        dataclasses.replace(kept, path=str(outside)),
        dataclasses.replace(kept, path=""),
    ]
    assert remove_uploads(uploads, [*hostile, kept, kept]) == 1  # the second is gone already
    assert outside.exists() and not (uploads / kept.path).exists()


# -- the hourly loop -------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_maintenance_loop_logs_a_failure_without_data_and_tries_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = StillClock(NOW - 40 * DAY)
    store = SqliteStore(tmp_path / "intake.db", clock=clock)  # not open yet: purges fail
    settings = Settings(upload_dir=tmp_path / "uploads")
    stop = anyio.Event()
    caplog.set_level(logging.INFO, logger="intakeforms.privacy")
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(
                functools.partial(maintain, store, settings, stop, every=0.05, clock=lambda: NOW)
            )
            await anyio.sleep(0.02)
            await store.open()
            spam = await saved(store, spam=True, symptoms="Salainen vika")
            with anyio.fail_after(10):
                while await store.get(spam) is not None:
                    await anyio.sleep(0.02)
            stop.set()
    finally:
        await store.close()
    failures = [r for r in caplog.records if "retention purge failed" in r.getMessage()]
    assert failures and failures[0].levelno == logging.ERROR
    assert "next try in 0 s" in failures[0].getMessage()
    done = [r.getMessage() for r in caplog.records if "deleted 1 spam" in r.getMessage()]
    assert done
    assert not [r for r in caplog.records if "Salainen" in r.getMessage()]


# -- erasure, end to end ---------------------------------------------------------------


def _files_holding(folder: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles if n in content]
    return found


def test_an_erased_submission_leaves_nothing_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = f"Poistettava-{secrets.token_hex(8)}"
    photo = png() + marker.encode()  # still a PNG by its magic bytes
    settings = settings_for(tmp_path)
    monkeypatch.setenv("INTAKE_STORE", settings.store)
    monkeypatch.setenv("INTAKE_UPLOAD_DIR", str(settings.upload_dir))
    answers = {**RETURN, "product": f"Sauvasekoitin {marker}", "name": f"Laura {marker}"}
    with TestClient(create_app(FORMS, settings)) as client:
        token = token_from(client.get("/forms/product-return").text)
        answer = client.post(
            "/forms/product-return/submissions",
            data={**answers, "_token": token},
            files=[("photos", (f"{marker}.png", photo, "image/png"))],
            headers={"accept": "application/json"},
        )
        assert answer.status_code == 201, answer.text
        reference = answer.json()["reference"]
        needles = [marker.encode(), photo]
        # Stored as it should be, before the erasure.
        assert _files_holding(settings.upload_dir, [photo])
        assert _files_holding(tmp_path, [marker.encode()])
        # Erased while the service runs beside, with its own connection open.
        assert main(["erase", reference]) == 0
        assert f"{reference}: erased, with 1 uploaded file(s)" in capsys.readouterr().out
        assert _files_holding(tmp_path, needles) == []
    # And still nothing once the service has closed the store.
    assert _files_holding(tmp_path, needles) == []
    assert main(["export", reference]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["erased"] is True and exported["erased_at"]
    assert (exported["data"], exported["files"], exported["client"]) == ({}, [], None)
    assert [job["status"] for job in exported["deliveries"]] == ["dead"]
    assert exported["deliveries"][0]["last_error"] == "erased"


# -- who runs the hourly loop --------------------------------------------------------------


def _old_spam(path: Path) -> str:
    async def seed() -> str:
        async with SqliteStore(path, clock=StillClock(dt.datetime.now(dt.UTC) - 40 * DAY)) as store:
            return await saved(store, spam=True)

    return anyio.run(seed)


def _exists(path: Path, reference: str) -> bool:
    async def read() -> bool:
        async with SqliteStore(path) as store:
            return await store.get(reference) is not None

    return anyio.run(read)


def test_the_service_delivering_in_process_applies_the_retention_at_start(
    tmp_path: Path,
) -> None:
    spam = _old_spam(tmp_path / "intake.db")
    settings = settings_for(tmp_path, mail_builders=0)
    with TestClient(create_app(FORMS, settings)):
        pass
    assert _exists(tmp_path / "intake.db", spam)  # no worker here: nothing purged
    with TestClient(create_app(FORMS, settings, background=[deliver_in_process])):
        deadline = time.monotonic() + 10
        while _exists(tmp_path / "intake.db", spam):
            assert time.monotonic() < deadline, "the old spam was not deleted"
            time.sleep(0.05)


def test_the_worker_command_applies_the_retention(tmp_path: Path) -> None:
    spam = _old_spam(tmp_path / "intake.db")
    env = {
        **os.environ,
        "INTAKE_STORE": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_MAIL_DIR": str(tmp_path / "mail"),
        "INTAKE_UPLOAD_DIR": str(tmp_path / "uploads"),
        "INTAKE_MAIL_BUILDERS": "0",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "intakeforms", "worker", str(EXAMPLES)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _exists(tmp_path / "intake.db", spam):
            assert time.monotonic() < deadline, "the worker did not delete the old spam"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
