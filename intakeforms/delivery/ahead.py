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

__all__ = ["BUILD_AHEAD", "BuildsAhead"]

#: How many agent emails of a batch are built ahead of the one being sent.
BUILD_AHEAD = 2


@dataclass
class _Slot:
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Any = None
    error: BaseException | None = None


class BuildsAhead:
    """The agent emails of a claimed batch, built a few jobs ahead of
    sending by ``make`` in tasks of ``group``: while the event loop waits for
    the mail server's answer about one message, the next ones are being built
    and flattened."""

    def __init__(
        self, group: anyio.abc.TaskGroup, make: Callable[[ClaimedJob], Awaitable[Any | None]]
    ) -> None:
        self._group = group
        self._make = make
        self._slots: dict[int, _Slot] = {}

    def start(self, items: Sequence[ClaimedJob]) -> None:
        """Start building each of ``items`` not started yet."""
        for item in items:
            if item.job.id not in self._slots:
                slot = self._slots[item.job.id] = _Slot()
                self._group.start_soon(self._build, item, slot)

    async def _build(self, item: ClaimedJob, slot: _Slot) -> None:
        try:
            slot.result = await self._make(item)
        except BaseException as exc:  # a cancellation too: the taker must wake
            slot.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
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
