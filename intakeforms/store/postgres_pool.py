"""A small pool of psycopg connections for the PostgreSQL store.

Why not ``psycopg_pool``: the store needs only "lend a healthy connection,
take it back", and doing that itself means a connection that cannot be made
fails the call at once with libpq's own words (server down, login refused),
which the store turns into advice, rather than a pool timeout some seconds
later that names no cause. There are no background tasks either.

Connections are opened lazily, up to ``size`` at once; callers beyond that
wait up to ``wait`` seconds. A connection idle for a while is pinged before
it is lent, so the first call after a database restart gets a fresh
connection instead of an error. A connection that comes back broken, inside
a transaction, or from a cancelled caller is closed rather than reused; a
broken one takes the idle ones with it, since they most likely died with it.
Nothing of an outage stays: once the server answers, new connections are
made as calls need them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import psycopg
from psycopg import pq
from psycopg.rows import TupleRow

__all__ = ["Connect", "Connection", "ConnectionPool", "PoolClosed", "PoolExhausted"]

# Seconds a connection may sit unused before it is checked with a round trip:
# short enough to notice a restarted server, long enough that a busy service
# never pays for the check.
_PING_AFTER = 5.0

Connection = psycopg.AsyncConnection[TupleRow]
Connect = Callable[[], Awaitable[Connection]]


class PoolClosed(Exception):
    """The pool is closed: the store was closed or never opened."""


class PoolExhausted(Exception):
    """Every connection stayed lent out for longer than the pool's wait."""


class ConnectionPool:
    """Up to ``size`` connections made by ``connect``, lent one caller at a time."""

    def __init__(self, connect: Connect, *, size: int, wait: float) -> None:
        self._connect = connect
        self._wait = wait
        self._slots = anyio.Semaphore(size)
        self._idle: list[tuple[Connection, float]] = []  # and when each was last used
        self._lent = 0
        self._returned = anyio.Event()
        self.closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Lend a healthy connection for the ``async with`` block."""
        if self.closed:
            raise PoolClosed
        acquired = False
        with anyio.move_on_after(self._wait):
            await self._slots.acquire()
            acquired = True
        if not acquired:
            raise PoolExhausted
        self._lent += 1
        try:
            connection = await self._take()
            try:
                yield connection
            except anyio.get_cancelled_exc_class():
                await self._give_back(connection, reusable=False)
                raise
            except BaseException:
                # A failed transaction was rolled back by psycopg, so the
                # connection is fine unless it broke; _give_back looks.
                await self._give_back(connection, reusable=True)
                raise
            else:
                await self._give_back(connection, reusable=True)
        finally:
            self._lent -= 1
            self._slots.release()
            if self._lent == 0:
                self._returned.set()

    async def close(self) -> None:
        """Wait for lent connections to come back, then close every one."""
        self.closed = True
        while self._lent:
            self._returned = anyio.Event()
            await self._returned.wait()
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close()

    async def _take(self) -> Connection:
        while self._idle:
            connection, since = self._idle.pop()
            if connection.closed or connection.broken:
                continue
            if time.monotonic() - since < _PING_AFTER:
                return connection
            try:
                await connection.execute("")  # an empty query: one round trip
            except psycopg.Error:
                await connection.close()
                continue
            return connection
        return await self._connect()

    async def _give_back(self, connection: Connection, *, reusable: bool) -> None:
        reusable = (
            reusable
            and not self.closed
            and not connection.broken
            and connection.info.transaction_status == pq.TransactionStatus.IDLE
        )
        if reusable:
            self._idle.append((connection, time.monotonic()))
            return
        # Broken, mid-transaction, or its caller was cancelled while a query
        # may still run: a fresh connection is cheaper than doubt. A broken
        # one most likely died with the others (a server restart, a network
        # cut): the idle ones go too, so that no later call trips on them.
        stale = [connection]
        if connection.broken:
            stale += [idle for idle, _ in self._idle]
            self._idle = []
        with anyio.CancelScope(shield=True):
            for each in stale:
                await each.close()
