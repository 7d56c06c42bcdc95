"""Mail written as ``.eml`` files into a folder: the embedded default.

A newcomer without an SMTP server still sees every agent email: each one is a
file that any mail program opens. The file is named by the message's
``Message-ID``, so a retry of the same submission and target overwrites the
same file rather than adding a second one.

The mails hold customers' answers, so the folder is the service's user's
only (0700) and so is each file (0600). A folder left wider by an earlier
release (or made by hand) is tightened when the transport is made, with a
warning naming it and its mode; one that cannot be changed is only warned of.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import anyio.to_thread

from intakeforms.errors import TransientDeliveryError
from intakeforms.private_files import FILE_MODE, FOLDER_MODE, tighten

__all__ = ["FILE_MODE", "FOLDER_MODE", "EmlFolder", "PreparedFile", "eml_name", "prepare_file"]

logger = logging.getLogger("intakeforms.delivery")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def eml_name(message: EmailMessage) -> str:
    """The file name of ``message``: its ``Message-ID`` made safe, ``.eml``."""
    ident = str(message.get("Message-ID", "")).strip("<> ") or "message"
    name = _UNSAFE.sub("_", ident.split("@", 1)[0])[:120] or "message"
    return f"{name}.eml"


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A message as the bytes of its file, named ahead of writing."""

    name: str
    data: bytes


def prepare_file(message: EmailMessage) -> PreparedFile:
    """``message`` flattened for :meth:`EmlFolder.send`."""
    return PreparedFile(eml_name(message), bytes(message))


class EmlFolder:
    """Writes messages as ``<message-id>.eml`` files into ``folder``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        tighten(self.folder, "the mail folder", "its mails hold customers' answers", logger=logger)

    def path_for(self, message: EmailMessage) -> Path:
        """Where ``message`` is written."""
        return self.folder / eml_name(message)

    #: Flattens a message for :meth:`send` (a thread or build process).
    prepare = staticmethod(prepare_file)

    async def send(self, message: EmailMessage | PreparedFile) -> str:
        """Write the message; return its path as the receipt."""
        if not isinstance(message, PreparedFile):
            message = prepare_file(message)
        path = self.folder / message.name
        data = message.data
        try:
            await anyio.to_thread.run_sync(_write_atomically, path, data)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write {path}: {exc.strerror}") from exc
        return str(path)

    async def close(self) -> None:
        """Nothing to close: each message is its own file."""


def _write_atomically(path: Path, data: bytes) -> None:
    # A reader (or a crash) never sees half a message: write aside, flush,
    # then rename over the final name in one step.
    folder = path.parent
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # 0700 from the start, never wider for a moment.
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
    # mkstemp makes the file 0600, and the rename keeps its mode.
    handle, temporary = tempfile.mkstemp(prefix=".writing-", dir=folder)
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
