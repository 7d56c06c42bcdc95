"""A webhook's or helpdesk's answer is read within bounds.

A real HTTP server on loopback answers with 100 MB, with a gzip stream that
inflates to a gigabyte, or one byte at a time: the worker reads at most
1 MiB from the wire and 1 MiB once inflated, in its own memory (measured
with ``tracemalloc``, which sees every thread of this process), within the
job's timeout, and says so on the job or in the receipt.
"""

from __future__ import annotations

import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from http_server import HttpServer
from test_delivery import save, store
from test_delivery_http import ANSWERS, ENVIRON, deliver, form, server, stored
from web_helpers import settings_for

from intakeforms import Form
from intakeforms.delivery import Worker, mail_transport
from intakeforms.errors import PermanentDeliveryError
from intakeforms.store import SqliteStore

MIB = 1024 * 1024
#: What the worker may hold while reading one answer, with room for the
#: test's own bookkeeping; an unbounded read holds the whole answer.
MEMORY_BOUND = 50 * MIB

# The fixtures, shared with test_delivery and test_delivery_http.
__all__ = ["form", "server", "store"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def repeated(total: int, piece: bytes = b"x" * 65536) -> Callable[[], Iterable[bytes]]:
    """``total`` bytes of ``piece`` after ``piece``: one buffer, sent again and again."""

    def pieces() -> Iterator[bytes]:
        for _ in range(total // len(piece)):
            yield piece

    return pieces


def gzip_bomb(inflated: int) -> Callable[[], Iterable[bytes]]:
    """gzip of ``inflated`` zero bytes, made as it is sent: about a
    thousandth of that on the wire, so the first few kilobytes are enough
    to inflate past any bound."""

    def pieces() -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = bytes(MIB)
        for _ in range(inflated // MIB):
            packed = packer.compress(zeros)
            if packed:
                yield packed
        yield packer.flush()

    return pieces


class Peak:
    """The most memory Python allocated inside the block, above its start."""

    def __enter__(self) -> Peak:
        tracemalloc.start()
        tracemalloc.reset_peak()
        self.start = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        self.bytes = tracemalloc.get_traced_memory()[1] - self.start
        tracemalloc.stop()


@pytest.mark.anyio
async def test_a_huge_error_answer_costs_no_memory_and_the_job_says_why(
    store: SqliteStore,
    server: HttpServer,
    form: Form,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    await save(store, form, dict(form.validate(ANSWERS)), ["webhook:0"], locale="en")
    size = 100 * MIB
    server.replies.append((502, {"content-length": str(size)}, repeated(size)))
    settings = settings_for(tmp_path)
    delivering = Worker(
        store=store, forms={form.id: form}, settings=settings, transport=mail_transport(settings)
    )
    started = time.monotonic()
    with Peak() as peak:
        assert await delivering.run_once() == 1
    assert peak.bytes < MEMORY_BOUND, f"{peak.bytes / MIB:.0f} MiB"
    assert time.monotonic() - started < 10
    # The server could write only what the sockets' buffers took.
    assert server.sent < size / 2
    (job,) = await store.jobs()
    assert job.status == "pending"  # a 502 is worth retrying, whatever its length
    assert job.last_error is not None
    assert job.last_error.startswith(
        f"the webhook at {server.url}/hook answered HTTP 502 (the answer was not read "
        "whole: more than 1 MiB): xxxx"
    )
    assert len(job.last_error) < 500


@pytest.mark.anyio
async def test_a_gzip_bomb_for_a_ticket_is_not_inflated_past_a_mebibyte(
    server: HttpServer, form: Form
) -> None:
    """The ticket was made (201): delivered, though the answer that names it
    is not read; a retry would make a second ticket."""
    server.replies.append((201, {"content-encoding": "gzip"}, gzip_bomb(1024 * MIB)))
    started = time.monotonic()
    with Peak() as peak:
        receipt = await deliver(form, stored(form), 2)
    assert peak.bytes < MEMORY_BOUND, f"{peak.bytes / MIB:.0f} MiB"
    assert time.monotonic() - started < 5
    assert receipt == (
        "freshdesk HTTP 201 (the answer was not read whole: more than 1 MiB once inflated)"
    )


@pytest.mark.anyio
async def test_a_gzip_bomb_with_an_error_is_an_error_that_says_so(
    server: HttpServer, form: Form
) -> None:
    server.replies.append((422, {"content-encoding": "gzip"}, gzip_bomb(1024 * MIB)))
    with Peak() as peak, pytest.raises(PermanentDeliveryError) as caught:
        await deliver(form, stored(form), 1)
    assert peak.bytes < MEMORY_BOUND, f"{peak.bytes / MIB:.0f} MiB"
    message = str(caught.value)
    assert message.startswith(f"Zendesk ({server.url}) refused the request with HTTP 422")
    assert "(the answer was not read whole: more than 1 MiB once inflated)" in message


@pytest.mark.anyio
async def test_an_answer_that_drips_ends_at_the_timeout(server: HttpServer, form: Form) -> None:
    """Status and headers at once, then a byte a tenth of a second: the
    ticket was made, so the job is done when the time is up."""

    def drip() -> Iterator[bytes]:
        for _ in range(600):
            time.sleep(0.1)
            yield b" "

    server.replies.append((201, {"content-length": "600"}, drip))
    started = time.monotonic()
    receipt = await deliver(form, stored(form), 3, timeout=1.0)
    assert time.monotonic() - started < 3
    assert receipt == (
        "zammad HTTP 201 (the answer was not read whole: it did not end in the time allowed)"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw deflate", "identity"])
async def test_compressed_error_answers_are_read(
    server: HttpServer, form: Form, coding: str
) -> None:
    text = b'{"error": "no such hook"}'
    packed = {
        "gzip": lambda: zlib.compress(text, wbits=zlib.MAX_WBITS | 16),
        "deflate": lambda: zlib.compress(text),
        "raw deflate": lambda: zlib.compress(text, wbits=-zlib.MAX_WBITS),
        "identity": lambda: text,
    }[coding]()
    header = coding.split()[-1]
    server.replies.append((404, {"content-encoding": header}, packed))
    with pytest.raises(PermanentDeliveryError, match=r"HTTP 404.*no such hook"):
        await deliver(form, stored(form), 0)
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.anyio
async def test_an_answer_in_a_coding_not_asked_for_is_not_read(
    server: HttpServer, form: Form
) -> None:
    server.replies.append((201, {"content-encoding": "br"}, b"\x1b\x03\x00"))
    receipt = await deliver(form, stored(form), 1)
    assert receipt == (
        "zendesk HTTP 201 (the answer was not read whole: its content coding 'br' is not read)"
    )


@pytest.mark.anyio
async def test_a_broken_gzip_answer_still_counts(server: HttpServer, form: Form) -> None:
    server.replies.append((201, {"content-encoding": "gzip"}, b"\x1f\x8bnot gzip at all"))
    receipt = await deliver(form, stored(form), 2)
    assert receipt == (
        "freshdesk HTTP 201 (the answer was not read whole: its compression is broken)"
    )


@pytest.mark.anyio
async def test_a_ticket_answer_nested_too_deep_still_counts(server: HttpServer, form: Form) -> None:
    """JSON nested deeper than the parser goes: the ticket was made all the same."""
    server.replies.append((201, {"content-type": "application/json"}, b"[" * 200_000))
    assert await deliver(form, stored(form), 3) == "zammad HTTP 201"
