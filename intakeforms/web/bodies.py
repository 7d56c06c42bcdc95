"""Reading a submission's body: JSON, urlencoded or multipart, within limits.

Whatever the encoding, the result is the same: answers keyed by field name
(lists for multichoice), the hidden defence fields taken out, and uploaded
files spooled to disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

from intakeforms.form import Form
from intakeforms.web.limits import BodyTooLarge, limit_body
from intakeforms.web.spam import HONEYPOT, TOKEN
from intakeforms.web.uploads import Upload, clean_name, detect_type

__all__ = ["BadBody", "Posted", "read_posted"]

#: The hidden input that makes a double-clicked HTML form idempotent.
SUBMISSION_KEY = "_submission"
_MAX_FIELDS = 1000


class BadBody(Exception):
    """The body cannot be read as answers; ``status`` is 400, 413 or 415."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


@dataclass
class Posted:
    """A submission as posted, before validation."""

    answers: dict[str, Any]
    browser: bool
    token: str | None = None
    honeypot: str | None = None
    submission_key: str | None = None
    uploads: list[Upload] = field(default_factory=list)


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


async def _read(request: Request, limit: int) -> bytes:
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise BadBody(413, "too_large", f"the body is larger than {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadBody(413, "too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _take(answers: dict[str, Any], key: str) -> str | None:
    value = answers.pop(key, None)
    return value if isinstance(value, str) else None


def _split_meta(answers: dict[str, Any], posted: Posted) -> None:
    posted.token = _take(answers, TOKEN)
    posted.honeypot = _take(answers, HONEYPOT)
    posted.submission_key = _take(answers, SUBMISSION_KEY)
    for key in [k for k in answers if k.startswith("_")]:
        del answers[key]


def _from_pairs(form: Form, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for key, value in pairs:
        kind = getattr(form.fields.get(key), "type", None)
        if kind in ("multichoice", "file"):
            items = answers.setdefault(key, [])
            # An empty file input, or a blank placeholder option: no answer.
            if value != "":
                items.append(value)
        elif key not in answers:
            answers[key] = value
    return answers


async def read_posted(
    request: Request, form: Form, *, max_body: int, max_plain: int, spool: Path | None
) -> Posted:
    """Read and parse the body; raise :class:`BadBody` for anything unreadable."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body = await _read(request, max_plain)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadBody(400, "malformed_json", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadBody(400, "not_object", "the body must be a JSON object of answers")
        posted = Posted(answers=dict(data), browser=False)
        _split_meta(posted.answers, posted)
        return posted
    if kind == "application/x-www-form-urlencoded":
        body = await _read(request, max_plain)
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=_MAX_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise BadBody(400, "malformed_form", "the form data cannot be read") from None
        posted = Posted(answers=_from_pairs(form, list(pairs)), browser=True)
        _split_meta(posted.answers, posted)
        return posted
    if kind == "multipart/form-data":
        declared = _declared_length(request)
        if declared is not None and declared > max_body:
            raise BadBody(413, "too_large", f"the body is larger than {max_body} bytes")
        return await _read_multipart(request, form, max_body, spool)
    raise BadBody(
        415,
        "unsupported_media_type",
        "send application/json, application/x-www-form-urlencoded or multipart/form-data",
    )


async def _read_multipart(
    request: Request, form: Form, max_body: int, spool: Path | None
) -> Posted:
    # Counted as it streams: a chunked body has no Content-Length to refuse early.
    limited = Request(request.scope, limit_body(request.receive, max_body))
    try:
        data = await limited.form(max_files=100, max_fields=_MAX_FIELDS, max_part_size=max_body)
    except BodyTooLarge:
        raise BadBody(413, "too_large", f"the body is larger than {max_body} bytes") from None
    except Exception as exc:  # python-multipart raises several kinds
        if isinstance(exc.__cause__, BodyTooLarge):  # raised while it was reading
            raise BadBody(413, "too_large", f"the body is larger than {max_body} bytes") from None
        raise BadBody(400, "malformed_form", f"the form data cannot be read: {exc}") from None
    pairs: list[tuple[str, Any]] = []
    uploads: list[Upload] = []
    try:
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                if not value.filename and not value.size:
                    continue  # a file input left empty
                if spool is None or getattr(form.fields.get(key), "type", None) != "file":
                    pairs.append(
                        (key, {"name": clean_name(value.filename or ""), "type": "", "size": -1})
                    )
                    continue
                upload = await _spool(key, value, spool, len(uploads))
                uploads.append(upload)
                pairs.append(
                    (
                        key,
                        {
                            "name": upload.name,
                            "type": upload.detected_type or "application/octet-stream",
                            "size": upload.size,
                        },
                    )
                )
            else:
                pairs.append((key, value))
    finally:
        await data.close()
    posted = Posted(answers=_from_pairs(form, pairs), browser=True, uploads=uploads)
    _split_meta(posted.answers, posted)
    return posted


async def _spool(key: str, value: UploadFile, spool: Path, index: int) -> Upload:
    path = spool / f"{index:03d}"
    size = 0
    head = b""
    with path.open("wb") as out:
        while chunk := await value.read(65536):
            if not head:
                head = chunk[:8192]
            size += len(chunk)
            out.write(chunk)
    return Upload(
        field=key,
        name=clean_name(value.filename or ""),
        declared_type=value.content_type or "",
        size=size,
        spool=path,
        detected_type=detect_type(head),
    )
