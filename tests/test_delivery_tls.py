"""SMTP with STARTTLS, implicit TLS and a login, against real aiosmtpd servers."""

from __future__ import annotations

import gc
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import anyio
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from smtp_server import Recorder, free_port

from intakeforms.delivery.smtp import SmtpTransport
from intakeforms.errors import PermanentDeliveryError, TransientDeliveryError


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def check_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    if isinstance(data, LoginPassword) and (data.login, data.password) == (b"intake", b"s3cret"):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "intake@example.com"
    mail["To"] = "agents@example.com"
    mail["Subject"] = "[CAR-4F7K2Q] test"
    mail["Message-ID"] = "<CAR-4F7K2Q.0@example.com>"
    mail.set_content("Rekisterinumero: ABC-123\n")
    return mail


class TlsController(Controller):
    """A server speaking TLS from the first byte, whose readiness probe
    completes a proper handshake and closes its socket (aiosmtpd's own probe
    can leave one open, which ``filterwarnings = error`` turns into a failure)."""

    def __init__(
        self, handler: Any, server: ssl.SSLContext, client: ssl.SSLContext, **kwargs: Any
    ) -> None:
        super().__init__(handler, ssl_context=server, **kwargs)
        self.client_context = client

    def _trigger_server(self) -> None:
        with (
            socket.create_connection((self.hostname, self.port), timeout=5) as raw,
            self.client_context.wrap_socket(raw, server_hostname=self.hostname) as tls,
        ):
            tls.recv(1024)  # the greeting: the server's factory has run


@pytest.fixture
def starttls(ca: trustme.CA) -> Iterator[tuple[Controller, Recorder]]:
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context(ca),
        require_starttls=True,
        authenticator=check_login,
        auth_require_tls=True,
    )
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.mark.anyio
async def test_starttls_with_login(starttls: tuple[Controller, Recorder], ca: trustme.CA) -> None:
    controller, recorder = starttls
    transport = SmtpTransport(
        f"smtp://intake:s3cret@127.0.0.1:{controller.port}", tls_context=client_context(ca)
    )
    receipt = await transport.send(message())
    await transport.close()
    assert "OK" in receipt
    (got,) = recorder.messages
    assert got["Message-ID"] == "<CAR-4F7K2Q.0@example.com>"


@pytest.mark.anyio
async def test_wrong_password_is_permanent(
    starttls: tuple[Controller, Recorder], ca: trustme.CA
) -> None:
    controller, recorder = starttls
    transport = SmtpTransport(
        f"smtp://intake:wrong@127.0.0.1:{controller.port}", tls_context=client_context(ca)
    )
    with pytest.raises(PermanentDeliveryError, match="refused the login"):
        await transport.send(message())
    await transport.close()
    assert not recorder.messages


@pytest.mark.anyio
# About one run in three, a TLS transport is garbage-collected while still
# "closing" after the test's loop or the server's has stopped; the mail is
# delivered and both sides closed it. Only that unraisable warning is ignored
# here, and the test collects garbage before it ends so that the warning is
# raised here and not in whichever later test the collector happens to run in.
# Every assertion stands.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_implicit_tls(ca: trustme.CA) -> None:
    recorder = Recorder()
    # TLS from the first byte, as on port 465.
    controller = TlsController(
        recorder,
        server_context(ca),
        client_context(ca),
        hostname="127.0.0.1",
        port=free_port(),
    )
    controller.start()
    try:
        transport = SmtpTransport(
            f"smtps://127.0.0.1:{controller.port}", tls_context=client_context(ca)
        )
        await transport.send(message())
        await transport.close()
        # A TLS connection finishes closing a few loop turns after QUIT; let it,
        # so neither side is torn down with a transport still closing.
        await anyio.sleep(0.1)
    finally:
        controller.stop()
        gc.collect()
    assert len(recorder.messages) == 1


@pytest.mark.anyio
async def test_an_untrusted_certificate_is_refused(
    starttls: tuple[Controller, Recorder],
) -> None:
    controller, recorder = starttls
    # Not trusting the test CA: the default context must refuse the server.
    transport = SmtpTransport(f"smtp://intake:s3cret@127.0.0.1:{controller.port}?timeout=5")
    with pytest.raises(TransientDeliveryError, match=r"(?i)certificate"):
        await transport.send(message())
    await transport.close()
    assert not recorder.messages
