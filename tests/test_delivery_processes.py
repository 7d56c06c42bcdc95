"""Faults with real processes: a worker killed mid-batch, two workers sharing
one PostgreSQL store, and the service delivering in its own process."""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
from conftest import EXAMPLES
from smtp_server import SmtpServer
from test_store_backends import fresh_schema
from web_helpers import CAR_ANSWERS, FORMS

from intakeforms.store import NewSubmission, open_store

CAR = next(f for f in FORMS if f.id == "car-service")


def fill(store_url: str, n: int) -> list[str]:
    """Store ``n`` car-service submissions, each with one email job."""

    async def save() -> list[str]:
        store = open_store(store_url)
        await store.open()
        try:
            data = dict(CAR.validate(CAR_ANSWERS))
            references = []
            for _ in range(n):
                result = await store.save(
                    NewSubmission(
                        form=CAR.id,
                        form_version=CAR.version,
                        reference_prefix=CAR.reference_prefix,
                        locale="fi",
                        data=data,
                        targets=["email:0"],
                    )
                )
                references.append(result.reference)
            return references
        finally:
            await store.close()

    return anyio.run(save)


def counts(store_url: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        store = open_store(store_url)
        await store.open()
        try:
            return await store.counts()
        finally:
            await store.close()

    return anyio.run(read)


def start_worker(
    store_url: str, smtp: SmtpServer, folder: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "INTAKE_STORE": store_url,
        "INTAKE_SMTP_URL": smtp.url,
        "INTAKE_RETRY_BASE_SECONDS": "0.2",
        "INTAKE_RETRY_MAX_SECONDS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "intakeforms", "worker", str(EXAMPLES), *extra],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.stderr is not None
    process.stderr.close()


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (its build processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def received(smtp: SmtpServer) -> collections.Counter[str]:
    return collections.Counter(str(m["X-Intake-Reference"]) for m in smtp.recorder.messages)


def test_worker_killed_mid_batch_loses_nothing(smtp: SmtpServer, tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'intake.db'}"
    references = fill(store_url, 60)
    smtp.recorder.delay = 0.02
    first = start_worker(store_url, smtp, tmp_path, "--batch", "60", "--lease", "2")
    wait_until(lambda: len(smtp.recorder.messages) >= 15, 30, "the first deliveries")
    helpers = children_of(first.pid)
    assert helpers, "the worker builds its mail in a build process"
    first.send_signal(signal.SIGKILL)
    first.wait()
    # Its build processes do not outlive it.
    wait_until(lambda: not any(alive(pid) for pid in helpers), 10, "the build processes to go")
    assert first.stderr is not None
    first.stderr.close()
    delivered_before = len(smtp.recorder.messages)
    assert delivered_before < 60, "the worker finished before it was killed"
    # A new worker takes over the dead one's jobs once their lease runs out.
    second = start_worker(store_url, smtp, tmp_path, "--lease", "30")
    try:
        wait_until(lambda: set(received(smtp)) == set(references), 60, "every delivery")
        wait_until(lambda: counts(store_url)["delivered"] == 60, 30, "the store to agree")
    finally:
        stop(second)
    copies = received(smtp)
    # At most the message in flight when the worker died arrives twice.
    assert sum(copies.values()) - len(copies) <= 1


def test_two_workers_on_postgresql(smtp: SmtpServer, tmp_path: Path) -> None:
    with fresh_schema() as store_url:
        references = fill(store_url, 80)
        smtp.recorder.delay = 0.005
        workers = [start_worker(store_url, smtp, tmp_path, "--batch", "5") for _ in range(2)]
        try:
            wait_until(lambda: set(received(smtp)) == set(references), 60, "every delivery")
            wait_until(lambda: counts(store_url)["delivered"] == 80, 30, "the store to agree")
        finally:
            for process in workers:
                stop(process)
        copies = received(smtp)
        assert all(n == 1 for n in copies.values()), "a job was delivered twice"
        # Both took part: SKIP LOCKED shares the work instead of serialising it.
        assert len(smtp.recorder.sessions) >= 2


def test_postgresql_worker_killed_holding_a_lease(smtp: SmtpServer, tmp_path: Path) -> None:
    with fresh_schema() as store_url:
        references = fill(store_url, 40)
        smtp.recorder.delay = 0.05
        doomed = start_worker(store_url, smtp, tmp_path, "--batch", "40", "--lease", "2")
        wait_until(lambda: len(smtp.recorder.messages) >= 5, 30, "the first deliveries")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        assert doomed.stderr is not None
        doomed.stderr.close()
        other = start_worker(store_url, smtp, tmp_path)
        try:
            wait_until(lambda: set(received(smtp)) == set(references), 60, "every delivery")
            wait_until(lambda: counts(store_url)["delivered"] == 40, 30, "the store to agree")
        finally:
            stop(other)
        copies = received(smtp)
        assert sum(copies.values()) - len(copies) <= 1


def test_outbox_commands(smtp: SmtpServer, tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'intake.db'}"
    (reference,) = fill(store_url, 1)
    smtp.recorder.answers = ["550 5.1.1 no such mailbox"]
    once = start_worker(store_url, smtp, tmp_path, "--once")
    assert once.wait(timeout=60) == 0
    assert once.stderr is not None
    once.stderr.close()

    def outbox(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "intakeforms", "outbox", "--store", store_url, *args],
            capture_output=True,
            text=True,
            check=False,
        )

    listed = outbox("list", "--status", "dead")
    assert listed.returncode == 0
    assert "dead: 1" in listed.stdout and reference in listed.stdout and "550" in listed.stdout
    job_id = listed.stdout.splitlines()[-1].split()[0]
    shown = json.loads(outbox("show", job_id).stdout)
    assert shown["status"] == "dead" and "no such mailbox" in shown["last_error"]
    retried = outbox("retry", job_id)
    assert retried.returncode == 0 and "queued" in retried.stdout
    again = start_worker(store_url, smtp, tmp_path, "--once")
    assert again.wait(timeout=60) == 0
    assert again.stderr is not None
    again.stderr.close()
    assert received(smtp) == {reference: 1}
    assert "delivered: 1" in outbox("list").stdout
    assert outbox("retry", "999").returncode == 1


def test_serve_delivers_agent_emails_into_the_mail_folder(tmp_path: Path) -> None:
    from test_web_process import call, free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "intakeforms", "serve", str(EXAMPLES), "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "INTAKE_RATE_LIMIT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return call(f"{base}/healthz")[0] == 200
            except OSError:
                return False

        wait_until(up, 30, "the service")
        status, receipt = call(f"{base}/forms/car-service/submissions?lang=fi", CAR_ANSWERS)
        assert status == 201
        mail = tmp_path / "mail"
        wait_until(lambda: any(mail.glob("*.eml")), 30, "the agent email")
        (path,) = mail.glob("*.eml")
        text = path.read_bytes().decode()
        assert f"[{receipt['reference']}]" in text
        with sqlite3.connect(tmp_path / "intake.db") as db:
            (status_text,) = db.execute("SELECT status FROM outbox").fetchone()
        assert status_text == "delivered"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
