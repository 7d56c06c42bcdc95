"""What uploaded files are called and labelled when they reach agents.

A customer names their own files, and a name like ``invoice.pdf.exe`` (or
``invoice.pdf`` on an executable's bytes) is meant to be opened by the wrong
program. Agents therefore get each file named by the submission and by the
type its bytes proved when it was uploaded:
``CAR-4F7K2Q-receipt-1.pdf``. The customer's name stays in ``REFERENCE.json``
and, labelled as theirs, in the answers' text. The email, and helpdesk
tickets that attach files, use the same names.
"""

from __future__ import annotations

import mimetypes
import re
from typing import TYPE_CHECKING

import filetype

if TYPE_CHECKING:
    from intakeforms.store.base import StoredSubmission

__all__ = [
    "OCTET_STREAM",
    "attachment_extension",
    "attachment_name",
    "attachment_names",
    "attachment_type",
]

#: The media type of bytes that proved no type.
OCTET_STREAM = "application/octet-stream"

_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")
_NAME_PART = re.compile(r"[^A-Za-z0-9_-]+")
# Python's own table only: mimetypes.guess_extension also reads the host's
# /etc/mime.types, and a retry on another host must give the same name.
_BUILT_IN = mimetypes.MimeTypes(filenames=())


def attachment_type(content_type: str) -> str:
    """The media type a file is attached with: its stored type, lower-cased,
    or :data:`OCTET_STREAM` for anything that is not a plain ``type/subtype``.

    ``multipart/`` and ``message/`` types are never used: the agent's mail
    client would read the bytes as more mail structure.
    """
    media = content_type.strip().lower()
    if not _MEDIA_TYPE.fullmatch(media) or media.startswith(("multipart/", "message/")):
        return OCTET_STREAM
    return media


def attachment_extension(content_type: str) -> str:
    """The file extension, without the dot, of ``content_type``: ``pdf`` for
    ``application/pdf``, ``jpg`` for ``image/jpeg``, ``bin`` for
    ``application/octet-stream`` and for any type without a known one."""
    media = attachment_type(content_type)
    if media == OCTET_STREAM:
        return "bin"
    # The table of the library that detected the type, then Python's.
    kind = filetype.get_type(mime=media)
    extension = kind.extension if kind is not None else None
    if extension is None:
        guessed = _BUILT_IN.guess_extension(media, strict=True)
        extension = guessed.lstrip(".") if guessed else None
    if extension is None or not _EXTENSION.fullmatch(extension):
        return "bin"
    return extension


def attachment_name(reference: str, field: str, index: int, content_type: str) -> str:
    """The name an uploaded file is attached with: ``REFERENCE-FIELD-INDEX.EXT``.

    ``index`` counts the question's files from 1, in the order they were
    uploaded; ``content_type`` is the type the file's bytes proved (the
    stored one), which alone decides the extension. For example
    ``attachment_name("CAR-4F7K2Q", "receipt", 1, "application/pdf")`` is
    ``CAR-4F7K2Q-receipt-1.pdf``, whatever the customer called the file.
    Only letters, digits, ``-`` and ``_`` are kept of the reference and the
    field name.
    """
    prefix = _NAME_PART.sub("_", reference).strip("_") or "submission"
    name = _NAME_PART.sub("_", field).strip("_") or "file"
    return f"{prefix}-{name}-{int(index)}.{attachment_extension(content_type)}"


def attachment_names(submission: StoredSubmission) -> list[str]:
    """The name each of ``submission.files`` is attached with, in order:
    files are counted from 1 within their question."""
    counted: dict[str, int] = {}
    names = []
    for file in submission.files:
        counted[file.field] = counted.get(file.field, 0) + 1
        index = counted[file.field]
        names.append(attachment_name(submission.reference, file.field, index, file.content_type))
    return names
