"""Request limits: body size counted as it streams, and per-client rates.

Rates are counted in this process's memory (:class:`RateLimiter`), or, when
several processes share a store (a PostgreSQL store, or ``intakeforms serve
--workers N`` on SQLite), in the store (:class:`SharedRateLimiter`) so that
they all count together: :func:`shared` turns the one into the other.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections import OrderedDict

from starlette.types import Message, Receive

from intakeforms.errors import StoreUnavailable
from intakeforms.store import Store

__all__ = ["BodyTooLarge", "RateLimiter", "SharedRateLimiter", "limit_body", "shared"]

logger = logging.getLogger("intakeforms.web")


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
    keeping every timestamp. A key not seen for two windows is forgotten
    (it counts for nothing then), and memory is capped besides: the least
    recently seen keys are forgotten first.
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
        self._forget_idle(window)
        return 0.0

    def _forget_idle(self, window: int) -> None:
        """Forget the keys last counted two windows ago or earlier: they
        count for nothing now. The least recently seen are first, so this
        stops at the first key still counting (constant time on average)."""
        while self._windows:
            oldest = next(iter(self._windows.values()))
            if oldest[0] >= window - 1:
                return
            self._windows.popitem(last=False)

    async def take(self, key: str) -> float:
        """:meth:`hit`, for callers that may as well be counting in a store."""
        return self.hit(key)


class SharedRateLimiter:
    """Counts in the store, so every process on one database counts together.

    The key the store keeps is a keyed hash of the caller's key (client
    address, form, purpose): no address is written to the database, and
    without the secret none can be guessed back from it. Processes share a
    count only when they share ``INTAKE_SECRET``, as they must anyway for
    each other's time-trap tokens.

    When the store cannot count, requests are allowed: a database outage
    must not lock every customer out. That is logged once per outage.
    """

    def __init__(self, store: Store, limit: int, period: float, secret: str) -> None:
        self.store = store
        self.limit = limit
        self.period = period
        # A secret list (rotation) signs with its first one; so does this.
        self._key = secret.split(",")[0].strip().encode("utf-8")
        self._failing = False

    def hashed(self, key: str) -> str:
        """The key as the store keeps it."""
        return hmac.new(self._key, key.encode("utf-8"), hashlib.sha256).hexdigest()

    async def take(self, key: str) -> float:
        """Count one request; 0 when allowed, else seconds until it would be."""
        try:
            wait = await self.store.hit_rate(self.hashed(key), self.limit, self.period)
        except StoreUnavailable:
            if not self._failing:
                self._failing = True
                logger.warning(
                    "the store cannot count rate limits; requests are allowed until it can"
                )
            return 0.0
        if self._failing:
            self._failing = False
            logger.info("the store counts rate limits again")
        return wait


def shared(
    limiter: RateLimiter | SharedRateLimiter, store: Store, secret: str
) -> SharedRateLimiter:
    """``limiter``'s limit counted in ``store`` instead, where every process
    on the same database counts together (one that already does is kept)."""
    if isinstance(limiter, SharedRateLimiter):
        return limiter
    return SharedRateLimiter(store, limiter.limit, limiter.period, secret)
