"""A real SMTP server on loopback (aiosmtpd) that records what it gets.

It can be told to answer the next messages with an error code, or to drop
the connection after DATA without answering, to prove the worker's retries.
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
from aiosmtpd.smtp import SMTP, Envelope, Session


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


class SmtpServer:
    """Start and stop the recording server; ``url`` is for INTAKE_SMTP_URL."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        self.controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
