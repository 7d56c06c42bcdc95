"""Agent emails built ahead of their turn while the worker sends the one before.

Building and flattening an agent email is CPU work (in a build process or a
thread, see :mod:`intakeforms.delivery.builders`); sending it is waiting for
the mail server. :class:`BuildsAhead` starts the builds of the next jobs of
a claimed batch while the worker waits for the server's answer about the
current one, so the two overlap. Jobs are still sent one at a time, in
order: only the building runs ahead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc

from intakeforms.store import ClaimedJob

__all__ = ["BUILD_AHEAD", "BUILD_CHUNK", "BuildsAhead", "MakeMany"]

#: How many agent emails of a batch are at least being built ahead of the
#: one being sent (when the batch has that many left).
BUILD_AHEAD = 3
#: How many jobs go to a build process together: one hand-over to the
#: process and one back for them all costs less than one each per job.
BUILD_CHUNK = 4

#: Builds the jobs given, answering for each what it built or the exception
#: its build raised.
MakeMany = Callable[[Sequence[ClaimedJob]], Awaitable[Sequence[Any | Exception | None]]]


@dataclass
class _Slot:
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Any = None
    error: BaseException | None = None


class BuildsAhead:
    """The agent emails of a claimed batch, built ahead of sending by
    ``make`` in tasks of ``group``: while the event loop waits for the mail
    server's answer about one message, the next ones are being built and
    flattened. The job in hand is built alone when it was not started yet
    (the first of a batch: nothing else to wait for), the ones after it in
    chunks of :data:`BUILD_CHUNK`, started while :data:`BUILD_AHEAD` are
    still ahead."""

    def __init__(self, group: anyio.abc.TaskGroup, make: MakeMany) -> None:
        self._group = group
        self._make = make
        self._slots: dict[int, _Slot] = {}
        self._next = 0

    def ahead(self, items: Sequence[ClaimedJob], index: int) -> None:
        """Make sure ``items[index]`` is being built, and the jobs after it."""
        if self._next <= index:
            self.start(items[index : index + 1])
            self._next = index + 1
        while self._next < len(items) and self._next - index - 1 < BUILD_AHEAD:
            chunk = items[self._next : self._next + BUILD_CHUNK]
            self.start(chunk)
            self._next += len(chunk)

    def start(self, items: Sequence[ClaimedJob]) -> None:
        """Start building ``items`` together, those not started yet."""
        chunk = [item for item in items if item.job.id not in self._slots]
        if chunk:
            slots = [self._slots.setdefault(item.job.id, _Slot()) for item in chunk]
            self._group.start_soon(self._build, chunk, slots)

    async def _build(self, items: Sequence[ClaimedJob], slots: Sequence[_Slot]) -> None:
        try:
            built = await self._make(items)
            for slot, result in zip(slots, built, strict=True):
                if isinstance(result, Exception):
                    slot.error = result
                else:
                    slot.result = result
        except BaseException as exc:  # a cancellation too: the takers must wake
            for slot in slots:
                slot.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for slot in slots:
                slot.done.set()

    async def take(self, item: ClaimedJob) -> Any | None:
        """The prepared message of ``item``, or None when it was not built
        ahead (the caller builds it then); a build's error is raised here."""
        slot = self._slots.pop(item.job.id, None)
        if slot is None:
            return None
        await slot.done.wait()
        if slot.error is None:
            return slot.result
        if isinstance(slot.error, Exception):
            raise slot.error
        return None
