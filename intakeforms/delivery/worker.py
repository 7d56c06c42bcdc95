"""The outbox worker: claims due jobs, delivers them, retries or dead-letters.

Each job is one submission for one target of its form's ``deliver`` list
(``email:0``). A job is claimed with a lease; a worker that dies holding it
loses the lease, and another worker takes the job over when it runs out.
Transient failures (SMTP 4xx, connection errors, HTTP 5xx, 429) are retried
with exponential backoff and jitter, honouring ``Retry-After``; permanent ones
(SMTP 5xx, HTTP 4xx, a submission that cannot be built into what its target
takes) and jobs out of attempts go to the dead-letter state with their
reason, where ``intakeforms outbox retry`` can replay them. Reasons, receipts
and log lines hold no addresses and none of the submission's answers
(:mod:`intakeforms.delivery.scrub`).

The ``autoreply`` job of a form with ``autorespond`` is the confirmation to
the customer. Before sending it the worker asks the store how many
confirmations the same address got in the last 24 hours; at the form's
``max_per_day`` the job is completed without sending (nothing to retry).
Workers running at once may each see the count below the cap, so the cap
can be passed by one mail per racing worker; it guards inboxes against
floods, not against the odd extra mail. With ``INTAKE_PUBLIC_URL`` set, the
confirmation links to the submission's status page.

Before building a delivery the worker looks up the customer's earlier
contacts (:mod:`intakeforms.delivery.history`) and hands them over with the
job. Each cycle it also sends the "Continue your message later" mails of
new drafts (:mod:`intakeforms.delivery.drafts`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from intakeforms.delivery.ahead import BuildsAhead
from intakeforms.delivery.builders import BuildProcesses
from intakeforms.delivery.drafts import DraftMailer
from intakeforms.delivery.history import look_up_batch, look_up_history
from intakeforms.delivery.jobs import DeliveryJob, MailTransport
from intakeforms.delivery.scrub import Scrubber, answer_texts, scrub_addresses, unforeseen
from intakeforms.delivery.unbuildable import build_error, transient
from intakeforms.errors import (
    LeaseLost,
    PermanentDeliveryError,
    StoreUnavailable,
    TransientDeliveryError,
)
from intakeforms.form import Form
from intakeforms.intake import JobTarget
from intakeforms.language.target_kinds import AUTOREPLY_TARGET, target_kind
from intakeforms.mail import build_customer_email, customer_address, status_url
from intakeforms.settings import Settings
from intakeforms.store import ClaimedJob, Store, StoredSubmission, new_worker_id

if TYPE_CHECKING:
    from intakeforms.mail.history import History
    from intakeforms.metrics import Metrics

__all__ = [
    "AUTOREPLY_WINDOW",
    "SKIPPED_CAP",
    "MailTransport",
    "Worker",
    "backoff_seconds",
    "mail_transport",
]

logger = logging.getLogger("intakeforms.delivery")

#: How far back the daily cap of confirmations per address looks: a sliding
#: day, so that no burst just before and after midnight gets twice the cap.
AUTOREPLY_WINDOW = dt.timedelta(hours=24)
#: The receipt of a confirmation not sent because of the daily cap.
SKIPPED_CAP = "skipped: daily cap for this address reached"


def mail_transport(settings: Settings) -> MailTransport:
    """SMTP when ``smtp_url`` is set, else ``.eml`` files in ``mail_dir``."""
    if settings.smtp_url:
        from intakeforms.delivery.smtp import SmtpTransport

        return SmtpTransport(settings.smtp_url)
    from intakeforms.delivery.eml import EmlFolder

    return EmlFolder(settings.mail_dir)


def backoff_seconds(
    attempt: int, base: float, ceiling: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before try ``attempt + 1``: doubling from ``base`` up to
    ``ceiling``, the upper half jittered so that jobs failed together do not
    come back together."""
    delay = min(ceiling, base * 2 ** max(0, attempt - 1))
    return float(delay / 2 + rand() * delay / 2)


@dataclass
class Worker:
    """Delivers outbox jobs of ``forms`` from ``store``.

    ``run`` loops until ``stop`` is set, claiming ``batch`` jobs at a time;
    ``run_once`` handles one batch (tests and the ``outbox`` command use it);
    :meth:`close` ends what ``run_once`` leaves open.

    ``builders`` is how many build processes make the agent emails
    (``mail_builders`` in the settings; see :mod:`intakeforms.delivery.builders`);
    0 builds them in threads of this process.
    """

    store: Store
    forms: Mapping[str, Form]
    settings: Settings
    transport: MailTransport
    name: str = ""
    batch: int = 20
    lease_seconds: float = 300.0
    idle_seconds: float = 1.0
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    rand: Callable[[], float] = random.random
    builders: int = 0
    #: Counts and times each delivery attempt by target kind (``/metrics``).
    metrics: Metrics | None = None
    _builder: BuildProcesses = field(init=False, repr=False)
    _drafts: DraftMailer = field(init=False, repr=False)
    #: The earlier contacts each job in hand was delivered with, by job id:
    #: what a target says back is kept without their summaries either.
    _shown: dict[int, History | None] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = new_worker_id()
        self._builder = BuildProcesses(
            self.builders, self.forms, self.settings, self.transport.prepare
        )
        self._drafts = DraftMailer(
            self.store,
            self.forms,
            self.settings,
            self.transport,
            self.clock,
            batch=self.batch,
            lease_seconds=self.lease_seconds,
        )

    async def run(self, stop: anyio.Event) -> None:
        """Deliver until ``stop`` is set; finishes the job in hand first."""
        try:
            await self.start()
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except StoreUnavailable as exc:
                    # A driver's message may quote a connection address.
                    logger.warning(
                        "outbox: the store is unavailable, waiting: %s", scrub_addresses(str(exc))
                    )
                    handled = 0
                except Exception as exc:
                    # Inside `serve` this loop shares the process with the web
                    # service: an unforeseen error must not take the forms down.
                    # Jobs in hand stay claimed and come back when their lease ends.
                    logger.error(
                        "outbox: unexpected error %s; trying again shortly", unforeseen(exc)
                    )
                    handled = 0
                if handled:
                    continue
                await self.transport.close()
                with anyio.move_on_after(self.idle_seconds):
                    await stop.wait()
        finally:
            with anyio.CancelScope(shield=True):
                await self.close()

    async def start(self) -> None:
        """Start the build processes and wait until they are ready; ``run``
        does it first, ``run_once`` when it needs them."""
        await self._builder.start()

    async def close(self) -> None:
        """Close the transport's connection and stop the build processes."""
        try:
            await self.transport.close()
        finally:
            await anyio.to_thread.run_sync(self._builder.close)

    async def run_once(self) -> int:
        """Claim and handle one batch of due jobs, then send the draft mails
        that are due; return how many of both were handled."""
        claimed = await self.store.claim(
            self.name, limit=self.batch, lease_seconds=self.lease_seconds, now=self.clock()
        )
        # One read of the store for the batch's earlier contacts, not one per job.
        await look_up_batch(self.store, self.forms, [c.submission for c in claimed], self.settings)
        async with anyio.create_task_group() as group:
            builds = BuildsAhead(group, self._ahead)
            for index, item in enumerate(claimed):
                builds.ahead(claimed, index)
                # Shielded: a shutdown waits for the job in hand, so it is never
                # half-reported (sent but still claimed would mean a second copy).
                with anyio.CancelScope(shield=True):
                    await self._handle(item, builds)
        with anyio.CancelScope(shield=True):  # a mail sent is recorded sent
            mailed = await self._drafts.run_once()
        return len(claimed) + mailed

    async def _history(self, item: ClaimedJob) -> History | None:
        """The customer's earlier contacts for a job of the form's
        ``deliver`` list (none for the confirmation)."""
        named = JobTarget.parse(item.job.target)
        form = self.forms.get(item.submission.form)
        if named is None or named.index is None or form is None:
            return None
        return await look_up_history(self.store, self.forms, form, item.submission, self.settings)

    async def _ahead(
        self, items: Sequence[ClaimedJob]
    ) -> list[tuple[History | None, Any | None] | Exception]:
        """Jobs' earlier contacts and what their kind prepares with them,
        made ahead of their turn; an exception in the place of a job whose
        build failed."""
        histories = [await self._history(item) for item in items]
        built = await self._builder.build_many(list(zip(items, histories, strict=True)))
        return [
            result if isinstance(result, Exception) else (history, result)
            for history, result in zip(histories, built, strict=True)
        ]

    async def _handle(self, item: ClaimedJob, builds: BuildsAhead) -> None:
        job, submission = item.job, item.submission
        if job.attempts > self.settings.max_attempts:
            # Claimed again and again without an outcome: something kills the
            # worker that takes it. Stop the loop here.
            await self._report(
                self.store.dead_letter(
                    job.id,
                    worker=self.name,
                    error=f"claimed {job.attempts} times without an outcome; "
                    f"last error: {job.last_error or 'none'}",
                )
            )
            return
        # What a server or an exception says is kept and logged only once
        # it holds no address and none of this submission's answers.
        form = self.forms.get(submission.form)
        scrub = Scrubber.of(submission, form)
        # metrics: one attempt per delivery tried, failed if it raises
        timed = self.metrics.delivery(job.target) if self.metrics else contextlib.nullcontext()
        try:
            try:
                with timed:
                    receipt, recipient = await self._outcome(item, builds)
            finally:
                history = self._shown.pop(job.id, None)
                if history is not None and history.entries:
                    # The earlier contacts' summaries went out too.
                    scrub = Scrubber([*answer_texts(submission, form), *history.texts()])
        except PermanentDeliveryError as exc:
            reason = scrub(str(exc))
            await self._report(self.store.dead_letter(job.id, worker=self.name, error=reason))
            logger.error(
                "outbox: job %s (%s of %s) dead-lettered: %s",
                job.id,
                job.target,
                submission.reference,
                reason,
            )
            return
        except Exception as exc:  # transient, or unforeseen: never lose the job
            retry_after = exc.retry_after if isinstance(exc, TransientDeliveryError) else None
            reason = (
                scrub(str(exc))
                if isinstance(exc, TransientDeliveryError)
                else f"unexpected {unforeseen(exc)}"
            )
            if job.attempts >= self.settings.max_attempts:
                await self._report(
                    self.store.dead_letter(
                        job.id,
                        worker=self.name,
                        error=f"gave up after {job.attempts} attempts: {reason}",
                    )
                )
                logger.error("outbox: job %s gave up: %s", job.id, reason)
                return
            delay = backoff_seconds(
                job.attempts,
                self.settings.retry_base_seconds,
                self.settings.retry_max_seconds,
                self.rand,
            )
            delay = max(delay, retry_after or 0.0)
            at = self.clock() + dt.timedelta(seconds=delay)
            await self._report(
                self.store.retry_later(job.id, worker=self.name, error=reason, at=at)
            )
            logger.warning(
                "outbox: job %s (%s of %s) failed, retry in %.0f s: %s",
                job.id,
                job.target,
                submission.reference,
                delay,
                reason,
            )
            return
        receipt = scrub(receipt)
        if recipient is None:
            await self._report(self.store.complete(job.id, worker=self.name, receipt=receipt))
        else:
            await self._report(
                self.store.complete_autoreply(
                    job.id, worker=self.name, receipt=receipt, recipient=recipient
                )
            )

    async def _report(self, outcome: Any) -> None:
        try:
            await outcome
        except LeaseLost as exc:
            # Another worker took the job over after our lease ran out; its
            # report wins. Our copy (if sent) carries the same Message-ID.
            logger.warning("outbox: %s", exc)

    def _form(self, submission: StoredSubmission) -> Form:
        form = self.forms.get(submission.form)
        if form is None:
            raise TransientDeliveryError(
                f"form {submission.form!r} is not loaded by this worker; "
                "start it with the same form files as the web service"
            )
        return form

    async def _outcome(self, item: ClaimedJob, builds: BuildsAhead) -> tuple[str, str | None]:
        """Deliver the job: its receipt, and whom a confirmation went to."""
        if item.job.target == AUTOREPLY_TARGET:
            return await self._autoreply(item)
        return await self._deliver(item, builds), None

    async def _autoreply(self, item: ClaimedJob) -> tuple[str, str | None]:
        """Send the customer's confirmation, unless the daily cap forbids it.

        The recipient comes back only when a mail was sent: skipped jobs do
        not count towards the cap.
        """
        job, submission = item.job, item.submission
        form = self._form(submission)
        autorespond = form.definition.autorespond
        if autorespond is None:
            # Turned off after the submission was stored: the author's latest
            # word wins, and there is nothing to retry.
            return "skipped: the form has no autorespond any more", None
        address = customer_address(form, submission)
        if address is None:
            return "skipped: no usable customer address", None
        since = self.clock() - AUTOREPLY_WINDOW
        if await self.store.count_autoreplies(address, since) >= autorespond.max_per_day:
            # The address stays out of the log: it is personal data.
            logger.info("outbox: job %s (%s): %s", job.id, submission.reference, SKIPPED_CAP)
            return SKIPPED_CAP, None

        status = None
        if self.settings.public_url:
            # Signed with the first secret; the service verifies with any.
            status = status_url(
                self.settings.public_url, submission.reference, secret=self.settings.secrets[0]
            )

        def build(stored: StoredSubmission) -> Any:
            return build_customer_email(
                form, stored, mail_from=self.settings.mail_from, status_url=status
            )

        try:
            message = build(submission)
        except Exception as exc:
            if transient(exc):
                raise
            # Not chance: the same data fails the same way on every retry.
            raise build_error(
                "the confirmation", exc, submission, build, Scrubber.of(submission, form)
            ) from None
        return await self.transport.send(message), address

    async def _deliver(self, item: ClaimedJob, builds: BuildsAhead) -> str:
        job, submission = item.job, item.submission
        form = self._form(submission)
        named = JobTarget.parse(job.target)
        targets = form.definition.deliver
        if named is None or named.index is None or not 0 <= named.index < len(targets):
            raise PermanentDeliveryError(
                f"the form {form.id!r} has no delivery target {job.target!r} any more"
            )
        target = targets[named.index]
        if target.kind != named.kind:
            # The form was edited after the submission was stored: the job's
            # target is gone, and sending to whatever took its place would
            # deliver the submission somewhere nobody chose.
            raise PermanentDeliveryError(
                f"deliver[{named.index}] of form {form.id!r} is a {target.kind} target now, "
                f"not the {named.kind} target this job was made for"
            )
        kind = target_kind(named.kind)
        if kind is None:
            raise PermanentDeliveryError(
                f"delivery to {named.kind!r} targets is not available in this version"
            )
        ahead = await builds.take(item)
        history, prepared = ahead if ahead is not None else (await self._history(item), None)
        self._shown[job.id] = history
        if kind.over_http:
            # Imported here: httpx loads only in workers whose forms deliver over HTTP.
            from intakeforms.delivery.targets import deliver_http

            return await deliver_http(
                named.kind,
                target,
                form,
                submission,
                named.index,
                history=history,
                timezone=self.settings.timezone,
            )
        if kind.prepare is None:
            prepared = None
        else:
            if prepared is None:
                prepared = await self._builder.build(item, history)
            if prepared is None and self._builder.count:
                # A build process knows the kinds of its start: one registered
                # in this process since (or from Python) is prepared here.
                prepared = await self._builder.in_thread(item, history)
            if prepared is None:  # the form changed under the job: say how
                raise PermanentDeliveryError(
                    f"the form {form.id!r} has no {named.kind} target {job.target!r} any more"
                )
        delivery = DeliveryJob(
            form,
            submission,
            named.index,
            self.settings,
            transport=self.transport,
            prepared=prepared,
            history=history,
        )
        return await kind.deliver(delivery, target.config)
