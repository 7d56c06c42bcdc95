"""A target's answer, read within bounds.

What a webhook or helpdesk answers is needed for little: a ticket id from a
small JSON object, or the start of an error's explanation. A receiver that
answers with a body of gigabytes, or with a few kilobytes of gzip that
inflate to gigabytes, must not take the worker's memory with it, so
:func:`read_answer` reads at most :data:`MAX_ANSWER_BYTES` from the wire and
inflates to at most as many, in pieces of :data:`PIECE_BYTES` (httpx's own
decoding inflates each network chunk whole, which a bomb turns into
hundreds of megabytes at once). Past either bound it stops, closes the
connection and says so in :attr:`Answer.cut`; the status line still decides
what the answer means.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import httpx

__all__ = ["ACCEPT_ENCODING", "MAX_ANSWER_BYTES", "PIECE_BYTES", "Answer", "read_answer"]

#: The most of an answer read from the wire, and the most it may inflate to.
MAX_ANSWER_BYTES = 1024 * 1024
#: The most one inflating step may produce.
PIECE_BYTES = 64 * 1024
#: The encodings asked for: the ones read here within bounds.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True)
class Answer:
    """A target's answer: status, headers and (at most
    :data:`MAX_ANSWER_BYTES` of) the body; ``cut`` says why the body is not
    whole, like ``"more than 1 MiB"``, and is empty when it is."""

    status_code: int
    headers: httpx.Headers
    body: bytes
    charset: str | None = None
    cut: str = ""

    @property
    def text(self) -> str:
        """The body as text, undecodable bytes replaced."""
        try:
            return self.body.decode(self.charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", errors="replace")

    @property
    def note(self) -> str:
        """`` (the answer was not read whole: …)`` for a message, or ``""``."""
        return f" (the answer was not read whole: {self.cut})" if self.cut else ""


class _Inflate:
    """One content coding undone in bounded pieces."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        # gzip has its header; "deflate" is zlib's format, though some
        # servers send raw deflate: tried when the zlib header is missing.
        self._wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            try:
                piece = self._inflate.decompress(pending, PIECE_BYTES)
            except zlib.error:
                if self._started or self._coding != "deflate" or self._wbits < 0:
                    raise
                self._wbits = -zlib.MAX_WBITS
                self._inflate = zlib.decompressobj(self._wbits)
                continue
            self._started = True
            pending = self._inflate.unconsumed_tail
            if piece:
                yield piece
            elif pending:  # no progress on input that is left: corrupt
                raise zlib.error("no progress")

    def flush(self) -> Iterator[bytes]:
        rest = self._inflate.flush()
        for start in range(0, len(rest), PIECE_BYTES):
            yield rest[start : start + PIECE_BYTES]


def _through(layers: list[_Inflate], data: bytes) -> Iterator[bytes]:
    if not layers:
        yield data
        return
    first, rest = layers[0], layers[1:]
    for piece in first.feed(data):
        yield from _through(rest, piece)


def _flushed(layers: list[_Inflate]) -> Iterator[bytes]:
    for index, layer in enumerate(layers):
        for piece in layer.flush():
            yield from _through(layers[index + 1 :], piece)


def _layers(content_encoding: str) -> list[_Inflate] | str:
    """The decoders for ``content_encoding``, outermost first; or the name
    of a coding that is not read here."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    layers = []
    # Listed in the order applied: undone from the last.
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            return coding
        layers.append(_Inflate("gzip" if coding == "x-gzip" else coding))
    return layers


def _size(limit: int) -> str:
    return f"more than {limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} B"


async def read_answer(
    response: httpx.Response, *, limit: int = MAX_ANSWER_BYTES, deadline: float | None = None
) -> Answer:
    """Read the body of a streamed ``response`` within ``limit`` bytes, both
    as sent and as inflated, and until ``deadline`` (``anyio.current_time()``
    based) at the latest; what was read by then is the answer, ``cut`` says
    why it ends early. The caller closes ``response``, which drops the
    connection when the body was not read to its end."""
    body = bytearray()

    def answer(cut: str = "") -> Answer:
        return Answer(
            response.status_code,
            response.headers,
            bytes(body[:limit]),
            response.charset_encoding,
            cut,
        )

    layers = _layers(response.headers.get("content-encoding", ""))
    if isinstance(layers, str):
        return answer(f"its content coding {layers[:40]!r} is not read")
    with anyio.move_on_at(math.inf if deadline is None else deadline):
        return answer(await _read(response, layers, body, limit))
    return answer("it did not end in the time allowed")


async def _read(
    response: httpx.Response, layers: list[_Inflate], body: bytearray, limit: int
) -> str:
    """Read into ``body``; why it stopped early, or ``""``."""
    read = 0
    too_long = f"{_size(limit)} once inflated" if layers else _size(limit)
    try:
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > limit and not layers:
                body += chunk[: limit + 1 - len(body)]
                return too_long
            for piece in _through(layers, chunk):
                body += piece
                if len(body) > limit:
                    return too_long
            if read > limit:
                return _size(limit)
        for piece in _flushed(layers):
            body += piece
            if len(body) > limit:
                return too_long
    except zlib.error:
        return "its compression is broken"
    except httpx.TransportError as exc:
        # The status came, the rest broke off: what was sent stands.
        return f"it broke off ({type(exc).__name__})"
    return ""
