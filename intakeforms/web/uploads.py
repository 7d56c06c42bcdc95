"""Uploaded files: checked by their own magic bytes, stored under random names.

A browser's declared type is the customer's say-so; the bytes decide. Files
live in the upload folder, which the app never serves.

Customers' files are personal data: the upload folder, its sub-folders and
the spool folders are made readable by the service's user only (0700), and
each kept file 0600. A folder left wider by an earlier release (or made by
hand) is tightened the first time it is used, with a warning that names it
and its mode; one that cannot be changed (another user's) is only warned of.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import filetype

from intakeforms.private_files import FILE_MODE, FOLDER_MODE, tighten

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "Upload",
    "detect_type",
    "discard",
    "keep",
    "private_folder",
    "spool_folder",
]

logger = logging.getLogger("intakeforms.web")

_READ = 8192

# Existing folders whose mode this process has checked: once, not per upload.
_PRIVATE: set[Path] = set()
_PRIVATE_LOCK = threading.Lock()


@dataclass
class Upload:
    """One received file, still in a temporary spool file."""

    field: str
    name: str
    declared_type: str
    size: int
    spool: Path
    detected_type: str | None = None


def detect_type(head: bytes) -> str | None:
    """The media type the file's first bytes prove, or None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    kind = filetype.guess(head)
    return None if kind is None else str(kind.mime)


def clean_name(name: str) -> str:
    """The file's name without folders or control characters, for agents to read."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*')
    return cleaned[:200] or "file"


def keep(upload: Upload, folder: Path) -> str:
    """Move the spooled file into ``folder`` under a random name; return that
    name relative to ``folder``."""
    token = secrets.token_hex(16)
    relative = Path(token[:2]) / token[2:]
    target = folder / relative
    private_folder(folder)
    private_folder(target.parent)
    os.replace(upload.spool, target)
    os.chmod(target, FILE_MODE)
    return relative.as_posix()


def discard(paths: list[Path]) -> None:
    """Remove files that will not be kept (an error after they were written)."""
    for path in paths:
        path.unlink(missing_ok=True)


def spool_folder(upload_dir: Path) -> Path:
    """A temporary folder on the same file system as the uploads, so keeping
    a file is a rename."""
    private_folder(upload_dir)
    # mkdtemp makes it 0700.
    return Path(tempfile.mkdtemp(prefix=".incoming-", dir=upload_dir))


def private_folder(folder: Path) -> Path:
    """Make ``folder`` (and missing parents) if it is missing, else take the
    group's and others' rights away from it (once per folder and process).

    A new folder is made 0700 from the start (never wider for a moment);
    an existing wider one is tightened with a warning naming it and its
    mode. ``OSError`` when it cannot be made.
    """
    try:
        folder.mkdir(mode=FOLDER_MODE)
        return folder
    except FileNotFoundError:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        return folder
    except FileExistsError:
        pass
    with _PRIVATE_LOCK:
        seen = folder in _PRIVATE
        _PRIVATE.add(folder)
    if not seen:
        tighten(folder, "the upload folder", "it holds customers' files", logger=logger)
    return folder
