"""Shared rate limits in the store (``hit_rate``), on SQLite and PostgreSQL.

Every store, and every process, on one database counts together; the
window slides as the web layer's in-memory limiter does; only hashes of
the keys are kept, and rows expire.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from test_store_backends import (
    T0,
    Backend,
    StillClock,
    backend,
    clock,
    fresh_schema,
    script_outputs,
)

from intakeforms.store import PostgresStore, Store, rate
from intakeforms.web.limits import RateLimiter

__all__ = ["backend", "clock"]  # the fixtures, shared with test_store_backends


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def stores(backend: Backend, clock: StillClock) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database, as two processes would have."""
    one, two = backend.make(clock=clock), backend.make(clock=clock)
    await one.open()
    await two.open()
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


@pytest.mark.anyio
async def test_two_stores_count_together(stores: tuple[Store, Store], clock: StillClock) -> None:
    one, two = stores
    waits = [await (one if n % 2 else two).hit_rate("client-a", 5, 60) for n in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == waits[6] == 60.0  # T0 starts a window: its whole length to wait
    assert await one.hit_rate("client-b", 5, 60) == 0.0  # another key counts alone
    clock.now += dt.timedelta(seconds=120)  # two windows on: forgotten
    assert await two.hit_rate("client-a", 5, 60) == 0.0


@pytest.mark.anyio
async def test_the_window_slides_like_the_in_memory_limiter(
    stores: tuple[Store, Store], clock: StillClock
) -> None:
    store, _ = stores
    memory = RateLimiter(limit=4, period=10)
    # Bursts at the end of one window and the start of the next: a fixed
    # window would let eight through; weighing the last window lets fewer.
    steps = [8.5, 0.2, 0.2, 0.2, 0.5, 0.2, 0.2, 0.2, 0.2, 3.0, 0.1, 4.0, 9.0, 0.5, 0.5, 25.0]
    moment = T0
    for step in steps:
        moment += dt.timedelta(seconds=step)
        clock.now = moment
        ours = await store.hit_rate("k", 4, 10)
        theirs = memory.hit("k", now=moment.timestamp())
        assert ours == theirs, (moment, ours, theirs)


@pytest.mark.anyio
async def test_only_hashes_are_kept_and_old_rows_go(
    stores: tuple[Store, Store],
    backend: Backend,
    clock: StillClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, other = stores
    await store.hit_rate("203.0.113.5|car-service", 3, 60)
    await store.hit_rate("198.51.100.7|car-service", 3, 60)
    keys = {key for (key,) in backend.rows("SELECT key FROM rate_hits")}
    assert keys == {
        hashlib.sha256(b"203.0.113.5|car-service").hexdigest(),
        hashlib.sha256(b"198.51.100.7|car-service").hexdigest(),
    }
    # Two windows later the rows count for nothing; a later count sweeps them.
    clock.now += dt.timedelta(seconds=121)
    monkeypatch.setattr(rate, "SWEEP_EVERY", 0.0)
    await other.hit_rate("192.0.2.1|car-service", 3, 60)
    keys = {key for (key,) in backend.rows("SELECT key FROM rate_hits")}
    assert keys == {hashlib.sha256(b"192.0.2.1|car-service").hexdigest()}
    # And purge clears what is left once it is old.
    clock.now += dt.timedelta(seconds=121)
    await store.purge(delivered_before=None, spam_before=T0, clients_before=T0)
    assert backend.rows("SELECT count(*) FROM rate_hits") == [(0,)]


@pytest.mark.anyio
async def test_useless_limits_are_refused(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    for key, limit, period in (("", 1, 1.0), ("k", 0, 1.0), ("k", 1, 0.0), ("k", 1, float("inf"))):
        with pytest.raises(ValueError, match=r"is empty|must be"):
            await store.hit_rate(key, limit, period)


HITTER = textwrap.dedent(
    """
    import sys

    import anyio

    from intakeforms.store import open_store

    async def main() -> None:
        store = open_store(sys.argv[1])
        await store.open()
        allowed = 0

        async def one() -> None:
            nonlocal allowed
            if await store.hit_rate("shared", 50, 3600) == 0.0:
                allowed += 1

        try:
            async with anyio.create_task_group() as group:
                for _ in range(40):
                    group.start_soon(one)
        finally:
            await store.close()
        print(allowed)

    anyio.run(main)
    """
)


def test_processes_counting_at_once_let_exactly_the_limit_through(backend: Backend) -> None:
    allowed = sum(int(out) for out in script_outputs(HITTER, backend.url, 2))
    assert allowed == 50  # of 80, from two processes at once


@pytest.mark.anyio
async def test_a_count_on_postgresql_is_one_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statements: list[Any] = []
    real = psycopg.AsyncCursor.execute

    async def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        return await real(self, query, *args, **kwargs)

    with fresh_schema() as url:
        async with PostgresStore(url) as store:
            await store.count()  # a pooled connection, made and ready
            monkeypatch.setattr(psycopg.AsyncCursor, "execute", counting)
            assert await store.hit_rate("k", 2, 60) == 0.0  # with a sweep of old rows
            assert await store.hit_rate("k", 2, 60) == 0.0
            assert await store.hit_rate("k", 2, 60) > 0
    assert len(statements) == 3
