"""Request limits: body size counted as it streams, and per-client rates."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from starlette.types import Message, Receive

__all__ = ["BodyTooLarge", "RateLimiter", "limit_body"]


class BodyTooLarge(Exception):
    """The body grew past its limit while it was being read."""


def limit_body(receive: Receive, limit: int) -> Receive:
    """Wrap ``receive`` so reading more than ``limit`` bytes raises
    :class:`BodyTooLarge`, whatever ``Content-Length`` claimed."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return receive_limited


class RateLimiter:
    """A sliding-window counter per key, kept in memory.

    Counts the current and the previous window and weighs the previous by how
    much of it still overlaps, which smooths the edge between windows without
    keeping every timestamp. Memory is capped; the least recently seen keys
    are forgotten first.
    """

    def __init__(self, limit: int, period: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.period = period
        self.max_keys = max_keys
        self._windows: OrderedDict[str, tuple[int, int, int]] = OrderedDict()

    def hit(self, key: str, now: float | None = None) -> float:
        """Count one request; 0 when allowed, else seconds until it would be."""
        moment = time.monotonic() if now is None else now
        window = int(moment // self.period)
        start, current, previous = self._windows.pop(key, (window, 0, 0))
        if window != start:
            previous = current if window == start + 1 else 0
            current, start = 0, window
        elapsed = (moment % self.period) / self.period
        estimate = previous * (1 - elapsed) + current
        if estimate + 1 > self.limit:
            self._windows[key] = (start, current, previous)
            # The previous window's weight fades linearly; wait until enough has.
            if previous:
                needed = (estimate + 1 - self.limit) / previous
                return max(1.0, math.ceil(needed * self.period))
            return max(1.0, math.ceil((1 - elapsed) * self.period))
        self._windows[key] = (start, current + 1, previous)
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)
        return 0.0
