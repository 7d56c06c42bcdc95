"""Mail sent through an SMTP server with aiosmtplib.

``INTAKE_SMTP_URL`` is ``smtp://user:pass@host:port`` (STARTTLS whenever the
server offers it) or ``smtps://…`` (TLS from the first byte). One connection
is kept open across a batch of messages and closed when the worker goes idle.

Credentials are only ever sent over TLS: with a user in the URL, a server
that offers no STARTTLS gets no ``AUTH`` command, and each delivery fails
with a :class:`TransientDeliveryError` that says so. Transient, not
permanent, because the cure is on the server's side (turn STARTTLS on) or
in the URL (``smtps://``), and a server that stopped offering STARTTLS may
have been made to (someone between us and it hiding the offer): the jobs
wait and go out by themselves once TLS is back, and the worker's attempt
limit still ends them if it never is.

Failures are sorted the way SMTP means them: a 4xx answer, a refused or
dropped connection and a timeout are worth retrying; a 5xx answer is final
(the address does not exist, the message is refused) and goes to the
dead-letter list at once. What the server said is kept with its codes
(``550 5.1.1``) but without addresses: servers repeat the recipient's.
"""

from __future__ import annotations

import email
import email.policy
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

from intakeforms.delivery.scrub import one_line, scrub_addresses
from intakeforms.errors import (
    IntakeError,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["PreparedMail", "SmtpTransport", "parse_smtp_url", "prepare_mail"]


def parse_smtp_url(url: str) -> dict[str, object]:
    """The connection settings in ``url``; raises :class:`IntakeError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise IntakeError(
            "INTAKE_SMTP_URL must look like smtp://user:pass@host:587 (STARTTLS when "
            "offered) or smtps://user:pass@host:465 (TLS); the scheme or host is missing"
        )
    options = dict(parse_qsl(parts.query))
    unknown = set(options) - {"timeout", "verify"}
    if unknown:
        raise IntakeError(
            f"INTAKE_SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}; "
            "the options are timeout=SECONDS and verify=false"
        )
    implicit = parts.scheme == "smtps"
    return {
        "hostname": parts.hostname,
        "port": parts.port or (465 if implicit else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": implicit,
        # None: STARTTLS if the server offers it, plain otherwise.
        "start_tls": False if implicit else None,
        "timeout": float(options.get("timeout", "30")),
        "validate_certs": options.get("verify", "true").lower() not in ("0", "false", "no"),
    }


@dataclass(frozen=True, slots=True)
class PreparedMail:
    """A message flattened for SMTP ahead of sending.

    Flattening is a third of the CPU time of sending a message; done where
    the mail is built (a build process or thread), it overlaps with the event
    loop talking to the server about the previous one. Plain data, so that a
    build process can send it back.
    """

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    #: An address is not ASCII: the server must offer SMTPUTF8.
    utf8: bool


def prepare_mail(message: EmailMessage) -> PreparedMail:
    """``message`` flattened as aiosmtplib's ``send_message`` would, for a
    server that offers 8BITMIME (Bcc removed, CRLF line ends)."""
    sender = extract_sender(message)
    recipients = extract_recipients(message)
    if not sender or not recipients:
        raise ValueError("the message needs a From header and at least one recipient")
    utf8 = not (sender + "".join(recipients)).isascii()
    data = flatten_message(message, utf8=utf8, cte_type="8bit")
    return PreparedMail(sender, tuple(recipients), data, utf8)


class SmtpTransport:
    """Sends messages over one reused SMTP connection."""

    def __init__(self, url: str, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.options = parse_smtp_url(url)
        self.tls_context = tls_context
        self._client: aiosmtplib.SMTP | None = None

    def __repr__(self) -> str:  # never the password
        return f"SmtpTransport({self.options['hostname']}:{self.options['port']})"

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        # The login is ours to make, below, once TLS is known to be on:
        # aiosmtplib would log in over a plain connection when the server
        # offers no STARTTLS.
        client = aiosmtplib.SMTP(
            hostname=str(self.options["hostname"]),
            port=int(str(self.options["port"])),
            use_tls=bool(self.options["use_tls"]),
            start_tls=self.options["start_tls"],  # type: ignore[arg-type]
            timeout=float(str(self.options["timeout"])),
            validate_certs=bool(self.options["validate_certs"]),
            tls_context=self.tls_context,
        )
        try:
            await client.connect()
            await self._login(client)
        except TransientDeliveryError:
            client.close()
            raise
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise PermanentDeliveryError(
                f"the SMTP server refused the login ({_said(exc.code, exc.message)}); "
                "check the user and password in INTAKE_SMTP_URL"
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            raise _by_code(
                exc.code, f"the SMTP server answered {_said(exc.code, exc.message)}"
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransientDeliveryError(
                f"cannot connect to the SMTP server {self._where}: {_text(exc)}"
            ) from None
        self._client = client
        return client

    @property
    def _where(self) -> str:
        return f"{self.options['hostname']}:{self.options['port']}"

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        username = self.options["username"]
        if username is None:
            return
        if client.get_transport_info("sslcontext") is None:
            raise TransientDeliveryError(
                f"the SMTP server at {self._where} offers no STARTTLS; credentials are "
                "only sent over TLS: use smtps:// or a server with STARTTLS"
            )
        await client.login(str(username), str(self.options["password"] or ""))

    #: Flattens a message for :meth:`send` (pure CPU: a thread or build process).
    prepare = staticmethod(prepare_mail)

    async def send(self, message: EmailMessage | PreparedMail) -> str:
        """Send ``message``; return the server's answer as the receipt."""
        client = await self._connected()
        try:
            if isinstance(message, PreparedMail) and _takes(client, message):
                options = ["BODY=8BITMIME", *(["SMTPUTF8"] if message.utf8 else [])]
                refused, answer = await client.sendmail(
                    message.sender, message.recipients, message.data, mail_options=options
                )
            else:
                # Not yet greeted with EHLO, or a server without 8BITMIME:
                # aiosmtplib flattens the message for what the server offers.
                if isinstance(message, PreparedMail):
                    refused, answer = await client.send_message(
                        _parsed(message), sender=message.sender, recipients=message.recipients
                    )
                else:
                    refused, answer = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            transient = any(400 <= code < 500 for code in codes)
            cls = TransientDeliveryError if transient else PermanentDeliveryError
            raise cls(
                "the SMTP server refused every recipient: "
                + "; ".join(_said(r.code, r.message) for r in exc.recipients)
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._drop()
            raise _by_code(
                exc.code, f"the SMTP server answered {_said(exc.code, exc.message)}"
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Dropped before the server's final answer: it may or may not have
            # the message. Resending carries the same Message-ID, so the
            # receiving side can tell the copies apart.
            await self._drop()
            raise TransientDeliveryError(f"the SMTP connection failed: {_text(exc)}") from None
        if refused:
            listed = "; ".join(_said(r.code, r.message) for r in refused.values())
            return f"{_text(answer)} ({len(refused)} recipient(s) refused: {listed})"
        return _text(answer)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def close(self) -> None:
        """Say goodbye to the server, if connected."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _parsed(prepared: PreparedMail) -> EmailMessage:
    """The message again, from its bytes (our own: nothing to distrust), for a
    server that needs it flattened otherwise; ``Bcc`` was never in the bytes,
    so the envelope keeps the recipients."""
    # Parsed with the line ends it was built with, so that no CR lands in a
    # part's content when the part is encoded again.
    data = prepared.data.replace(b"\r\n", b"\n")
    message = email.message_from_bytes(data, policy=email.policy.SMTP)
    assert isinstance(message, EmailMessage)
    return message


def _takes(client: aiosmtplib.SMTP, prepared: PreparedMail) -> bool:
    """Whether the server said (in its EHLO answer) it takes ``prepared`` as is."""
    if client.is_ehlo_or_helo_needed or not client.supports_extension("8bitmime"):
        return False
    return not prepared.utf8 or client.supports_extension("smtputf8")


def _text(said: object) -> str:
    """What the server or the library said, as one line without addresses."""
    return one_line(scrub_addresses(str(said)))


def _said(code: int, message: str) -> str:
    """A server's answer as kept: ``550 5.1.1 <address>: user unknown``."""
    return f"{code} {_text(message)}"


def _by_code(code: int, message: str) -> IntakeError:
    if 400 <= code < 500:
        return TransientDeliveryError(message)
    return PermanentDeliveryError(message)
