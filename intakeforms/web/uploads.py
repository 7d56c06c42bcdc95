"""Uploaded files: checked by their own magic bytes, stored under random names.

A browser's declared type is the customer's say-so; the bytes decide. Files
live in the upload folder, which the app never serves.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype

__all__ = ["Upload", "detect_type", "discard", "keep"]

_READ = 8192


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
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload.spool, target)
    os.chmod(target, 0o600)
    return relative.as_posix()


def discard(paths: list[Path]) -> None:
    """Remove files that will not be kept (an error after they were written)."""
    for path in paths:
        path.unlink(missing_ok=True)


def spool_folder(upload_dir: Path) -> Path:
    """A temporary folder on the same file system as the uploads, so keeping
    a file is a rename."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".incoming-", dir=upload_dir))
