"""Files and folders that hold customers' data: the service's user's only.

The SQLite file, the upload folder and the ``.eml`` mail folder all hold
answers, addresses or files of customers, so each is made readable by the
service's user only (folders 0700, files 0600) from the start. One left wider
by an earlier release, or made by hand, is tightened once, with a warning
that names it and its old mode; one whose mode cannot be changed (owned by
another user) is only warned of, saying what to do.
"""

from __future__ import annotations

import logging
import os
import stat

__all__ = ["FILE_MODE", "FOLDER_MODE", "tighten"]

#: A folder of customers' data: the service's user only.
FOLDER_MODE = 0o700
#: A file of customers' data: read and write for the service's user only.
FILE_MODE = 0o600


def tighten(path: str | os.PathLike[str], what: str, holds: str, *, logger: logging.Logger) -> None:
    """Take the group's and others' rights away from ``path`` if it exists.

    ``what`` names it in the warning ("the upload folder"), ``holds`` says why
    it matters ("it holds customers' files"). A missing path, or one of
    another kind than expected, is left alone: whoever makes it next makes it
    private.
    """
    try:
        info = os.stat(path)
    except OSError:
        return
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return
    was = stat.S_IMODE(info.st_mode)
    if not was & 0o077:
        return
    wanted = "0700" if stat.S_ISDIR(info.st_mode) else "0600"
    try:
        os.chmod(path, was & ~0o077)
    except OSError as exc:
        logger.warning(
            "%s %s can be read by other users (mode %o) and its mode cannot be changed "
            "(%s); make it %s and owned by the service's user",
            what,
            os.fspath(path),
            was,
            exc.strerror,
            wanted,
        )
        return
    logger.warning(
        "%s %s could be read by other users (mode %o); %s, so it is now %o",
        what,
        os.fspath(path),
        was,
        holds,
        was & ~0o077,
    )
