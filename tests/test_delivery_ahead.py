"""Agent emails built ahead in chunks, and headers folded once."""

from __future__ import annotations

import email.headerregistry
import email.policy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from test_delivery import BY_ID, CAR, store, submit
from web_helpers import settings_for

from intakeforms.delivery.ahead import BUILD_CHUNK, BuildsAhead
from intakeforms.delivery.builders import BuildProcesses, agent_email_for
from intakeforms.delivery.smtp import prepare_mail
from intakeforms.mail import build_agent_email
from intakeforms.store import ClaimedJob, SqliteStore

__all__ = ["store"]  # the fixture, shared with test_delivery


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_headers_folded_once_are_folded_as_the_email_package_folds_them(
    store: SqliteStore,
) -> None:
    """Remembering a header's folding changes no byte of any mail."""
    (reference,) = await submit(
        store, 1, name="Matti Meikäläinen-Virtanen-Korhonen-Nieminen von Mäkinen-Hämäläinen"
    )
    submission = await store.get(reference)
    assert submission is not None
    for _ in range(2):  # the second mail reuses the first one's headers
        message = build_agent_email(CAR, submission, mail_from="intake@example.org")
        smtp = email.policy.SMTP
        for policy in (
            message.policy,
            smtp.clone(linesep="\n"),
            email.policy.SMTPUTF8,
            smtp.clone(max_line_length=40),
            email.policy.default,
        ):
            for part in message.walk():
                for _name, header in part.raw_items():
                    stock = email.headerregistry.BaseHeader.fold(header, policy=policy)
                    assert header.fold(policy=policy) == stock
                    assert header.fold(policy=policy) == stock


@pytest.mark.anyio
async def test_jobs_are_built_ahead_in_chunks_and_a_failure_stays_with_its_job(
    store: SqliteStore,
) -> None:
    await submit(store, 11)
    claimed = await store.claim("test", limit=11, lease_seconds=60)
    failing = claimed[3].job.id
    chunks: list[list[int]] = []

    async def make(items: Sequence[ClaimedJob]) -> list[Any | Exception]:
        chunks.append([item.job.id for item in items])
        await anyio.sleep(0.01)
        return [
            ValueError("cannot") if item.job.id == failing else f"mail {item.job.id}"
            for item in items
        ]

    got: list[Any] = []
    async with anyio.create_task_group() as group:
        builds = BuildsAhead(group, make)
        for index, item in enumerate(claimed):
            builds.ahead(claimed, index)
            try:
                got.append(await builds.take(item))
            except ValueError as exc:
                got.append(exc)
    ids = [item.job.id for item in claimed]
    # The first job alone (nothing else to wait for), the rest in chunks.
    assert chunks[0] == ids[:1]
    assert chunks[1] == ids[1 : 1 + BUILD_CHUNK]
    assert sorted(i for chunk in chunks for i in chunk) == ids  # each built once
    assert isinstance(got[3], ValueError)
    assert got[:3] + got[4:] == [f"mail {i}" for i in ids if i != failing]


@pytest.mark.anyio
async def test_a_chunk_built_in_a_build_process_is_the_same_mail_each(
    store: SqliteStore, tmp_path: Path
) -> None:
    await submit(store, 3)
    settings = settings_for(tmp_path, mail_from="intake@example.org")
    claimed = await store.claim("test", limit=3, lease_seconds=60)
    processes = BuildProcesses(1, BY_ID, settings, prepare_mail)
    await processes.start()
    try:
        there = await processes.build_many([(item, None) for item in claimed])
    finally:
        processes.close()
    here = [agent_email_for(BY_ID, settings, prepare_mail, item) for item in claimed]
    assert there == here
