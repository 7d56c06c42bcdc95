"""A real SMTP server on loopback (aiosmtpd) that records what it gets.

It can be told to answer the next messages with an error code, to refuse
recipients with an answer that repeats the address (as real servers do), or
to drop the connection after DATA without answering, to prove the worker's
retries. It records every command it receives, by name, so a test can tell
that a command (``AUTH``) never reached it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Recorder:
    """The handler: keeps every message, and fails on request."""

    messages: list[EmailMessage] = field(default_factory=list)
    #: The raw bytes and the MAIL FROM options of each kept message.
    raw: list[bytes] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)
    #: The RCPT TO addresses of each kept message.
    recipients: list[list[str]] = field(default_factory=list)
    #: EHLO keywords the server does not offer, like ["8BITMIME"] (an old server).
    hidden: list[str] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    #: Answers for the next DATA commands, like ["451 try later", "550 no such user"].
    answers: list[str] = field(default_factory=list)
    #: Drop the connection after the next N DATA commands, before answering.
    drops: int = 0
    #: Seconds to wait before answering each message (a slow server).
    delay: float = 0.0
    #: Answer every RCPT TO with this, ``{address}`` replaced by the address,
    #: like "550 5.1.1 <{address}>: Recipient address rejected: User unknown".
    refuse_rcpt: str | None = None
    #: Every command received, by name, in order ("EHLO", "MAIL", ...).
    commands: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt.format(address=address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return [r for r in responses if r[4:].split(" ")[0].upper() not in self.hidden]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sessions.add(id(session))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drops:
            self.drops -= 1
            assert server.transport is not None
            server.transport.close()
            await asyncio.sleep(0)
            return "421 closing"  # never reaches the client
        if self.answers:
            return self.answers.pop(0)
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.raw.append(content)
        self.mail_options.append(list(envelope.mail_options))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK queued"

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def accept_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    """An authenticator that takes the user ``intake`` with ``s3cret``."""
    if isinstance(data, LoginPassword) and (data.login, data.password) == (b"intake", b"s3cret"):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


class RecordingSMTP(SMTP):
    """aiosmtpd's server, noting each command's name before handling it."""

    def __init__(self, handler: Recorder, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        for name, method in list(self._smtp_methods.items()):
            self._smtp_methods[name] = self._noting(name, method, handler.commands)

    @staticmethod
    def _noting(name: str, method: Any, commands: list[str]) -> Any:
        async def noted(arg: str | None) -> Any:
            commands.append(name)
            return await method(arg)

        # HELP lists the commands that carry aiosmtpd's syntax marks.
        noted.__dict__.update(method.__dict__)
        return noted


class RecordingController(Controller):
    """A controller whose server records the commands it gets."""

    def factory(self) -> SMTP:
        return RecordingSMTP(self.handler, **self.SMTP_kwargs)


class SmtpServer:
    """Start and stop the recording server; ``url`` is for INTAKE_SMTP_URL.

    ``options`` go to aiosmtpd's server, like ``authenticator=accept_login,
    auth_require_tls=False`` for a server that takes a login in clear.
    """

    def __init__(self, port: int | None = None, **options: Any) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        self.options = options
        self.controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def start(self) -> None:
        self.controller = RecordingController(
            self.recorder, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
