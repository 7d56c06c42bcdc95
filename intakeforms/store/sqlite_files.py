"""The SQLite store's files on disk: who may read them, and which file it is.

The database holds customers' answers and addresses, so its file is made
readable by the service's user only (0600). SQLite gives the ``-wal`` and
``-shm`` files it makes beside the database the database file's mode, so
making the database file first, 0600, is enough for all three; files left
wider by an earlier release are tightened once, with a warning.
"""

from __future__ import annotations

import logging
import os

from intakeforms.private_files import FILE_MODE, tighten

__all__ = ["PRIVATE_MODE", "SIDE_FILES", "file_id", "make_private"]

logger = logging.getLogger("intakeforms.store")

#: Read and write for the owner only.
PRIVATE_MODE = FILE_MODE
#: The files SQLite keeps beside a database in WAL mode.
SIDE_FILES = ("-wal", "-shm")


def make_private(database: str) -> None:
    """Create ``database`` empty with mode 0600 if it is missing, and take
    the group's and others' rights away from it and its side files.

    Failures are left for SQLite to report in its words (a missing folder)
    or only logged (a file owned by another user cannot be changed).
    """
    try:
        # O_EXCL: never touch a file someone else is making at this moment;
        # SQLite takes an empty file for a new database.
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    except FileExistsError:
        pass
    except OSError:
        return  # a missing folder, say: SQLite's own error explains it
    for path in (database, *(database + side for side in SIDE_FILES)):
        tighten(path, "the store file", "it holds personal data", logger=logger)


def file_id(database: str) -> tuple[int, int] | None:
    """The file's (device, inode), or None when it is gone.

    Raises ``OSError`` when it cannot be looked at (a folder without the
    right to search it).
    """
    try:
        info = os.stat(database)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino
