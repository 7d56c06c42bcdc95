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
import stat

__all__ = ["PRIVATE_MODE", "SIDE_FILES", "file_id", "make_private"]

logger = logging.getLogger("intakeforms.store")

#: Read and write for the owner only.
PRIVATE_MODE = 0o600
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
        _tighten(path)


def _tighten(path: str) -> None:
    try:
        info = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o077:
        return
    was = stat.S_IMODE(info.st_mode)
    try:
        os.chmod(path, was & ~0o077)
    except OSError as exc:
        logger.warning(
            "the store file %s can be read by other users (mode %o) and its mode cannot "
            "be changed (%s); make it 0600 and owned by the service's user",
            path,
            was,
            exc.strerror,
        )
        return
    logger.warning(
        "the store file %s could be read by other users (mode %o); it holds personal "
        "data, so it is now %o",
        path,
        was,
        was & ~0o077,
    )


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
