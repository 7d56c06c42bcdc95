"""Reading a submission's body: JSON, urlencoded or multipart, within limits.

Whatever the encoding, the result is the same: answers keyed by field name
(lists for multichoice), the hidden defence fields taken out, and uploaded
files spooled to disk.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pydantic_core import from_json
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import ClientDisconnect, Request

from intakeforms.fields.numbers import json_integer
from intakeforms.form import Form
from intakeforms.store import EVENT_CHANNELS, EVENT_SESSION
from intakeforms.web.limits import BodyTooLarge, limit_body
from intakeforms.web.spam import HONEYPOT, TOKEN
from intakeforms.web.uploads import Upload, clean_name, detect_type

__all__ = [
    "CHANNEL",
    "FAQ_SEARCH",
    "INCOMPLETE",
    "MAX_DEPTH",
    "MAX_KEY_LENGTH",
    "VISIT",
    "BadBody",
    "Posted",
    "idempotency_key",
    "kept_values",
    "read_json",
    "read_posted",
]

#: The hidden input that makes a double-clicked HTML form idempotent.
SUBMISSION_KEY = "_submission"
#: The id of the FAQ search whose answers were shown before the form.
FAQ_SEARCH = "_faq"
#: Set by "Talk to a person": take the answers so far as an incomplete contact.
INCOMPLETE = "_incomplete"
#: The page's random id of the visit (``POST /events``' ``session``): the
#: service records the visit's ``submit`` (or the errors of a refusal) itself.
VISIT = "_visit"
#: Where that visit is: ``form`` (the default), ``chat`` or ``inline``.
CHANNEL = "_channel"
_MAX_FIELDS = 1000
#: How deep a JSON body may nest. Answers are an object of values, lists and
#: file objects: three levels; the rest is room, not a need.
MAX_DEPTH = 32
#: The longest idempotency key, from the header or the hidden input.
MAX_KEY_LENGTH = 200
# C0 controls, DEL and lone surrogates: no name of an answer holds them, no
# database column stores all of them, and no key needs them.
_UNFIT = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


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
    #: The FAQ search whose answers the customer saw before contacting (``_faq``).
    faq_search: str | None = None
    #: "Talk to a person": what is answered so far, sent as it is (``_incomplete``).
    incomplete: bool = False
    #: The signed link the form was opened with (``_link``).
    link: str | None = None
    #: The draft link the form was opened with (``_draft``).
    draft: str | None = None
    #: The visit's id (``_visit``) when it is one (``EVENT_SESSION``); else None.
    visit: str | None = None
    #: The visit's channel (``_channel``): ``form``, ``chat`` or ``inline``.
    channel: str = "form"


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


async def _read(request: Request, limit: int, declared: int | None) -> bytes:
    """The whole body, read no further than ``limit`` bytes: 413 as soon as
    the ``declared`` length or the bytes so far pass it.

    Read straight from the server's messages: events come a request each,
    and Starlette's stream costs more than a small body itself.
    """
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json(
    request: Request, limit: int, what: str, media: tuple[str, ...] = ("application/json",)
) -> Any:
    """A small JSON body (feedback, a draft, events), read no further than
    ``limit`` bytes; :class:`BadBody` (415, 413, 400) naming ``what`` otherwise.
    The two headers it needs are found in one pass over them."""
    kind = ""
    declared: int | None = None
    for name, value in request.scope["headers"]:
        if name == b"content-type" and not kind:
            kind = value.decode("latin-1").split(";")[0].strip().lower()
        elif name == b"content-length" and declared is None:
            with contextlib.suppress(ValueError):
                declared = int(value)
    if kind not in media:
        raise BadBody(415, "unsupported_media_type", f"send {what} as {' or '.join(media)}")
    body = await _read(request, limit, declared)
    try:
        # pydantic's parser (pydantic-core, already here for the forms'
        # models) takes an events request in half the time of json.loads.
        return from_json(body)
    except ValueError:
        pass
    # It refuses some bodies json.loads takes (UTF-16, a byte order mark, a
    # lone surrogate, nesting over 200 deep): json.loads has the last word,
    # so what is taken stays what it was.
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: brackets nested thousands deep, which no such body has.
        raise BadBody(400, "malformed_json", f"{what} is not valid JSON") from None


def _too_large(limit: int) -> BadBody:
    return BadBody(413, "too_large", f"the body is larger than {limit} bytes")


def idempotency_key(value: str | None, where: str) -> str | None:
    """``value`` as an idempotency key (None when absent or empty); raise
    :class:`BadBody` 400 when it is too long or holds control characters.
    ``where`` names the header or input for the message. The whole key is
    kept: cutting it would make two different keys one."""
    if not value:
        return None
    if len(value) > MAX_KEY_LENGTH:
        raise BadBody(
            400,
            "invalid_idempotency_key",
            f"{where} is {len(value)} characters long; send at most {MAX_KEY_LENGTH}",
        )
    if _UNFIT.search(value):
        raise BadBody(
            400,
            "invalid_idempotency_key",
            f"{where} holds a control character or invalid Unicode; send printable text",
        )
    return value


def _check_names(answers: dict[str, Any]) -> None:
    for position, name in enumerate(answers, start=1):
        if _UNFIT.search(name):
            # The name itself is not echoed: it cannot be printed as it is.
            raise BadBody(
                400,
                "invalid_name",
                f"the name of answer {position} holds a NUL, another control character "
                "or invalid Unicode; answers are named by the form's field names",
            )


def _check_depth(data: Any) -> None:
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


def _too_deep() -> BadBody:
    return BadBody(
        400,
        "too_deep",
        f"the JSON body nests deeper than {MAX_DEPTH} levels; send an object of answers "
        "whose values are text, numbers, true/false or lists of them",
    )


def _take(answers: dict[str, Any], key: str) -> str | None:
    value = answers.pop(key, None)
    return value if isinstance(value, str) else None


def _split_meta(answers: dict[str, Any], posted: Posted) -> None:
    posted.token = _take(answers, TOKEN)
    posted.honeypot = _take(answers, HONEYPOT)
    posted.submission_key = _take(answers, SUBMISSION_KEY)
    posted.faq_search = _take(answers, FAQ_SEARCH)
    posted.incomplete = answers.pop(INCOMPLETE, None) in (True, "1", "true")
    posted.link = _take(answers, "_link")
    posted.draft = _take(answers, "_draft")
    # A visit's id that is not one is dropped, never refused: statistics
    # must not cost a customer their submission.
    visit = _take(answers, VISIT)
    posted.visit = visit if visit is not None and EVENT_SESSION.fullmatch(visit) else None
    channel = _take(answers, CHANNEL)
    posted.channel = channel if channel in EVENT_CHANNELS else "form"
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


_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return "utf-8"


def kept_values(posted: Posted) -> dict[str, Any]:
    """The answers to show again on an error page, which is UTF-8: text that
    is not valid Unicode (refused as ``invalid_text``) gets U+FFFD in its place."""
    return {
        k: _printable(v) if isinstance(v, str) else [_printable(x) for x in v]
        for k, v in posted.answers.items()
        if isinstance(v, str | list)
    }


def _printable(value: Any) -> Any:
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _posted(
    answers: dict[str, Any], *, browser: bool, uploads: list[Upload] | None = None
) -> Posted:
    _check_names(answers)
    posted = Posted(answers=answers, browser=browser, uploads=uploads or [])
    _split_meta(posted.answers, posted)
    posted.submission_key = idempotency_key(posted.submission_key, f"the {SUBMISSION_KEY} field")
    return posted


async def read_posted(
    request: Request, form: Form, *, max_body: int, max_plain: int, spool: Path | None
) -> Posted:
    """Read and parse the body; raise :class:`BadBody` for anything unreadable."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body = await _read(request, max_plain, _declared_length(request))
        try:
            # A literal of thousands of digits is an answer that is too
            # large (422 for that question), not a body that is not JSON.
            data = json.loads(body, parse_int=json_integer)
        except (ValueError, UnicodeDecodeError):
            raise BadBody(400, "malformed_json", "the body is not valid JSON") from None
        except RecursionError:  # thousands of [ or {: the parser's own stack ran out
            raise _too_deep() from None
        if not isinstance(data, dict):
            raise BadBody(400, "not_object", "the body must be a JSON object of answers")
        # Nesting past MAX_DEPTH takes more than MAX_DEPTH brackets; counting
        # them in C spares the usual body the walk.
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
            _check_depth(data)
        return _posted(dict(data), browser=False)
    if kind == "application/x-www-form-urlencoded":
        body = await _read(request, max_plain, _declared_length(request))
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=_MAX_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise BadBody(400, "malformed_form", "the form data cannot be read") from None
        return _posted(_from_pairs(form, list(pairs)), browser=True)
    if kind == "multipart/form-data":
        charset = _charset(request.headers.get("content-type", ""))
        if charset not in _UTF8:
            # The parser would decode with any codec Python has, and some
            # (utf-7, unicode_escape) make text no page or store can hold.
            raise BadBody(
                415,
                "unsupported_media_type",
                f"multipart/form-data in {charset} cannot be read; send it in UTF-8 "
                "(as browsers do: no charset parameter)",
            )
        declared = _declared_length(request)
        if declared is not None and declared > max_body:
            raise _too_large(max_body)
        return await _read_multipart(request, form, max_body, max_plain, spool)
    raise BadBody(
        415,
        "unsupported_media_type",
        "send application/json, application/x-www-form-urlencoded or multipart/form-data",
    )


class _TextTooLarge(Exception):
    """The text parts of a multipart body grew past their limit."""


class _Parser(MultiPartParser):
    """Starlette's multipart parser, counting the bytes of all text parts
    together: text answers obey the same limit whatever the encoding, and
    only files may use the larger allowance of a multipart body."""

    def __init__(self, request: Request, *, max_text: int) -> None:
        super().__init__(
            request.headers,
            request.stream(),
            max_files=100,
            max_fields=_MAX_FIELDS,
            # Never reached before the total below; kept as a second bound.
            max_part_size=max_text + 1,
        )
        self.max_text = max_text
        self.text_size = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is None:
            self.text_size += end - start
            if self.text_size > self.max_text:
                raise _TextTooLarge
        super().on_part_data(data, start, end)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):  # python-multipart may wrap what a callback raised
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _read_multipart(
    request: Request, form: Form, max_body: int, max_plain: int, spool: Path | None
) -> Posted:
    # Counted as it streams: a chunked body has no Content-Length to refuse early.
    limited = Request(request.scope, limit_body(request.receive, max_body))
    data: FormData
    try:
        data = await _Parser(limited, max_text=max_plain).parse()
    except Exception as exc:  # python-multipart raises several kinds
        if _caused_by(exc, BodyTooLarge):  # raised while it was reading
            raise BadBody(413, "too_large", f"the body is larger than {max_body} bytes") from None
        if _caused_by(exc, _TextTooLarge):
            raise BadBody(
                413,
                "too_large",
                f"the text answers are larger than {max_plain} bytes together "
                "(only files may make a body larger)",
            ) from None
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
    return _posted(_from_pairs(form, pairs), browser=True, uploads=uploads)


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
