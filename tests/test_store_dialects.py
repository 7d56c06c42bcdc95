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

from intakeforms.store.dialect import Statements, many_rows, run_now
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


def test_a_row_of_many_keeps_its_constants_and_its_parameters_order() -> None:
    shape = many_rows("INSERT INTO t (a, b, c) VALUES (:b, '{x}', :a) ON CONFLICT DO NOTHING")
    assert shape is not None and shape.names == ("b", "a")
    assert shape.statement(2, lambda name, i: f"?{name}{i}") == (
        "INSERT INTO t (a, b, c) VALUES (?b0, '{x}', ?a0), (?b1, '{x}', ?a1) ON CONFLICT DO NOTHING"
    )


def test_sqlite_inserts_a_batch_many_rows_a_statement_each_as_given() -> None:
    """250 rows (three statements: 100, 100, 50), times as UTC text and
    lists as JSON, in order; a bad row fails the batch as executemany would."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (n INTEGER NOT NULL, at TEXT, refs TEXT)")
    session = SqliteSession(connection, ":memory:")
    start = dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows: list[dict[str, object]] = [
        {"n": i, "at": start + dt.timedelta(seconds=i), "refs": [f"R{i}"] if i % 2 else None}
        for i in range(250)
    ]
    insert = "INSERT INTO t (n, at, refs) VALUES (:n, :at, :refs)"
    run_now(session.change_many(insert, rows))
    stored = connection.execute("SELECT n, at, refs FROM t ORDER BY rowid").fetchall()
    assert stored == [
        (i, timestamp(start + dt.timedelta(seconds=i)), json.dumps([f"R{i}"]) if i % 2 else None)
        for i in range(250)
    ]
    bad: list[dict[str, object]] = [
        {"n": 1000, "at": start, "refs": None},
        {"n": None, "at": start, "refs": None},
    ]

    async def in_a_transaction() -> None:
        async with session.transaction():
            await session.change_many(insert, bad)

    with pytest.raises(sqlite3.IntegrityError):
        run_now(in_a_transaction())
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (250,)


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
