"""File modes for the tests of who may read customers' data on disk."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most services run with (022): new folders 0755, new files 0644."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    """The permission bits of ``path``, as ``chmod`` takes them."""
    return stat.S_IMODE(path.stat().st_mode)
