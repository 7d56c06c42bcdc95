"""Shared rate limits: one UPSERT per request, the same SQL on both backends.

:meth:`Store.hit_rate` counts requests per key in the table ``rate_hits``,
so every process on one database counts together. The window slides the
way the web layer's in-memory limiter does: the counts of the current fixed
window and of the one before are kept, and the one before is weighed by how
much of it still overlaps the last ``period`` seconds. That smooths the edge
between windows (a fixed window would let twice the limit through around it)
without keeping a row per request.

One statement does the whole count: ``INSERT … ON CONFLICT (key) DO UPDATE
… RETURNING`` reads the key's row, moves it to the current window, counts
the request only when it is allowed, and returns what the caller needs to
compute the wait. The row lock it takes makes concurrent counts from any
number of processes exact. Refused requests are not counted, so a client
that keeps trying is let through as soon as its rate falls under the limit.

Keys are stored as SHA-256 (whatever the caller passes), so the table never
holds an address even when a caller forgets to hash it. A row is useless
two periods after its window started; every so often a count also deletes a
few such rows (the same statement on PostgreSQL, so still one round trip).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "SWEEP_EVERY",
    "SWEEP_ROWS",
    "Hit",
    "hit_statement",
    "stored_key",
    "sweep_statement",
    "wait",
]

#: Seconds between two sweeps of expired rows by one store.
SWEEP_EVERY = 10.0
#: Rows one sweep deletes at most, so a sweep never holds up a request long.
SWEEP_ROWS = 500


@dataclass(frozen=True, slots=True)
class Hit:
    """One request to count: the values every statement of this module takes."""

    key: str
    limit: int
    period: float
    window: int
    elapsed: float
    expires: float
    now: float

    @classmethod
    def at(cls, key: str, limit: int, period: float, moment: dt.datetime) -> Hit:
        """The request under ``key`` at ``moment``; refuses a useless limit."""
        if not key:
            raise ValueError("the rate limit key is empty")
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        if not (period > 0 and math.isfinite(period)):
            raise ValueError(f"period must be more than 0 seconds, not {period}")
        now = moment.timestamp()
        window = int(now // period)
        return cls(
            key=stored_key(key),
            limit=limit,
            period=period,
            window=window,
            elapsed=(now % period) / period,
            # The row counts for its window and, weighed, the next one.
            expires=(window + 2) * period,
            now=now,
        )

    def values(self) -> dict[str, object]:
        """The statement's parameters by name."""
        return {
            "key": self.key,
            "window": self.window,
            "elapsed": self.elapsed,
            "limit": self.limit,
            "expires": self.expires,
            "now": self.now,
            "sweep_rows": SWEEP_ROWS,
        }


def stored_key(key: str) -> str:
    """What the table keeps of ``key``: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def hit_statement(param: Callable[[str], str], greatest: str) -> str:
    """The UPSERT of one request, in a dialect: ``param("key")`` spells a
    named parameter (``:key``, ``%(key)s``), ``greatest`` the larger of two
    values (``max``, ``greatest``). Returns this_count, last_count, allowed.
    """
    window, elapsed, limit = param("window"), param("elapsed"), param("limit")
    # Each SET expression sees only the old row (r) and the new one
    # (excluded), so the window's move is spelled out in each of them. A
    # window before the row's (another host's clock is ahead) counts as the
    # row's own.
    same = f"{window} <= r.window_start"
    last = (
        f"(CASE WHEN {same} THEN r.last_count"
        f" WHEN {window} = r.window_start + 1 THEN r.this_count ELSE 0 END)"
    )
    this = f"(CASE WHEN {same} THEN r.this_count ELSE 0 END)"
    allowed = f"({last} * (1 - {elapsed}) + {this} + 1 <= {limit})"
    # Only placeholders and the fixed expressions above are spliced in.
    return (
        "INSERT INTO rate_hits AS r"  # noqa: S608
        " (key, window_start, this_count, last_count, allowed, expires_at)"
        f" VALUES ({param('key')}, {window}, 1, 0, 1 <= {limit}, {param('expires')})"
        " ON CONFLICT (key) DO UPDATE SET"
        f" window_start = {greatest}(r.window_start, excluded.window_start),"
        f" last_count = {last},"
        f" this_count = {this} + (CASE WHEN {allowed} THEN 1 ELSE 0 END),"
        f" allowed = {allowed},"
        f" expires_at = {greatest}(r.expires_at, excluded.expires_at)"
        " RETURNING this_count, last_count, allowed"
    )


def sweep_statement(param: Callable[[str], str], lock: str = "") -> str:
    """The DELETE of up to ``sweep_rows`` expired rows, other than the key's
    own (its UPSERT moves it to the current window anyway). ``lock`` ends the
    inner SELECT (``FOR UPDATE SKIP LOCKED``: sweepers pass over each other)."""
    return (
        "DELETE FROM rate_hits WHERE key IN (SELECT key FROM rate_hits"  # noqa: S608
        f" WHERE expires_at < {param('now')} AND key <> {param('key')}"
        f" ORDER BY expires_at LIMIT {param('sweep_rows')} {lock})"
    )


def wait(hit: Hit, this_count: int, last_count: int, allowed: object) -> float:
    """Seconds until a refused request would be let through; 0.0 when allowed.

    The same answer as the web layer's in-memory limiter: the previous
    window's weight fades linearly, so wait until enough of it has.
    """
    if allowed:
        return 0.0
    estimate = last_count * (1 - hit.elapsed) + this_count
    if last_count:
        needed = (estimate + 1 - hit.limit) / last_count
        return max(1.0, float(math.ceil(needed * hit.period)))
    return max(1.0, float(math.ceil((1 - hit.elapsed) * hit.period)))
