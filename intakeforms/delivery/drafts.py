"""The "Continue your message later" mails, sent by the outbox worker.

A customer who chose "Continue by email later" left a draft in the store
(:class:`~intakeforms.store.DraftRecord`). Each cycle the worker claims the
drafts whose mail is not sent yet (:meth:`Store.claim_draft_mails`, held for
the worker's lease), builds each mail
(:func:`~intakeforms.mail.draft.build_draft_email`, with the signed link
``{INTAKE_PUBLIC_URL}/forms/{form}?d=TOKEN``), sends it through the worker's
mail transport and records it sent (:meth:`Store.mark_draft_mail_sent`).

A mail that fails for now (the mail server down, a 4xx answer) is left
claimed: the next cycle after its lease runs out tries it again, up to the
store's :data:`~intakeforms.store.drafts.DRAFT_MAIL_ATTEMPTS` tries. One
that can never go (the server refuses the address for good, an address no
mail can be built for) is recorded as settled and not tried again. Either
way the draft itself stays until it is submitted or expires. Without
``INTAKE_PUBLIC_URL`` there is no address to link to, so no draft is
claimed: the mails wait until it is set (or their drafts expire).

Logs name a draft by its id only: never its address, form answers, link or
token.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from intakeforms.delivery.jobs import MailTransport
from intakeforms.delivery.scrub import scrub_addresses, unforeseen
from intakeforms.errors import PermanentDeliveryError, TransientDeliveryError
from intakeforms.mail.draft import build_draft_email, draft_url

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.settings import Settings
    from intakeforms.store import DraftRecord, Store

__all__ = ["DraftMailer"]

logger = logging.getLogger("intakeforms.delivery")


class DraftMailer:
    """Sends the draft mails of ``store`` through ``transport``, ``batch`` at
    a time, each claimed for ``lease_seconds``; see the module's docstring."""

    def __init__(
        self,
        store: Store,
        forms: Mapping[str, Form],
        settings: Settings,
        transport: MailTransport,
        clock: Callable[[], dt.datetime],
        *,
        batch: int = 20,
        lease_seconds: float = 300.0,
    ) -> None:
        self.store = store
        self.forms = forms
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.batch = batch
        self.lease_seconds = lease_seconds
        self._warned = False

    async def run_once(self) -> int:
        """Claim and send the draft mails that are due; how many were
        settled (sent, or given up for good). Failures for now are not
        counted, so a worker whose mail server is down still idles."""
        public_url = self.settings.public_url
        if not public_url:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "outbox: INTAKE_PUBLIC_URL is not set, so no 'continue later' mails "
                    "are sent: their links need the service's public address"
                )
            return 0
        drafts = await self.store.claim_draft_mails(
            self.batch, lease_seconds=self.lease_seconds, now=self.clock()
        )
        settled = 0
        for draft in drafts:
            settled += await self._send(draft, public_url)
        return settled

    async def _send(self, draft: DraftRecord, public_url: str) -> int:
        form = self.forms.get(draft.form)
        if form is None:
            # The form id is the service's own name, not the customer's.
            logger.warning(
                "outbox: draft %s: the form %r is not loaded by this worker; its mail "
                "waits (start the worker with the same form files as the web service)",
                draft.id,
                draft.form,
            )
            return 0
        try:
            url = draft_url(
                public_url,
                form.id,
                draft.id,
                secret=self.settings.secrets[0],
                created_at=draft.created_at,
            )
            message = build_draft_email(form, draft, url=url, mail_from=self.settings.mail_from)
        except ValueError as exc:
            # The same draft fails the same way every time: give up on it.
            await self._settle(draft, f"cannot be built: {scrub_addresses(str(exc))}")
            return 1
        try:
            receipt = await self.transport.send(message)
        except PermanentDeliveryError as exc:
            await self._settle(draft, f"refused for good: {scrub_addresses(str(exc))}")
            return 1
        except Exception as exc:  # for now, or unforeseen: the draft is tried again
            reason = (
                scrub_addresses(str(exc))
                if isinstance(exc, TransientDeliveryError)
                else f"unexpected {unforeseen(exc)}"
            )
            logger.warning(
                "outbox: draft %s: the mail failed, tried again after %.0f s: %s",
                draft.id,
                self.lease_seconds,
                reason,
            )
            return 0
        await self.store.mark_draft_mail_sent(draft.id, self.clock())
        logger.info("outbox: draft %s: mail sent (%s)", draft.id, scrub_addresses(str(receipt)))
        return 1

    async def _settle(self, draft: DraftRecord, why: str) -> None:
        """Record the draft's mail as done without sending it, and say why."""
        logger.error("outbox: draft %s: its mail %s; not tried again", draft.id, why)
        await self.store.mark_draft_mail_sent(draft.id, self.clock())
