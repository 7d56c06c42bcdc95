"""What every target delivered over HTTP shares: one POST and what its answer means.

A target module (``webhook``, ``zendesk``, ``freshdesk``, ``zammad``) builds
its request and hands it to :func:`post_json`, which turns the outcome into
a receipt or one of the two delivery errors the worker understands::

    2xx                          the response: the target builds a receipt
    408, 425, 429, 5xx           TransientDeliveryError, retry_after from
                                 the Retry-After header (seconds or a date)
    connection refused, reset,   TransientDeliveryError
    no answer within the timeout
    3xx                          PermanentDeliveryError: redirects are not
                                 followed (a POST must reach its address)
    any other 4xx                PermanentDeliveryError: the same request
                                 would be refused again

The answer is read within bounds (:mod:`intakeforms.delivery.answers`): at
most 1 MiB from the wire and 1 MiB once inflated, and the whole exchange,
connecting and reading included, within the job's ``timeout`` (each phase
too: connect, every read and write). A longer answer does not change what
its status means: a 2xx answer too long to read whole still counts as
delivered (the ticket was made; a retry would make a second one) and its
receipt says the answer was not read whole; an error's explanation is taken
from the start of the body.

What the target says back is kept on the job only without addresses or the
submission's answers (:class:`~intakeforms.delivery.scrub.Scrubber`): a
helpdesk that refuses a field quotes its value. Secrets are read from the
environment at delivery time (:func:`read_secret`) and never appear in a
message, a log line or an error.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import functools
import json
import re
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import httpx

from intakeforms.delivery.answers import ACCEPT_ENCODING, Answer, read_answer
from intakeforms.delivery.scrub import Scrubber, one_line
from intakeforms.delivery.unbuildable import build_error, transient
from intakeforms.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from intakeforms.version import __version__

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.mail.history import History
    from intakeforms.store.base import StoredSubmission

__all__ = [
    "MAX_RETRY_AFTER_SECONDS",
    "TIMEOUT_SECONDS",
    "USER_AGENT",
    "HttpJob",
    "basic_auth",
    "build_body",
    "http_client",
    "post_json",
    "read_secret",
    "receipt",
    "response_json",
    "retry_after_seconds",
    "shown_url",
]

#: The longest a request may take, connecting included. A worker handles a
#: claimed batch one job at a time under one lease (300 s by default), so
#: 20 jobs that all time out must still finish well inside it.
TIMEOUT_SECONDS = 10.0

#: A Retry-After further away than this is cut to it: a target that asks for
#: a week's pause has most likely sent a wrong date, and the job would sit
#: unseen; the worker's own attempts limit still ends a hopeless job.
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0

USER_AGENT = f"intakeforms/{__version__}"

_STATUS_TRANSIENT = frozenset({408, 425, 429})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_SAFE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


@dataclass(frozen=True)
class HttpJob:
    """One delivery of one submission to one HTTP target, as a target sees it.

    ``index`` is the target's position in the form's ``deliver`` list (the
    outbox names the job ``KIND:INDEX``); ``environ`` is where secrets are
    read from; ``timeout`` bounds the whole request. ``history`` is the
    customer's earlier contacts, as the worker found them (None: none to
    show).
    """

    form: Form
    submission: StoredSubmission
    index: int
    client: httpx.AsyncClient
    environ: Mapping[str, str] = field(repr=False)
    timeout: float = TIMEOUT_SECONDS
    history: History | None = field(default=None, repr=False)
    #: The IANA time zone a ticket's times are written in (UTC when None).
    timezone: str | None = None


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle is the costly part of a client; one context
    # serves every client and connection of the process.
    return httpx.create_ssl_context()


@asynccontextmanager
async def http_client(
    client: httpx.AsyncClient | None = None, *, timeout: float = TIMEOUT_SECONDS
) -> AsyncIterator[httpx.AsyncClient]:
    """``client`` as it is, or a new client closed on exit.

    A new client never follows redirects and sends intakeforms' User-Agent;
    proxies and CA bundles come from the usual environment variables
    (``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``).
    """
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        verify=_tls(),
        headers={"user-agent": USER_AGENT},
    ) as made:
        yield made


def read_secret(name: str, environ: Mapping[str, str], what: str, *, header: bool = False) -> str:
    """The value of the environment variable ``name``, without surrounding
    whitespace; ``PermanentDeliveryError`` when it is unset or empty.

    ``header``: the value goes into an HTTP header as it is, so it must be
    printable ASCII. The message names the variable, never its value.
    """
    value = environ.get(name, "").strip()
    if not value:
        raise PermanentDeliveryError(
            f"the environment variable {name} (the {what}) is not set where the "
            "worker runs; set it, restart the worker, then replay the job with "
            "intakeforms outbox retry"
        )
    if _CONTROL.search(value) or (header and not _HEADER_SAFE.fullmatch(value)):
        raise PermanentDeliveryError(
            f"the environment variable {name} (the {what}) holds a line break or "
            "another character a credential cannot have; set it to the value alone"
        )
    return value


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic authentication."""
    pair = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def shown_url(url: str) -> str:
    """``url`` fit for an error message: no query, fragment or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds, or None.

    It is either a number of seconds or an HTTP date (RFC 9110); a date in
    the past means now (0), and anything above
    :data:`MAX_RETRY_AFTER_SECONDS` is cut to it. A value that is neither is
    ignored: the worker's own backoff applies.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses naive
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_SECONDS)


def _excerpt(answer: Answer, scrub: Scrubber) -> str:
    """The start of an error answer as one line: the helpdesks explain a 4xx
    there (which field is wrong), and the reason is kept on the job, so
    without addresses or answers."""
    text = scrub(one_line(answer.text[:4000], 4000))
    if not text:
        return ""
    return ": " + one_line(text, 300)


def _check_status(answer: Answer, what: str, job: HttpJob) -> None:
    status = answer.status_code
    if 200 <= status < 300:
        return
    said = f"{answer.note}{_excerpt(answer, Scrubber.of(job.submission, job.form))}"
    if status in _STATUS_TRANSIENT or status >= 500:
        raise TransientDeliveryError(
            f"{what} answered HTTP {status}{said}",
            retry_after=retry_after_seconds(answer.headers.get("retry-after")),
        )
    if 300 <= status < 400:
        location = answer.headers.get("location", "")
        to = f" to {shown_url(location)}" if location.startswith(("http://", "https://")) else ""
        raise PermanentDeliveryError(
            f"{what} answered HTTP {status}, a redirect{to}; redirects are not followed, "
            "so write the final address in the form"
        )
    hint = {
        401: "; check the credentials in the environment variable the form names",
        403: "; the credentials lack a permission, or the account refuses API access",
        404: "; check the address in the form",
        410: "; the receiver says it is gone for good",
    }.get(status, "")
    raise PermanentDeliveryError(f"{what} refused the request with HTTP {status}{hint}{said}")


def build_body(job: HttpJob, what: str, build: Callable[[StoredSubmission], bytes]) -> bytes:
    """``build(job.submission)``, the body of ``what`` (like ``the Zendesk
    ticket``); a failure becomes a :class:`~intakeforms.errors.BuildError`
    that names the answer at fault: the same data would fail the same way on
    every retry."""
    try:
        return build(job.submission)
    except DeliveryError:
        raise
    except Exception as exc:
        if transient(exc):
            raise
        raise build_error(
            what, exc, job.submission, build, Scrubber.of(job.submission, job.form)
        ) from None


async def post_json(
    job: HttpJob,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    what: str,
) -> Answer:
    """POST ``body`` (JSON bytes, sent exactly as given) to ``url``.

    Returns a 2xx answer, its body read within bounds (see the module's
    docstring); raises :class:`TransientDeliveryError` or
    :class:`PermanentDeliveryError` as the module docstring's table says.
    ``what`` names the target in messages, like ``Zendesk (acme)``.
    """
    sent = {
        "content-type": "application/json",
        "accept": "application/json",
        "accept-encoding": ACCEPT_ENCODING,
        **headers,
    }
    request = job.client.build_request(
        "POST", url, content=body, headers=sent, timeout=httpx.Timeout(job.timeout)
    )
    # One deadline for the whole exchange: httpx's own timeouts are per
    # phase (connect, each read), which a slow-dripping server stretches.
    deadline = anyio.current_time() + job.timeout
    try:
        with anyio.fail_after(job.timeout):
            response = await job.client.send(request, stream=True, follow_redirects=False)
    except (TimeoutError, httpx.TimeoutException):
        raise TransientDeliveryError(
            f"{what} did not answer within {job.timeout:g} seconds"
        ) from None
    except httpx.TransportError as exc:
        reason = one_line(str(exc)) or type(exc).__name__
        raise TransientDeliveryError(f"cannot reach {what}: {reason}") from None
    try:
        answer = await read_answer(response, deadline=deadline)
    finally:
        with anyio.CancelScope(shield=True):
            await response.aclose()
    _check_status(answer, what, job)
    return answer


def response_json(answer: Answer) -> Any:
    """The answer's JSON body, or None when it has none (or was not read whole)."""
    if answer.cut:
        return None
    try:
        return json.loads(answer.body)
    # Not JSON, not text, or nested past what the parser takes: the
    # delivery still happened.
    except (ValueError, RecursionError):
        return None


def receipt(kind: str, answer: Answer, ticket: object = None) -> str:
    """``zendesk ticket 123`` when the answer named the ticket, else
    ``zendesk HTTP 201``, and whether the answer was read whole."""
    if ticket is not None:
        return f"{kind} ticket {one_line(str(ticket), 100)}"
    return f"{kind} HTTP {answer.status_code}{answer.note}"
