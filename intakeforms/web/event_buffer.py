"""Accepted visitor events, waiting in memory until a batch is written.

:class:`EventBuffer` takes what ``POST /events`` (and a submission's own
``submit`` or ``error`` events) accepted and writes it in batches (every
:data:`FLUSH_SECONDS`, or at once when :data:`FLUSH_EVENTS` are waiting),
so that events never hold up a submission. A batch the store cannot write
is dropped with a warning (its size only): statistics may miss it, the
page never sees an error for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from intakeforms.store import EventColumns, EventFields, EventRecord, Store, event_fields

__all__ = [
    "DROP_WARNING_SECONDS",
    "FLUSH_EVENTS",
    "FLUSH_SECONDS",
    "MAX_WAITING",
    "EventBuffer",
]

logger = logging.getLogger("intakeforms.web")

#: How long accepted events wait at most before they are written.
FLUSH_SECONDS = 1.0
#: How many waiting events are written at once, without waiting longer:
#: each write is a transaction, and a row costs the least in large ones.
FLUSH_EVENTS = 500
#: Waiting events kept at most while the store cannot write; more are dropped.
MAX_WAITING = 10_000
#: Seconds between two warnings of dropped events: a store down under a
#: busy site would otherwise write a line for every request.
DROP_WARNING_SECONDS = 60.0


class EventBuffer:
    """Accepted events waiting to be written, and the task that writes them.

    The task starts with the first event (a service mounted in another app
    runs no lifespan) and is started again on another event loop. One write
    runs at a time. :meth:`flush` writes what waits now; :meth:`close`
    writes the rest and stops the task.
    """

    def __init__(self, store: Store, ready: Callable[[], Awaitable[None]]) -> None:
        self.store = store
        self.ready = ready
        # Field by field: no object an event for the garbage collector (see
        # EventColumns), which thousands waiting would otherwise make run
        # in the middle of submissions.
        self._waiting = EventColumns()
        self._task: asyncio.Task[None] | None = None
        # The early flush under way, if any (one at a time: a busy stream
        # would otherwise start one for every request until the first ran).
        self._early: asyncio.Task[None] | None = None
        # One write at a time, on the loop the lock was made for.
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        #: Events dropped because the store could not write them (or too
        #: many waited), since the service started.
        self.dropped = 0
        self._unwarned = 0  # dropped since the last warning, not yet told
        self._quiet_until = 0.0

    def add(self, events: Sequence[EventRecord]) -> None:
        """Queue ``events``; they are written within :data:`FLUSH_SECONDS`."""
        self.add_fields([event_fields(event) for event in events])

    def add_fields(self, events: list[EventFields]) -> None:
        """Queue ``events``, each an :class:`EventRecord`'s fields in order,
        checked as ``EventRecord`` requires (what ``POST /events`` takes)."""
        room = MAX_WAITING - self.waiting
        if len(events) > room:
            self._drop(len(events) - max(room, 0), "too many events are waiting")
            events = events[: max(room, 0)]
        self._waiting.extend(events)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())
        if self.waiting >= FLUSH_EVENTS and (
            self._early is None or self._early.done() or self._early.get_loop() is not loop
        ):
            self._early = loop.create_task(self._flush_early())

    @property
    def waiting(self) -> int:
        """How many events wait to be written."""
        return len(self._waiting)

    async def flush(self) -> int:
        """Write what waits, in one transaction, once a write under way has
        ended: when it returns, every event accepted before the call is
        written (or dropped, when the store could not). How many it wrote."""
        async with self._guard():
            waiting, self._waiting = self._waiting, EventColumns()
            count = len(waiting)
            if not count:
                return 0
            try:
                await self.ready()
                return await self.store.save_events(waiting)
            except Exception as exc:  # the statistics miss a batch; the page never sees it
                self._drop(count, f"the store could not write them ({type(exc).__name__})")
                return 0

    async def close(self) -> None:
        """Stop the writing task and write what still waits, after the
        writes under way: a write is never cut off, its batch would be lost."""
        loop = asyncio.get_running_loop()
        early, self._early = self._early, None
        if early is not None and early.get_loop() is loop:
            await early  # ends once less than a batch waits; never raises
        task, self._task = self._task, None
        if task is not None and task.get_loop() is loop:
            async with self._guard():  # the timer is asleep or waiting, not writing
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        if self._unwarned:
            self._warn("since the last warning")

    def _guard(self) -> asyncio.Lock:
        """The lock that keeps writes one at a time, made for this loop."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def _flush_early(self) -> None:
        # Again while a full batch came in during the write before.
        while self.waiting >= FLUSH_EVENTS:
            await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        self._unwarned += count
        if time.monotonic() >= self._quiet_until:
            self._warn(why)

    def _warn(self, why: str) -> None:
        """One warning for what was dropped since the last, then quiet for
        :data:`DROP_WARNING_SECONDS` (the count goes on; ``close`` tells the rest)."""
        count, self._unwarned = self._unwarned, 0
        self._quiet_until = time.monotonic() + DROP_WARNING_SECONDS
        # Counts only: an event holds nothing personal, but no value is logged.
        logger.warning("events: dropped %d visitor event(s): %s", count, why)
