"""The service as a real process: ``intakeforms serve`` under uvicorn."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from web_helpers import CAR_ANSWERS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(url: str, body: dict[str, Any] | None = None, **headers: str) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        # The error holds the open response: close it, or its socket leaks.
        with error:
            raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "INTAKE_MIN_FILL_SECONDS": "0", "INTAKE_RATE_LIMIT": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "intakeforms", "serve", str(EXAMPLES), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if call(f"{base}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        output = process.communicate()[0].decode()
        raise AssertionError(f"the service did not start:\n{output}")
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_serve_on_embedded_defaults(
    server: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    base, process = server
    status, page = call(f"{base}/forms/car-service?lang=fi")
    assert status == 200 and "Rekisterinumero" in page
    status, receipt = call(f"{base}/forms/car-service/submissions", CAR_ANSWERS)
    assert status == 201
    # A link's token is not readable in the access log, even a damaged one.
    status, _ = call(f"{base}/forms/car-service?t=SECRET-TOKEN-TEXT&lang=fi")
    assert status == 400
    # The embedded default store: a SQLite file in the working folder.
    with sqlite3.connect(tmp_path / "intake.db") as db:
        (data,) = db.execute(
            "SELECT data FROM submissions WHERE reference = ?", (receipt["reference"],)
        ).fetchone()
    assert json.loads(data)["plate"] == "ABC-123"
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=20)[0].decode()
    # uvicorn finishes its shutdown, then lets the signal end the process.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Serving 4 form(s)" in output
    assert "GET /forms/car-service?t=…&lang=fi" in output
    assert "SECRET-TOKEN-TEXT" not in output


def test_serve_refuses_broken_forms(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("form: bad\ntitle: B\nfields: [{name: a, type: emial}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "intakeforms", "serve", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 1
    assert "bad.yaml:3:" in done.stderr


def test_serve_refuses_bad_settings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intakeforms", "serve", str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={**os.environ, "INTAKE_RATE_LIMIT": "lots"},
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "INTAKE_RATE_LIMIT" in done.stderr


def test_show_finds_the_stored_submission(
    server: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    base, _ = server
    status, receipt = call(f"{base}/forms/car-service/submissions?lang=fi", CAR_ANSWERS)
    assert status == 201
    shown = subprocess.run(
        [sys.executable, "-m", "intakeforms", "show", receipt["reference"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    stored = json.loads(shown.stdout)
    assert stored["reference"] == receipt["reference"]
    assert stored["locale"] == "fi"
    assert stored["data"]["plate"] == "ABC-123"
    missing = subprocess.run(
        [sys.executable, "-m", "intakeforms", "show", "CAR-000000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "no submission CAR-000000" in missing.stderr
