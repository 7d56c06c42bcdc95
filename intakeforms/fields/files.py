"""Uploaded files, described by name, media type and size: the type file.

The web layer stores the bytes and checks the media type against the file's
own magic bytes; what reaches validation is the description of each file.

So an ``accept`` list can only name types the magic bytes tell
(:data:`RECOGNISED_TYPES`): any other would refuse every upload. Common
other names of a recognised type (``image/jpg``, what many people write) are
understood as that type (:data:`MEDIA_ALIASES`); the loaded form, its spec
and its JSON Schema name the type as uploads are told it.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

import filetype
from pydantic import BeforeValidator, Field

from intakeforms.fields import FieldProblem
from intakeforms.fields.base import FieldModel, FieldType, Issue, fixed_input

__all__ = [
    "FILE",
    "MEDIA_ALIASES",
    "RECOGNISED_TYPES",
    "FileField",
    "check_files",
    "media_type",
    "parse_size",
]

#: The media types an upload can be recognised as, by its first bytes: what
#: the web layer's check gives (PDF by its header, the rest by filetype), and
#: application/octet-stream for a file it cannot tell.
RECOGNISED_TYPES: frozenset[str] = frozenset(
    {"application/pdf", "application/octet-stream", *(kind.mime for kind in filetype.types)}
)

#: Other names people write for a recognised type, and that type.
MEDIA_ALIASES: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-bmp": "image/bmp",
    "image/x-ms-bmp": "image/bmp",
    "image/heif": "image/heic",
    "image/vnd.microsoft.icon": "image/x-icon",
    "application/x-pdf": "application/pdf",
    "application/acrobat": "application/pdf",
    "application/x-zip-compressed": "application/zip",
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "audio/flac": "audio/x-flac",
    "video/avi": "video/x-msvideo",
}


def media_type(written: Any) -> Any:
    """A media type as uploads are told it: lower case, an alias replaced by
    its type (``image/jpg`` → ``image/jpeg``); anything else as given."""
    if not isinstance(written, str):
        return written
    lowered = written.strip().lower()
    return MEDIA_ALIASES.get(lowered, lowered)


def _media_types(written: Any) -> Any:
    return [media_type(item) for item in written] if isinstance(written, list) else written


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


# -- the field type ----------------------------------------------------------------


class FileField(FieldModel):
    """Uploaded files."""

    type: Literal["file"]
    accept: Annotated[list[str], BeforeValidator(_media_types)] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "application/pdf"],
        description="Allowed media types; image/jpg and the like are read as image/jpeg.",
    )
    max_size: str | int = Field(default="10 MB", description="Largest file, like 10 MB.")
    max_files: int = Field(default=1, ge=1, le=20)


_MEDIA_TYPE = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]+")


def _prepare(f: FileField) -> tuple[Any, list[Issue]]:
    """The largest file in bytes; sizes and media types that cannot be read."""
    issues = []
    max_bytes = 0
    try:
        max_bytes = parse_size(f.max_size)
    except ValueError as exc:
        issues.append(Issue(("max_size",), "invalid_value", str(exc)))
    for j, media in enumerate(f.accept):
        if not _MEDIA_TYPE.fullmatch(media):
            issues.append(
                Issue(
                    ("accept", j),
                    "invalid_value",
                    f"{media!r} is not a media type; write it like image/png",
                )
            )
        elif media not in RECOGNISED_TYPES:
            close = difflib.get_close_matches(media, sorted(RECOGNISED_TYPES), 1, 0.85)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            issues.append(
                Issue(
                    ("accept", j),
                    "unknown_media_type",
                    f"{media!r} is not a type an upload is recognised as{hint}, so every "
                    "such file would be refused; uploads are told by their content, "
                    "like image/jpeg, image/png, application/pdf (docs/language.md#file)",
                )
            )
    return max_bytes, issues


def _schema(f: FileField, max_bytes: Any) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": f.max_files,
        "items": {
            "type": "object",
            "required": ["name", "type", "size"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "type": {"enum": list(f.accept)},
                "size": {"type": "integer", "minimum": 0, "maximum": max_bytes or 0},
            },
        },
    }


FILE = FieldType(
    name="file",
    codes=("not_list", "invalid_file", "file_type", "file_too_large", "too_many_files"),
    model=FileField,
    schema=_schema,
    check=lambda f, v, max_bytes, t: check_files(
        v, accept=f.accept, max_bytes=max_bytes or 0, max_files=f.max_files
    ),
    input=fixed_input(control="file", type="file"),
    prepare=_prepare,
    spec=lambda f, max_bytes, text, t: {
        "accept": list(f.accept),
        "max_files": f.max_files,
        "max_size": max_bytes or 0,
    },
)
