"""PostgreSQL's group commit: saves that arrive together share a transaction.

What an operator would notice: a burst of submissions costs the server a
commit (and a wait for the disk) per batch, not per submission; every
submission of the burst is still stored whole, with its own reference and
jobs; and closing the store lets a burst under way finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from test_store_backends import admin, fresh_schema, submission

from intakeforms.store import PostgresStore, SaveResult


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store() -> AsyncIterator[tuple[PostgresStore, str]]:
    with fresh_schema() as url:
        async with PostgresStore(url) as opened:
            yield opened, url.rpartition("search_path%3D")[2]


async def save_burst(store: PostgresStore, count: int) -> list[SaveResult]:
    results: list[SaveResult] = []

    async def post(n: int) -> None:
        results.append(await store.save(submission(data={"n": n})))

    async with anyio.create_task_group() as group:
        for n in range(count):
            group.start_soon(post, n)
    return results


@pytest.mark.anyio
async def test_a_burst_of_saves_is_committed_in_a_few_transactions(
    store: tuple[PostgresStore, str],
) -> None:
    opened, schema = store
    results = await save_burst(opened, 30)
    assert len({r.reference for r in results}) == 30 and all(r.created for r in results)
    # Rows written by one transaction share its id (xmin): the first save is
    # written at once, the 29 that came meanwhile together.
    transactions = admin(f"SELECT count(DISTINCT xmin::text) FROM {schema}.submissions")[0][0]
    assert transactions <= 3
    jobs = admin(f"SELECT count(*), count(DISTINCT reference) FROM {schema}.outbox")[0]
    assert jobs == (60, 30)


@pytest.mark.anyio
async def test_one_save_alone_is_its_own_transaction(store: tuple[PostgresStore, str]) -> None:
    opened, schema = store
    for _ in range(3):
        await opened.save(submission())
    transactions = admin(f"SELECT count(DISTINCT xmin::text) FROM {schema}.submissions")[0][0]
    assert transactions == 3
