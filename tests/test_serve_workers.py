"""``intakeforms serve --workers 2``: two real processes on one loopback port.

Which process answered a request is read from the operating system, not
from the service: a kept-alive connection's socket is held by the one
process that accepted it, so the connection's owner (found through
``/proc``) is the process that answers every request sent on it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from web_helpers import CAR_ANSWERS

from intakeforms.cli import main

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="tells the processes apart through Linux's /proc"
)

SUBMIT = "/forms/car-service/submissions"
SERVE = (sys.executable, "-m", "intakeforms", "serve")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    #: Every connection made, closed when the test ends.
    opened: list[http.client.HTTPConnection] = field(default_factory=list)

    def workers(self) -> set[int]:
        """The processes uvicorn started to serve (not its resource tracker)."""
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"spawn_main" in command:
                found.add(int(entry.name))
        return found

    def stored(self, query: str, *values: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.folder / "intake.db") as db:
            return db.execute(query, values).fetchall()


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return fields[9]
    return None


def _holder(inode: str, pids: set[int]) -> int | None:
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Peer:
    """A kept-alive connection, and the process at its other end."""

    def __init__(self, service: Service, pids: set[int]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=20)
        service.opened.append(self.connection)
        assert self.call("GET", "/healthz")[0] == 200
        sock = self.connection.sock
        assert sock is not None
        inode = _socket_inode(service.port, sock.getsockname()[1])
        assert inode is not None
        self.pid = _holder(inode, pids)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **headers: str
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["content-type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        answer = self.connection.getresponse()
        raw = answer.read()
        try:
            return answer.status, json.loads(raw)
        except ValueError:
            return answer.status, raw.decode()

    def close(self) -> None:
        self.connection.close()


def one_peer_each(service: Service) -> dict[int, Peer]:
    """A connection to each of the two processes (the kernel picks which
    process accepts a connection, so connect until both have one)."""
    pids = service.workers()
    assert len(pids) == 2, pids
    peers: dict[int, Peer] = {}
    for _ in range(200):
        peer = Peer(service, pids)
        assert peer.pid in pids
        if peer.pid in peers:
            peer.close()
            time.sleep(0.01)
        else:
            peers[peer.pid] = peer
        if len(peers) == 2:
            return peers
    raise AssertionError("every connection went to one process")


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[Service] = []

    def run(**settings: str) -> Service:
        port = free_port()
        env = {
            **os.environ,
            "INTAKE_MIN_FILL_SECONDS": "0",
            "INTAKE_RATE_LIMIT": "0",
            **settings,
        }
        env.pop("INTAKE_SECRET", None)
        process = subprocess.Popen(
            [*SERVE, str(EXAMPLES), "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        service = Service(port, tmp_path, process)
        started.append(service)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                peer = Peer(service, service.workers())
                peer.close()
                if len(service.workers()) == 2:
                    return service
            except (OSError, AssertionError):
                pass
            time.sleep(0.2)
        process.kill()
        output = process.communicate()[0].decode()
        raise AssertionError(f"the service did not start:\n{output}")

    yield run
    for service in started:
        for connection in service.opened:
            connection.close()
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
            try:
                service.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.communicate()


def test_two_processes_answer_on_one_port(start: Any) -> None:
    service = start()
    peers = one_peer_each(service)
    references = set()
    for peer in peers.values():
        status, receipt = peer.call("POST", SUBMIT, CAR_ANSWERS)
        assert status == 201, receipt
        references.add(receipt["reference"])
        peer.close()
    assert len(references) == 2
    assert {r for (r,) in service.stored("SELECT reference FROM submissions")} == references


def test_concurrent_submissions_are_all_stored_and_each_mailed_once(start: Any) -> None:
    service = start()
    pids = service.workers()
    each = 8
    # One sender on a connection to each process, and more on connections
    # the kernel hands to either, all at once.
    senders = [*one_peer_each(service).values()]
    senders += [Peer(service, pids) for _ in range(6)]
    barrier = threading.Barrier(len(senders))

    def submit(peer: Peer) -> list[tuple[int, str, int | None]]:
        barrier.wait()
        sent = []
        for _ in range(each):
            status, receipt = peer.call("POST", SUBMIT, CAR_ANSWERS)
            sent.append((status, receipt.get("reference", ""), peer.pid))
        return sent

    with ThreadPoolExecutor(len(senders)) as pool:
        results = [one for sent in pool.map(submit, senders) for one in sent]
    assert {status for status, _, _ in results} == {201}
    assert {pid for _, _, pid in results} == pids
    references = [reference for _, reference, _ in results]
    assert len(set(references)) == len(senders) * each
    assert sorted(r for (r,) in service.stored("SELECT reference FROM submissions")) == sorted(
        references
    )
    # Both processes deliver: each agent email is written once, whichever
    # process claimed its job.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = service.stored("SELECT count(*) FROM outbox WHERE status <> 'delivered'")
        if waiting == [(0,)]:
            break
        time.sleep(0.2)
    mails = [path.read_bytes().decode() for path in (service.folder / "mail").glob("*.eml")]
    mailed = [m.group(1) for text in mails for m in [re.search(r"\[(CAR-[0-9A-Z]+)\]", text)] if m]
    assert sorted(mailed) == sorted(references)


def test_an_idempotency_key_means_one_submission_in_either_process(start: Any) -> None:
    service = start()
    first, second = one_peer_each(service).values()
    key = f"retry-{uuid.uuid4()}"
    status, receipt = first.call("POST", SUBMIT, CAR_ANSWERS, **{"idempotency-key": key})
    assert status == 201
    again = second.call("POST", SUBMIT, CAR_ANSWERS, **{"idempotency-key": key})
    assert again == (201, receipt)

    # Both at once, each process first to see the key.
    key = f"race-{uuid.uuid4()}"
    barrier = threading.Barrier(2)

    def send(peer: Peer) -> tuple[int, Any]:
        barrier.wait()
        return peer.call("POST", SUBMIT, CAR_ANSWERS, **{"idempotency-key": key})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, (first, second)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 201
    assert service.stored("SELECT count(*) FROM submissions") == [(2,)]


def test_the_rate_limit_counts_across_processes(start: Any) -> None:
    service = start(INTAKE_RATE_LIMIT="4/minute")
    first, second = one_peer_each(service).values()
    statuses = []
    for _ in range(4):
        for peer in (first, second):
            statuses.append(peer.call("POST", SUBMIT, CAR_ANSWERS)[0])
    # Counted in each process alone, each would have let 4 through.
    assert statuses == [201, 201, 201, 201, 429, 429, 429, 429]
    assert service.stored("SELECT count(*) FROM submissions") == [(4,)]


def test_a_page_from_one_process_is_accepted_by_the_other(start: Any) -> None:
    """Without INTAKE_SECRET, the processes share one made-up secret, so the
    time-trap token one of them signs is no forgery to the other."""
    service = start()
    first, second = one_peer_each(service).values()
    status, spec = first.call("GET", "/forms/car-service/spec.json")
    assert status == 200
    status, receipt = second.call("POST", SUBMIT, {**CAR_ANSWERS, "_token": spec["token"]})
    assert status == 201
    stored = service.stored(
        "SELECT spam FROM submissions WHERE reference = ?", receipt["reference"]
    )
    assert stored == [(0,)]


@pytest.mark.parametrize("given", ["0", "-2", "two"])
def test_a_worker_count_below_one_is_refused(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", str(EXAMPLES), "--workers", given])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "argument --workers:" in error
    assert "write 1 or more" in error


def test_a_broken_form_stops_the_start_before_any_process(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "broken.yaml").write_text("id: broken\ntitle: Broken\nfields:\n  - type: nosuch\n")
    done = subprocess.run(
        [*SERVE, str(forms), "--workers", "2", "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert re.search(r"broken\.yaml:\d+:\d+: ", done.stderr), done.stderr
    assert "Started" not in done.stderr + done.stdout


def test_metrics_and_an_in_memory_store_are_refused_with_workers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTAKE_METRICS", "127.0.0.1:9464")
    assert main(["serve", str(EXAMPLES), "--workers", "2"]) == 1
    assert "each of the 2 processes counts on its own" in capsys.readouterr().err
    monkeypatch.delenv("INTAKE_METRICS")
    monkeypatch.setenv("INTAKE_STORE", "sqlite:///:memory:")
    assert main(["serve", str(EXAMPLES), "--workers", "3"]) == 1
    assert "in-memory SQLite database" in capsys.readouterr().err


def test_each_process_leaves_its_start_up_objects_out_of_collections(tmp_path: Path) -> None:
    """A process of ``serve --workers`` (uvicorn calls the factory in each)
    freezes what it made before its first request: a full garbage
    collection no longer walks the forms, catalogs and modules (tens of
    milliseconds, in the middle of requests), only what came after."""
    from intakeforms.serve import PLAN_VARIABLE, Plan

    plan = Plan(paths=(str(EXAMPLES),), deliver=False, workers=2, secret="s" * 32)
    script = (
        "import gc\n"
        "from intakeforms.cli import app_from_environment\n"
        "app = app_from_environment()\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    environment = {
        **os.environ,
        PLAN_VARIABLE: plan.to_json(),
        "INTAKE_STORE": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_MAIL_DIR": str(tmp_path / "mail"),
        "INTAKE_UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    frozen, walked = map(int, done.stdout.split())
    # The examples' service is some 70,000 objects; what a collection still
    # walks is what the collection itself and the print made.
    assert frozen > 20_000
    assert walked < frozen / 20
