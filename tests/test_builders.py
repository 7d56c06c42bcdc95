"""Agent emails built in real build processes (spawned interpreters)."""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import anyio
import pytest
from smtp_server import SmtpServer
from test_delivery import BY_ID, store, submit
from test_delivery_processes import alive
from web_helpers import settings_for

from intakeforms.delivery import Worker, mail_transport
from intakeforms.delivery.builders import BuildProcesses, agent_email_for
from intakeforms.delivery.eml import EmlFolder, PreparedFile, prepare_file
from intakeforms.delivery.smtp import PreparedMail, prepare_mail
from intakeforms.settings import Settings
from intakeforms.store import ClaimedJob, SqliteStore

__all__ = ["store"]  # the fixture, shared with test_delivery


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def building(store: SqliteStore, settings: Settings, **options: object) -> Worker:
    return Worker(
        store=store,
        forms=BY_ID,
        settings=settings,
        transport=mail_transport(settings),
        builders=1,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
async def test_a_mail_built_in_a_build_process_is_the_same_mail(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Forms and settings travel to the process intact: the bytes match."""
    await submit(store, 2)
    settings = settings_for(tmp_path, mail_from="intake@example.org")
    claimed: list[ClaimedJob] = await store.claim("test", limit=2, lease_seconds=60)
    processes = BuildProcesses(1, BY_ID, settings, prepare_mail)
    await processes.start()
    try:
        (pid,) = processes.pids
        assert pid != os.getpid() and alive(pid)
        for item in claimed:
            there = await processes.build(item)
            here = agent_email_for(BY_ID, settings, prepare_mail, item)
            assert isinstance(there, PreparedMail)
            assert there == here
            assert item.submission.reference.encode() in there.data
        assert processes.pids == (pid,)  # one process served both
    finally:
        processes.close()
    assert not processes.pids
    assert not alive(pid)


@pytest.mark.anyio
async def test_a_worker_with_a_build_process_delivers_each_once(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path
) -> None:
    references = await submit(store, 12)
    delivering = building(store, settings_for(tmp_path, smtp_url=smtp.url), batch=5)
    await delivering.start()
    (pid,) = delivering._builder.pids
    try:
        while await delivering.run_once():
            pass
    finally:
        await delivering.close()
    assert sorted(str(m["X-Intake-Reference"]) for m in smtp.recorder.messages) == sorted(
        references
    )
    assert all("BODY=8BITMIME" in options for options in smtp.recorder.mail_options)
    assert (await store.counts())["delivered"] == 12
    assert "Model 3" in smtp.recorder.messages[3].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert not alive(pid), "close() stops the build process"


@pytest.mark.anyio
async def test_a_killed_build_process_costs_no_mail(
    store: SqliteStore, smtp: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = await submit(store, 6)
    delivering = building(store, settings_for(tmp_path, smtp_url=smtp.url), batch=10)
    await delivering.start()
    (pid,) = delivering._builder.pids
    os.kill(pid, signal.SIGKILL)
    with anyio.fail_after(20):
        while alive(pid):
            await anyio.sleep(0.02)
    try:
        with caplog.at_level(logging.WARNING, logger="intakeforms.delivery"):
            assert await delivering.run_once() == 6
        assert "a build process died" in caplog.text
        # The next batch has a build process again.
        second = await submit(store, 3)
        assert await delivering.run_once() == 3
        (replacement,) = delivering._builder.pids
        assert replacement != pid and alive(replacement)
    finally:
        await delivering.close()
    got = sorted(str(m["X-Intake-Reference"]) for m in smtp.recorder.messages)
    assert got == sorted(first + second)
    assert (await store.counts())["delivered"] == 9


@pytest.mark.anyio
async def test_a_build_error_in_the_process_dead_letters_that_job(
    store: SqliteStore, tmp_path: Path
) -> None:
    """The error crosses back from the build process with its words."""
    await submit(store, 2)
    settings = settings_for(tmp_path, mail_from="not an address")
    delivering = building(store, settings)
    try:
        assert await delivering.run_once() == 2
    finally:
        await delivering.close()
    jobs = await store.jobs()
    assert [job.status for job in jobs] == ["dead", "dead"]
    assert all("cannot build the agent email" in (job.last_error or "") for job in jobs)
    assert all("not an address" in (job.last_error or "") for job in jobs)


@pytest.mark.anyio
async def test_a_transport_a_process_cannot_take_builds_in_threads(
    store: SqliteStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    references = await submit(store, 3)
    settings = settings_for(tmp_path)

    class Stamped(EmlFolder):  # a local class: its bound method does not pickle
        def prepare(self, message: EmailMessage) -> PreparedFile:
            return replace(prepare_file(message), name=f"stamped-{message['X-Intake-Reference']}")

    delivering = Worker(
        store=store,
        forms=BY_ID,
        settings=settings,
        transport=Stamped(settings.mail_dir),
        builders=1,
    )
    with caplog.at_level(logging.WARNING, logger="intakeforms.delivery"):
        try:
            assert await delivering.run_once() == 3
        finally:
            await delivering.close()
    assert "in threads, not in build processes" in caplog.text
    assert delivering._builder.pids == ()
    names = sorted(path.name for path in settings.mail_dir.iterdir())
    assert names == sorted(f"stamped-{r}" for r in references)
