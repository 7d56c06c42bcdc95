"""How the PostgreSQL store writes submissions that arrive together.

Saves that arrive while a batch is being written wait, and are then written
together in one transaction (a group commit, as the SQLite store does): the
BEGIN and the COMMIT, two of a save's five round trips to the server and
the commit's wait for the disk, are shared by the batch. Each save still
returns only once its batch is committed.

A batch has no savepoints (each would cost two more round trips). When
anything in it fails, the server rolls all of it back, and every save of
the batch is written again alone, in a transaction of its own, so that only
the one at fault fails and the others are stored: one bad submission never
costs other customers their save. A lone save, or one whose batch could not
even begin (the server is down), is not tried twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from intakeforms.errors import StoreUnavailable
from intakeforms.store.records import NewSubmission, SaveResult

__all__ = ["MAX_BATCH", "GroupSave", "Pending"]

#: The most saves one transaction takes; more wait for the next.
MAX_BATCH = 64


@dataclass(eq=False)
class Pending:
    """One save waiting for its batch."""

    submission: NewSubmission
    data: str
    done: anyio.Event = field(default_factory=anyio.Event)
    result: SaveResult | None = None
    error: BaseException | None = None


#: Writes a batch in one transaction: each one's result, in order.
WriteBatch = Callable[[list[Pending], dt.datetime], Awaitable[list[SaveResult]]]
#: Writes one save in a transaction of its own.
WriteOne = Callable[[Pending, dt.datetime], Awaitable[SaveResult]]


class GroupSave:
    """Batches the saves of one store: one batch is written at a time.

    Measured over HTTP (``bench_service``'s load on 2 CPUs), one writer
    took a quarter off the CPU of a submission against a transaction per
    save, and four writers on connections of their own took more CPU than
    one and fewer submissions a second: their batches were small and each
    paid its own BEGIN, COMMIT and wait for the disk.
    """

    def __init__(
        self, together: WriteBatch, alone: WriteOne, clock: Callable[[], dt.datetime]
    ) -> None:
        self._together = together
        self._alone = alone
        self._clock = clock
        self._waiting: list[Pending] = []
        self._writing = False
        self._drained: anyio.Event | None = None

    async def drained(self) -> None:
        """Return once the saves waiting or being written now are done."""
        if self._drained is not None:
            await self._drained.wait()

    async def save(self, submission: NewSubmission, data: str) -> SaveResult:
        """Save ``submission`` (``data``: its answers as JSON) with the others
        waiting now; its result once its batch is committed, or its error."""
        pending = Pending(submission, data)
        self._waiting.append(pending)
        if self._writing:
            await pending.done.wait()
        else:
            self._writing = True
            self._drained = anyio.Event()
            try:
                # Shielded: the saves of a batch must learn its outcome even
                # if the caller that happens to write it is cancelled.
                with anyio.CancelScope(shield=True):
                    while self._waiting:
                        batch = self._waiting[:MAX_BATCH]
                        del self._waiting[:MAX_BATCH]
                        await self._write(batch)
            finally:
                self._writing = False
                self._drained.set()
                self._drained = None
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    async def _write(self, batch: list[Pending]) -> None:
        now = self._clock()
        try:
            if len(batch) > 1:
                try:
                    results = await self._together(batch, now)
                except StoreUnavailable as exc:
                    if _no_server(exc):
                        for pending in batch:
                            pending.error = exc
                        return
                except Exception:  # noqa: S110 - each is saved alone below, and fails alone
                    pass
                else:
                    for pending, result in zip(batch, results, strict=True):
                        pending.result = result
                    return
            for pending in batch:
                try:
                    pending.result = await self._alone(pending, now)
                except Exception as exc:
                    pending.error = exc
        finally:
            for pending in batch:
                pending.done.set()


def _no_server(exc: StoreUnavailable) -> bool:
    """Whether the batch failed for want of a server or a connection (then
    saving each alone would only fail again, slower), not for a row."""
    return exc.__cause__ is None or getattr(exc.__cause__, "sqlstate", None) is None
