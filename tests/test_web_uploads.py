"""File uploads: multipart, magic bytes, random names outside served folders."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import FORMS, settings_for, token_from

from intakeforms.web import create_app

RETURN = {
    "order_number": "W-482913",
    "product": "Sauvasekoitin BX-200",
    "purchase_date": "2025-03-14",
    "reason": "changed_mind",
    "included": "product",
    "resolution": "refund",
    "is_company": "false",
    "name": "Laura Nieminen",
    "email": "laura@example.com",
}


def png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(FORMS, settings_for(tmp_path, max_body_bytes=200_000))
    with TestClient(app) as test_client:
        yield test_client


def test_upload_is_kept_under_a_random_name(client: TestClient, tmp_path: Path) -> None:
    token = token_from(client.get("/forms/product-return").text)
    answer = client.post(
        "/forms/product-return/submissions",
        data={**RETURN, "_token": token},
        files=[("photos", ("../../etc/kuva.png", png(), "image/png"))],
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]
    with sqlite3.connect(tmp_path / "intake.db") as db:
        name, kind, size, path = db.execute(
            "SELECT name, content_type, size, path FROM submission_files WHERE reference = ?",
            (reference,),
        ).fetchone()
    assert (name, kind, size) == ("kuva.png", "image/png", len(png()))
    stored = tmp_path / "uploads" / path
    assert stored.read_bytes() == png()
    assert "kuva" not in path
    # Nothing of the upload folder is reachable over HTTP.
    assert client.get(f"/assets/../uploads/{path}").status_code == 404
    # The temporary spool folders are gone.
    assert not list((tmp_path / "uploads").glob(".incoming-*"))


def test_declared_type_is_not_trusted(client: TestClient, tmp_path: Path) -> None:
    answer = client.post(
        "/forms/product-return/submissions",
        data=RETURN,
        files=[("photos", ("kuva.png", b"<html><script>alert(1)</script>", "image/png"))],
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 422
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("photos", "file_type")]
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


def test_too_many_files(client: TestClient) -> None:
    files = [("photos", (f"{i}.png", png(), "image/png")) for i in range(6)]
    answer = client.post(
        "/forms/product-return/submissions",
        data=RETURN,
        files=files,
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "too_many_files"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = png() + b"\x00" * 300_000
    answer = client.post(
        "/forms/product-return/submissions",
        data=RETURN,
        files=[("photos", ("big.png", big, "image/png"))],
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 413


def test_empty_file_input_is_no_answer(client: TestClient) -> None:
    answer = client.post(
        "/forms/product-return/submissions",
        data=RETURN,
        files=[("photos", ("", b"", "application/octet-stream"))],
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text


def test_spam_uploads_are_kept_in_quarantine(client: TestClient, tmp_path: Path) -> None:
    # A customer judged a bot by mistake is released whole, photos included.
    answer = client.post(
        "/forms/product-return/submissions",
        data=RETURN,  # no time-trap token: judged a bot
        files=[("photos", ("kuva.png", png(), "image/png"))],
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 201
    kept = [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in kept] == [png()]
    with sqlite3.connect(tmp_path / "intake.db") as db:
        rows = db.execute(
            "SELECT s.spam, f.path FROM submissions s JOIN submission_files f USING (reference)"
        ).fetchall()
        jobs = db.execute("SELECT count(*) FROM outbox").fetchone()
    assert rows == [(1, str(kept[0].relative_to(tmp_path / "uploads")))]
    assert jobs == (0,)  # quarantined: nothing is delivered until released


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    boundary = "intakeboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:
        # No Content-Length: only counting the body as it arrives can stop it.
        yield head + png()
        for _ in range(40):
            yield b"\x00" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = client.post(
        "/forms/product-return/submissions",
        content=chunks(),
        headers={
            "content-type": f"multipart/form-data; boundary={boundary}",
            "accept": "application/json",
        },
    )
    assert answer.status_code == 413
