"""Uploaded files, described by name, media type and size.

The web layer stores the bytes and checks the media type against the file's
own magic bytes; what reaches validation is the description of each file.
"""

from __future__ import annotations

import re
from typing import Any

from intakeforms.fields import FieldProblem

__all__ = ["check_files", "parse_size"]

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]i?[bB]|[bB])?")
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_size(size: str | int) -> int:
    """``10 MB`` → 10000000 bytes, ``512 KiB`` → 524288; ints are bytes."""
    if isinstance(size, int):
        return size
    found = _SIZE.fullmatch(size.strip())
    if not found:
        raise ValueError(f"{size!r} is not a size; write it like 10 MB or 512 KiB")
    number, unit = found.groups()
    return int(float(number) * _UNITS[(unit or "b").lower()])


def check_files(
    value: Any, *, accept: list[str], max_bytes: int, max_files: int
) -> list[dict[str, Any]]:
    """Each file's ``name``, ``type`` and ``size`` within the field's limits."""
    if not isinstance(value, list):
        raise FieldProblem("not_list")
    if len(value) > max_files:
        raise FieldProblem("too_many_files", max=max_files)
    files = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"name", "type", "size"}
            or not isinstance(item["name"], str)
            or not isinstance(item["type"], str)
            or isinstance(item["size"], bool)
            or not isinstance(item["size"], int)
            or item["size"] < 0
        ):
            raise FieldProblem("invalid_file")
        if item["type"] not in accept:
            raise FieldProblem("file_type", types=", ".join(accept))
        if item["size"] > max_bytes:
            raise FieldProblem("file_too_large", max=max_bytes)
        files.append({"name": item["name"], "type": item["type"], "size": item["size"]})
    return files
