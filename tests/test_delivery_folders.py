"""Who may read the mail folder and the upload folder: the service's user only.

Both hold customers' answers and files: the folders are 0700 and the files
0600, whatever the umask, and a folder left wider by an earlier release is
tightened, with a warning that names it and its mode.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from file_modes import mode, usual_umask
from starlette.testclient import TestClient
from test_delivery import Clock, store, submit, worker
from test_web_uploads import RETURN, png
from web_helpers import FORMS, settings_for, token_from

from intakeforms.delivery.eml import EmlFolder
from intakeforms.store import SqliteStore
from intakeforms.web import create_app

# The fixtures, shared with test_delivery and file_modes.
__all__ = ["store", "usual_umask"]

pytestmark = pytest.mark.usefixtures("usual_umask")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_mail_folder_and_its_mails_are_private(
    store: SqliteStore, tmp_path: Path
) -> None:
    await submit(store, 2)
    settings = settings_for(tmp_path)
    delivering = worker(store, settings, Clock())
    assert await delivering.run_once() == 2
    await delivering.close()
    mails = list(settings.mail_dir.glob("*.eml"))
    assert len(mails) == 2
    assert mode(settings.mail_dir) == 0o700
    assert {mode(path) for path in mails} == {0o600}


@pytest.mark.anyio
async def test_a_wider_mail_folder_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "mail"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with caplog.at_level(logging.WARNING, logger="intakeforms"):
        EmlFolder(folder)
    assert mode(folder) == 0o700
    assert f"the mail folder {folder} could be read by other users (mode 755)" in caplog.text


def test_uploads_are_private(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, max_body_bytes=200_000)
    with TestClient(create_app(FORMS, settings)) as client:
        token = token_from(client.get("/forms/product-return").text)
        answer = client.post(
            "/forms/product-return/submissions",
            data={**RETURN, "_token": token},
            files=[("photos", ("kuva.png", png(), "image/png"))],
            headers={"accept": "application/json"},
        )
    assert answer.status_code == 201, answer.text
    uploads = settings.upload_dir
    (kept,) = [path for path in uploads.rglob("*") if path.is_file()]
    assert mode(uploads) == 0o700
    assert mode(kept.parent) == 0o700  # the two-letter folder under it
    assert mode(kept) == 0o600


def test_a_wider_upload_folder_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from intakeforms.web.uploads import spool_folder

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    os.chmod(uploads, 0o775)
    with caplog.at_level(logging.WARNING, logger="intakeforms"):
        spool = spool_folder(uploads)
    assert mode(uploads) == 0o700
    assert mode(spool) == 0o700
    assert f"the upload folder {uploads} could be read by other users (mode 775)" in caplog.text


def test_the_service_tightens_a_wider_upload_folder_when_it_starts(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    os.chmod(uploads, 0o755)
    with TestClient(create_app(FORMS, settings_for(tmp_path))) as client:
        assert client.get("/healthz").status_code == 200
        assert mode(uploads) == 0o700  # before any upload
