"""``intakeforms spam|export|erase|purge`` on real SQLite and PostgreSQL.

Each test stores submissions with a store of its own, then runs the command
as an operator would, with ``--store`` (or ``INTAKE_STORE``) and the upload
folder from ``INTAKE_UPLOAD_DIR``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from conftest import EXAMPLES, ROOT
from test_privacy import DAY, NOW, deliver_all, keep_file, saved
from test_store_backends import Backend, StillClock, backend

from intakeforms.cli import main
from intakeforms.store import DraftRecord, Store, new_worker_id

_T = TypeVar("_T")

__all__ = ["backend"]  # the fixture, shared with test_store_backends


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setenv("INTAKE_UPLOAD_DIR", str(folder))
    monkeypatch.delenv("INTAKE_STORE", raising=False)
    monkeypatch.delenv("INTAKE_SETTINGS", raising=False)
    return folder


def with_store(
    backend: Backend, work: Callable[[Store], Awaitable[_T]], clock: StillClock | None = None
) -> _T:
    """Run ``work`` on a store of ``backend`` opened for it alone."""

    async def run() -> _T:
        store = backend.make(clock)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return anyio.run(run)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command's exit status, standard output and standard error."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- spam list ---------------------------------------------------------------------------


def test_spam_list_shows_reference_form_when_and_why_and_no_answers(
    backend: Backend, uploads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed(store: Store) -> list[str]:
        return [
            await saved(store, spam=True, name="Roskaposti Robotti"),
            await saved(store, spam=True, name="Toinen Robotti"),
            await saved(store, name="Aito Asiakas"),
        ]

    first, second, accepted = with_store(backend, seed, StillClock(NOW))
    status, out, err = run(capsys, "spam", "list", "--store", backend.url)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["reference", "form", "submitted", "(UTC)", "why"]
    assert {line.split()[0] for line in lines[1:]} == {first, second}
    assert all("car-service  2026-05-04 12:00:00  honeypot filled" in line for line in lines[1:])
    assert accepted not in out and "Robotti" not in out and "matti" not in out
    assert "2 quarantined submission(s)" in err

    status, out, _ = run(capsys, "spam", "list", "--json", "--store", backend.url)
    rows = json.loads(out)
    assert {row["reference"] for row in rows} == {first, second}
    assert rows[0]["form"] == "car-service" and rows[0]["reason"] == "honeypot filled"
    assert dt.datetime.fromisoformat(rows[0]["submitted_at"]) == NOW
    assert set(rows[0]) == {"reference", "form", "submitted_at", "reason"}

    status, out, err = run(
        capsys, "spam", "list", "--form", "product-return", "--store", backend.url
    )
    assert (status, out) == (0, "")
    assert "0 quarantined submission(s) of product-return" in err
    status, out, err = run(capsys, "spam", "list", "--limit", "1", "--store", backend.url)
    assert len(out.splitlines()) == 2 and "--limit shows more" in err


# -- spam release ------------------------------------------------------------------------


def test_a_released_submission_is_delivered_as_if_it_had_been_accepted(
    backend: Backend,
    uploads: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spam = with_store(backend, lambda store: saved(store, spam=True))
    status, out, err = run(
        capsys, "spam", "release", spam.lower(), "--forms", str(EXAMPLES), "--store", backend.url
    )
    assert (status, err) == (0, "")
    assert out == f"{spam}: released; queued email:0\n"

    async def state(store: Store) -> tuple[bool, list[tuple[str, str]]]:
        found = await store.get(spam)
        assert found is not None
        return found.spam, [(job.target, job.status) for job in await store.outbox(spam)]

    assert with_store(backend, state) == (False, [("email:0", "pending")])
    # The worker delivers it like any other submission.
    monkeypatch.setenv("INTAKE_STORE", backend.url)
    monkeypatch.setenv("INTAKE_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("INTAKE_MAIL_BUILDERS", "0")
    assert main(["worker", str(EXAMPLES), "--once"]) == 0
    mails = list((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 1 and f"[{spam}]" in mails[0].read_text(encoding="utf-8")
    assert with_store(backend, state) == (False, [("email:0", "delivered")])
    # Released once: a second release says so.
    status, _, err = run(
        capsys, "spam", "release", spam, "--forms", str(EXAMPLES), "--store", backend.url
    )
    assert status == 1
    assert f"{spam}: not quarantined spam (it was accepted); nothing to release" in err


def test_release_refuses_what_it_cannot_release(
    backend: Backend, uploads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed(store: Store) -> tuple[str, str]:
        return await saved(store, spam=True), await saved(store)

    spam, accepted = with_store(backend, seed)
    status, out, err = run(
        capsys,
        "spam",
        "release",
        "CAR-000000",
        accepted,
        spam,
        "--forms",
        str(ROOT / "tests" / "forms"),
        "--store",
        backend.url,
    )
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        "CAR-000000: no such submission in the store",
        f"{accepted}: not quarantined spam (it was accepted); nothing to release",
        f"{spam}: its form 'car-service' is not among the forms given with --forms; "
        "give the form files the service runs with",
    ]
    with pytest.raises(SystemExit) as usage:
        main(["spam", "release", spam, "--store", backend.url])
    assert usage.value.code == 2
    assert "--forms" in capsys.readouterr().err


# -- spam delete -------------------------------------------------------------------------


def test_spam_delete_removes_it_and_its_files(
    backend: Backend, uploads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = keep_file(uploads)

    async def seed(store: Store) -> tuple[str, str]:
        return await saved(store, spam=True, files=(photo,)), await saved(store)

    spam, accepted = with_store(backend, seed)
    status, out, err = run(capsys, "spam", "delete", spam, accepted, "--store", backend.url)
    assert status == 1
    assert out == f"{spam}: deleted, with 1 uploaded file(s)\n"
    assert err == (
        f"{accepted}: not quarantined spam; an accepted submission is removed "
        f"with intakeforms erase {accepted}\n"
    )
    assert not (uploads / photo.path).exists()

    async def exists(store: Store) -> tuple[bool, bool]:
        return await store.get(spam) is not None, await store.get(accepted) is not None

    assert with_store(backend, exists) == (False, True)
    status, _, err = run(capsys, "spam", "delete", spam, "--store", backend.url)
    assert (status, err) == (1, f"{spam}: no such submission in the store\n")


# -- export and erase --------------------------------------------------------------------


def test_export_prints_everything_stored_about_one_submission(
    backend: Backend, uploads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = keep_file(uploads)

    async def seed(store: Store) -> str:
        reference = await saved(store, files=(photo,), targets=("email:0", "webhook:1"))
        worker = new_worker_id()
        first, second = await store.claim(worker, limit=2, lease_seconds=60)
        await store.complete(first.job.id, worker=worker, receipt="250 OK queued")
        await store.retry_later(
            second.job.id, worker=worker, error="HTTP 503", at=NOW + dt.timedelta(hours=1)
        )
        return reference

    reference = with_store(backend, seed, StillClock(NOW))
    status, out, err = run(capsys, "export", reference.lower(), "--store", backend.url)
    assert (status, err) == (0, "")
    exported = json.loads(out)
    assert exported["reference"] == reference and exported["form"] == "car-service"
    assert exported["data"]["name"] == "Matti Meikäläinen"
    assert exported["data"]["plate"] == "ABC-123"
    assert exported["client"] == "203.0.113.5"
    assert (exported["spam"], exported["erased"], exported["erased_at"]) == (False, False, None)
    assert dt.datetime.fromisoformat(exported["submitted_at"]) == NOW
    assert exported["files"] == [
        {
            "field": "photos",
            "name": "kuva.png",
            "content_type": "image/png",
            "size": photo.size,
            "stored_as": photo.path,
        }
    ]
    jobs = {job["target"]: job for job in exported["deliveries"]}
    assert jobs["email:0"]["status"] == "delivered"
    assert jobs["email:0"]["receipt"] == "250 OK queued"
    assert (jobs["webhook:1"]["status"], jobs["webhook:1"]["attempts"]) == ("pending", 1)
    assert jobs["webhook:1"]["last_error"] == "HTTP 503"
    assert jobs["webhook:1"]["created_at"] and jobs["email:0"]["delivered_at"]
    # The bytes of files are not exported: where they are kept is.
    assert "photo bytes" not in out

    status, _, err = run(capsys, "export", "CAR-000000", "--store", backend.url)
    assert (status, err) == (1, "CAR-000000: no such submission in the store\n")


def test_erase_removes_answers_and_files_and_the_reference_stays_known(
    backend: Backend, uploads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = keep_file(uploads)

    async def seed(store: Store) -> tuple[str, str]:
        erased = await saved(store, files=(photo,), symptoms="Erikoinen kolina")
        return erased, await saved(store)

    reference, other = with_store(backend, seed)
    status, out, err = run(capsys, "erase", reference, "CAR-000000", "--store", backend.url)
    assert status == 1
    assert out == f"{reference}: erased, with 1 uploaded file(s)\n"
    assert err == "CAR-000000: no such submission in the store\n"
    assert not (uploads / photo.path).exists()

    status, out, _ = run(capsys, "export", reference, "--store", backend.url)
    exported = json.loads(out)
    assert exported["erased"] is True
    erased_at = dt.datetime.fromisoformat(exported["erased_at"])
    assert abs(erased_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert (exported["data"], exported["files"], exported["client"]) == ({}, [], None)
    assert [(j["status"], j["last_error"], j["receipt"]) for j in exported["deliveries"]] == [
        ("dead", "erased", None)
    ]
    assert "Erikoinen" not in out and "Matti" not in out

    status, out, _ = run(capsys, "erase", reference, "--store", backend.url)
    assert status == 0
    assert out.startswith(f"{reference}: already erased on {erased_at.year}-")
    # The other submission is untouched.
    status, out, _ = run(capsys, "export", other, "--store", backend.url)
    assert json.loads(out)["data"]["name"] == "Matti Meikäläinen"


def test_erase_warns_when_the_files_are_not_in_the_upload_folder(
    backend: Backend, uploads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    photo = keep_file(elsewhere)
    reference = with_store(backend, lambda store: saved(store, files=(photo,)))
    status, out, err = run(capsys, "erase", reference, "--store", backend.url)
    assert status == 0
    assert out == f"{reference}: erased, with 0 uploaded file(s)\n"
    assert f"warning: 1 uploaded file(s) were not found in {uploads}" in err
    assert "set INTAKE_UPLOAD_DIR as the service has it" in err


def test_an_addresss_drafts_are_exported_and_erased_by_email(
    backend: Backend, uploads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = dt.datetime.now(dt.UTC)

    def kept(draft_id: str, email: str) -> DraftRecord:
        return DraftRecord(
            draft_id, "car-service", "fi", {"plate": "ABC-123"}, email, now, now + 7 * DAY
        )

    mine, theirs = "a" * 32, "b" * 32

    async def seed(store: Store) -> None:
        await store.save_draft(kept(mine, "Matti@Example.com"))
        await store.save_draft(kept(theirs, "liisa@example.com"))

    with_store(backend, seed)
    argv = ("--email", "MATTI@example.com", "--store", backend.url)
    status, out, err = run(capsys, "export", *argv)
    assert (status, err) == (0, "")
    [exported] = json.loads(out)["drafts"]
    assert (exported["id"], exported["email"]) == (mine, "Matti@Example.com")
    assert exported["data"] == {"plate": "ABC-123"} and exported["mail_sent_at"] is None
    assert dt.datetime.fromisoformat(exported["expires_at"]) == now + 7 * DAY

    status, out, err = run(capsys, "erase", *argv)
    assert (status, out, err) == (0, "drafts of address: deleted 1\n", "")
    status, out, _ = run(capsys, "export", *argv)
    assert (status, json.loads(out)) == (0, {"drafts": []})

    async def left(store: Store) -> list[str]:
        return [d.id for d in await store.drafts_of("liisa@example.com")]

    assert with_store(backend, left) == [theirs]
    status, out, err = run(capsys, "erase", "--email", " ", "--store", backend.url)
    assert status == 1 and "address is empty" in err
    for both in (["erase", "--store", backend.url], ["export", "CAR-000000", *argv]):
        with pytest.raises(SystemExit) as done:
            main(both)
        assert done.value.code == 2
    assert "one of the arguments REF --email is required" in capsys.readouterr().err


# -- purge -------------------------------------------------------------------------------


def test_purge_applies_the_retention_settings_now(
    backend: Backend,
    uploads: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photo = keep_file(uploads)
    old = StillClock(dt.datetime.now(dt.UTC) - 100 * DAY)

    async def seed(store: Store) -> list[str]:
        references = [await saved(store, files=(photo,)), await saved(store, spam=True)]
        await deliver_all(store)
        expired = DraftRecord(
            "0123456789abcdef0123456789abcdef",
            "car-service",
            "fi",
            {"plate": "ABC-123"},
            "matti@example.com",
            old.now,
            old.now + 7 * DAY,
        )
        await store.save_draft(expired)
        return references

    delivered, spam = with_store(backend, seed, old)
    status, out, err = run(capsys, "purge", "--store", backend.url)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "delivered submissions: kept (INTAKE_RETENTION_DAYS is not set)"
    assert lines[1].startswith("spam: deleted 1 submitted before ")
    assert lines[2].startswith("client addresses: forgot 1 of submissions before ")
    assert lines[3].startswith("FAQ search text: blanked 0 of searches before ")
    assert lines[4] == "drafts: deleted 1 expired"
    assert lines[5].startswith("visitor events: deleted 0 before ")
    assert lines[6] == "uploaded files: removed 0"

    monkeypatch.setenv("INTAKE_RETENTION_DAYS", "90")
    status, out, _ = run(capsys, "purge", "--store", backend.url)
    assert status == 0
    assert out.splitlines()[0].startswith("delivered submissions: erased 1 submitted before ")
    assert out.splitlines()[-1] == "uploaded files: removed 1"
    assert not (uploads / photo.path).exists()

    async def read(store: Store) -> Any:
        return await store.get(delivered), await store.get(spam)

    found, gone = with_store(backend, read)
    assert found.erased and gone is None


def test_a_store_that_cannot_be_opened_is_a_clear_error(
    uploads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'intake.db'}"
    for argv in (["purge"], ["export", "CAR-000000"], ["spam", "list"], ["erase", "CAR-1"]):
        status, _, err = run(capsys, *argv, "--store", missing)
        assert status == 1
        assert "is unavailable" in err and "check that the folder" in err
    status, _, err = run(capsys, "purge", "--store", "mysql://db/intake")
    assert status == 1 and "INTAKE_STORE has a 'mysql' URL" in err
