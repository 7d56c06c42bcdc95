"""Agent emails built ahead of sending: in threads, or in build processes.

Building an agent email (formatting every answer, parsing and folding MIME
headers, encoding the parts, flattening to bytes) costs a few milliseconds of
pure Python CPU, more than talking SMTP about it. Threads let the build
overlap with the wire, but the worker's event loop and the building threads
then take turns on one interpreter lock. ``mail_builders`` processes
(:class:`BuildProcesses`) build in interpreters of their own, so the worker's
process only claims, sends and records; in ``intakeforms serve`` that also
keeps mail building off the web requests.

A build process gets the forms and settings once, when it starts, and each
claimed job after that, with the customer's earlier contacts the worker
looked up for it (a :class:`~intakeforms.mail.history.History`: a build
process has no store); it sends back what the transport sends (the
flattened bytes), never an ``EmailMessage``. When one dies (killed, out of
memory), the jobs it held are built in a thread instead and a new process is
started for the next batch: a build process can cost time, never a mail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from intakeforms.delivery.jobs import DeliveryJob
from intakeforms.delivery.scrub import Scrubber
from intakeforms.delivery.unbuildable import build_error, transient
from intakeforms.form import Form
from intakeforms.intake import JobTarget
from intakeforms.language.target_kinds import target_kind
from intakeforms.settings import Settings
from intakeforms.store import ClaimedJob, StoredSubmission

if TYPE_CHECKING:
    from intakeforms.mail.history import History

__all__ = ["BuildProcesses", "Prepare", "agent_email_for"]

logger = logging.getLogger("intakeforms.delivery")

#: What a transport makes of a built message before sending it (bytes).
Prepare = Callable[[Any], Any]


def agent_email_for(
    forms: Mapping[str, Form],
    settings: Settings,
    prepare: Prepare,
    item: ClaimedJob,
    history: History | None = None,
) -> Any | None:
    """What the job's target kind prepares (the agent email of an email job),
    made ready for the transport; None for a kind that prepares nothing, or
    a job whose target is gone (the worker says why when it handles it).
    ``history`` is the customer's earlier contacts, for the kind to show.
    A build that fails raises :class:`~intakeforms.errors.BuildError`, whose
    message names the answer at fault, never its value.

    Pure CPU and file reads (attachments), safe in a thread or a build process.
    """
    form = forms.get(item.submission.form)
    named = JobTarget.parse(item.job.target)
    if form is None or named is None or named.index is None:
        return None
    kind = target_kind(named.kind)
    targets = form.definition.deliver
    if kind is None or kind.prepare is None or named.index >= len(targets):
        return None
    target = targets[named.index]
    if target.kind != kind.name:
        return None
    make = kind.prepare
    index = named.index

    def build(submission: StoredSubmission) -> Any:
        job = DeliveryJob(form, submission, index, settings, history=history)
        return prepare(make(job, target.config))

    try:
        return build(item.submission)
    except Exception as exc:
        if transient(exc):
            raise
        # Not chance: the same data fails the same way on every retry.
        raise build_error(
            "the agent email", exc, item.submission, build, Scrubber.of(item.submission, form)
        ) from None


# -- inside a build process --------------------------------------------------------

_CHILD: tuple[Mapping[str, Form], Settings, Prepare] | None = None


def _child_start(state: bytes, parent: int) -> None:
    global _CHILD
    # Safe to unpickle: the bytes come from the worker that started us.
    _CHILD = pickle.loads(state)  # noqa: S301
    # A worker killed with SIGKILL cannot stop its build processes; each one
    # leaves by itself when its parent is gone rather than linger (holding
    # the terminal or a pipe its parent's parent waits on).
    threading.Thread(target=_leave_with, args=(parent,), daemon=True).start()


def _leave_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _child_build(item: ClaimedJob, history: History | None = None) -> Any | None:
    assert _CHILD is not None, "the build process was not started by BuildProcesses"
    forms, settings, prepare = _CHILD
    return agent_email_for(forms, settings, prepare, item, history)


def _child_build_many(
    items: Sequence[tuple[ClaimedJob, History | None]],
) -> list[Any | Exception | None]:
    """What :func:`_child_build` returns for each of ``items``, or the
    exception it raised: one job that cannot be built fails alone."""
    built: list[Any | Exception | None] = []
    for item, history in items:
        try:
            built.append(_child_build(item, history))
        except Exception as exc:
            built.append(exc)
    return built


# -- in the worker -----------------------------------------------------------------


class BuildProcesses:
    """``count`` build processes for one worker, started on first use.

    ``prepare`` must pickle by name (a module-level function such as
    :func:`~intakeforms.delivery.smtp.prepare_mail`); :meth:`usable` says
    whether the forms, settings and ``prepare`` can be sent to a process.
    """

    def __init__(
        self, count: int, forms: Mapping[str, Form], settings: Settings, prepare: Prepare
    ) -> None:
        self.count = count
        self._forms = forms
        self._settings = settings
        self._prepare = prepare
        self._state: bytes | None = None
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def usable(self) -> bool:
        """Whether what a build needs can be sent to a build process."""
        if self.count > 0 and self._state is None:
            try:
                # A snapshot: a build process knows the forms of its start.
                self._state = pickle.dumps((dict(self._forms), self._settings, self._prepare))
            except Exception as exc:  # a transport or form that does not pickle
                logger.warning(
                    "outbox: building agent emails in threads, not in build processes: "
                    "the forms, settings or transport's prepare cannot be sent to another "
                    "process (%s)",
                    exc,
                )
                self.count = 0
        return self.count > 0

    def _started(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            state = self._state
            assert state is not None  # usable() made it
            # spawn, not fork: the worker's process holds threads (the store's,
            # the web service's) whose locks a forked copy would inherit held.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.count,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_start,
                initargs=(state, os.getpid()),
            )
        return self._pool

    async def start(self) -> None:
        """Start the processes and wait until each can build (a spawned
        interpreter takes a moment to import what it needs)."""
        if not self.usable():
            return
        pool = self._started()
        try:
            # One submit per missing process: the pool starts a process for
            # each submit that finds none idle.
            for future in [pool.submit(_ready) for _ in range(self.count)]:
                await asyncio.wrap_future(future)
        except (BrokenProcessPool, OSError) as exc:
            self._lost(pool, exc)

    @property
    def pids(self) -> tuple[int, ...]:
        """The process ids of the running build processes."""
        pool = self._pool
        running = getattr(pool, "_processes", None) or {}
        return tuple(running)

    async def build(self, item: ClaimedJob, history: History | None = None) -> Any | None:
        """What :func:`agent_email_for` returns for ``item`` and ``history``,
        built in a build process (in a thread when the process died under it)."""
        if not self.usable():
            return await self.in_thread(item, history)
        pool = self._started()
        try:
            return await asyncio.wrap_future(pool.submit(_child_build, item, history))
        except BrokenProcessPool as exc:
            self._lost(pool, exc)
            return await self.in_thread(item, history)

    async def build_many(
        self, items: Sequence[tuple[ClaimedJob, History | None]]
    ) -> list[Any | Exception | None]:
        """:meth:`build` for each of ``items`` (a job and its earlier
        contacts), sent to a build process together: one hand-over to the
        process and one back for them all, instead of one each way per job.
        A job's failure is in its place in the answer, not raised."""
        if self.usable():
            pool = self._started()
            try:
                return await asyncio.wrap_future(pool.submit(_child_build_many, list(items)))
            except BrokenProcessPool as exc:
                self._lost(pool, exc)
        built: list[Any | Exception | None] = []
        for item, history in items:
            try:
                built.append(await self.in_thread(item, history))
            except Exception as exc:
                built.append(exc)
        return built

    def _lost(self, pool: concurrent.futures.ProcessPoolExecutor, exc: BaseException) -> None:
        if self._pool is pool:
            logger.warning("outbox: a build process died (%s); starting another", exc)
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    async def in_thread(self, item: ClaimedJob, history: History | None = None) -> Any | None:
        """What :func:`agent_email_for` returns for ``item`` and ``history``,
        built in a thread of this process (which knows kinds registered here
        after the build processes started, or from Python only)."""
        return await anyio.to_thread.run_sync(
            agent_email_for, self._forms, self._settings, self._prepare, item, history
        )

    def close(self) -> None:
        """Stop the build processes (they finish the build in hand)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
