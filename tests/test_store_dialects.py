"""The seam between the store's shared operations and its two dialects.

The operations (``submissions.py``, ``outbox.py``, ``privacy.py``) are
written once; each dialect supplies the statements that differ, and the
values a statement takes are the same on both. The behaviour itself is
tested on both databases in ``test_store_backends.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import re
import sqlite3

import pytest

from intakeforms.store.dialect import Statements, run_now
from intakeforms.store.postgres_dialect import POSTGRES, many_rows_query, psycopg_query
from intakeforms.store.sqlite_dialect import SQLITE, SqliteSession
from intakeforms.store.sqlite_schema import timestamp

PARAMETER = re.compile(r"(?<!:):([A-Za-z_]\w*)")


def parameters(statement: str | tuple[str, ...]) -> set[str]:
    statements = statement if isinstance(statement, tuple) else (statement,)
    return {name for each in statements for name in PARAMETER.findall(each)}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Statements)])
def test_both_dialects_take_the_same_values(name: str) -> None:
    """What the shared code passes must fit either database's statement."""
    ours, theirs = getattr(SQLITE, name), getattr(POSTGRES, name)
    assert parameters(ours) == parameters(theirs), name
    assert parameters(ours), f"{name} takes no value"


def test_statements_become_psycopg_queries() -> None:
    assert psycopg_query("SELECT :a::text, '{}'::jsonb, 5 % 2 WHERE x = :b_2") == (
        "SELECT %(a)s::text, '{}'::jsonb, 5 %% 2 WHERE x = %(b_2)s"
    )
    assert psycopg_query(POSTGRES.spam_list).count("%(form)s::text") == 1


def test_an_insert_of_one_row_becomes_one_of_many() -> None:
    one = "INSERT INTO t (a, b) VALUES (:a, :b) ON CONFLICT (a) DO NOTHING"
    assert many_rows_query(one, 3) == (
        "INSERT INTO t (a, b) VALUES (%(a_0)s, %(b_0)s), (%(a_1)s, %(b_1)s),"
        " (%(a_2)s, %(b_2)s) ON CONFLICT (a) DO NOTHING"
    )
    # Anything else is run row by row, as written.
    assert many_rows_query("UPDATE t SET a = :a", 2) is None
    assert many_rows_query("INSERT INTO t (a) VALUES (lower(:a))", 2) is None


def test_run_now_runs_a_coroutine_that_never_waits() -> None:
    async def answer() -> int:
        return 42

    async def failing() -> None:
        raise ValueError("no")

    assert run_now(answer()) == 42
    with pytest.raises(ValueError, match="no"):
        run_now(failing())


def test_run_now_refuses_a_coroutine_that_waits() -> None:
    async def waiting() -> None:
        await asyncio.sleep(0)  # hands control to an event loop

    with pytest.raises(RuntimeError, match="waited for something"):
        run_now(waiting())


def test_the_sqlite_session_stores_times_as_text_and_lists_as_json() -> None:
    connection = sqlite3.connect(":memory:")
    session = SqliteSession(connection, ":memory:")
    moment = dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    row = run_now(session.row("SELECT :at, :refs, :n", {"at": moment, "refs": ["A"], "n": 1}))
    assert row == (timestamp(moment), json.dumps(["A"]), 1)
    assert row[0] == "2025-03-04T10:00:00.000000+00:00"  # UTC, so text order is time order
    assert session.moment(row[0]) == moment
