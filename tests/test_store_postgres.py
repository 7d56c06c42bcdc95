"""The PostgreSQL store in particular: URLs, schema, pool, and what failures say.

Its behaviour shared with SQLite is tested in ``test_store_backends.py``;
these tests use the same server (``INTAKE_TEST_POSTGRESQL``) and a fresh
schema each, and fail under CI when the server is unreachable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import anyio
import psycopg
import pytest
from test_store_backends import POSTGRESQL, admin, fresh_schema, require_postgres

from intakeforms.errors import IntakeError, StoreUnavailable
from intakeforms.store import NewSubmission, PostgresStore, StoredFile, open_store, postgres_pool
from intakeforms.store.postgres_errors import describe, explain
from intakeforms.store.postgres_schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE

SUBMISSION = NewSubmission(
    form="car-service",
    form_version="v1",
    reference_prefix="CAR",
    locale="fi",
    data={"plate": "ABC-123"},
    targets=["email:0", "webhook:1"],
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as schema_url:
        yield schema_url


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    async with PostgresStore(url, busy_timeout=0.5) as opened:
        yield opened


def with_option(url: str, key: str, value: str) -> str:
    return f"{url}&{key}={quote(value)}"


def schema_of(url: str) -> str:
    return url.rpartition("search_path%3D")[2]


# -- URLs and what is shown of them (no server needed) ---------------------------------


def test_urls_take_our_options_and_pass_the_rest_to_libpq() -> None:
    store = open_store(
        "postgres://intake:s3cr%40t@db.example.com:6432/forms?timeout=2.5&pool_size=3"
        "&sslmode=require&application_name=web-1"
    )
    assert isinstance(store, PostgresStore)
    assert (store.busy_timeout, store.pool_size) == (2.5, 3)
    assert store.database == "postgresql://intake@db.example.com:6432/forms"
    assert repr(store) == "PostgresStore('postgresql://intake@db.example.com:6432/forms')"
    assert store._params["password"] == "s3cr@t"
    assert store._params["sslmode"] == "require"
    assert store._params["application_name"] == "web-1"
    assert "timeout" not in store._params
    spaced = PostgresStore.from_url("postgresql://u@h/d?password=a+b%20c&options=-c%20x%3D1")
    assert (spaced._params["password"], spaced._params["options"]) == ("a+b c", "-c x=1")
    assert open_store("POSTGRESQL://u@h/d", busy_timeout=9).busy_timeout == 9  # type: ignore[attr-defined]
    plain = PostgresStore.from_url("postgresql://u@h/d")
    assert (plain.busy_timeout, plain.pool_size) == (5.0, 10)


def test_a_unix_socket_and_defaults_are_described(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGUSER", "PGHOST", "PGPORT", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "intake")
    assert describe({}) == "postgresql://intake@localhost:5432/intake"
    assert (
        describe({"host": "/var/run/postgresql", "dbname": "forms"})
        == "postgresql://intake@/forms?host=/var/run/postgresql&port=5432"
    )
    monkeypatch.setenv("PGHOST", "db")
    monkeypatch.setenv("PGPORT", "6543")
    assert describe({"user": "u"}) == "postgresql://u@db:6543/u"


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"busy_timeout": 0}, "busy_timeout must be more than 0"), ({"pool_size": 0}, "pool_size")],
)
def test_bad_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgresStore("postgresql://u@h/d", **changes)


def test_a_key_value_conninfo_is_accepted() -> None:
    store = PostgresStore("host=db port=6000 dbname=forms user=intake password=hunter2")
    assert store.database == "postgresql://intake@db:6000/forms"
    assert "hunter2" not in repr(store)


# -- what each failure says ---------------------------------------------------------------


async def failure_of(url: str) -> str:
    store = open_store(url)
    with pytest.raises(StoreUnavailable) as caught:
        await store.open()
    await store.close()
    message = str(caught.value)
    assert "hunter2" not in message
    return message


@pytest.mark.anyio
async def test_nothing_listening_is_explained() -> None:
    message = await failure_of("postgresql://intake:hunter2@127.0.0.1:1/forms")
    assert message.startswith(
        "the submission store postgresql://intake@127.0.0.1:1/forms is unavailable: "
        "nothing accepts connections at 127.0.0.1:1; start PostgreSQL there"
    )
    assert "(PostgreSQL: connection failed:" in message
    assert "Connection refused" in message


@pytest.mark.anyio
async def test_an_unknown_host_is_explained() -> None:
    message = await failure_of("postgresql://intake:hunter2@no-such-host.invalid/forms")
    assert "the host name no-such-host.invalid cannot be resolved" in message


@pytest.mark.anyio
async def test_an_unknown_database_and_user_are_explained() -> None:
    require_postgres()
    server = POSTGRESQL.partition("://")[2].partition("@")[2].partition("/")[0]
    message = await failure_of(f"postgresql://postgres:hunter2@{server}/no_such_db")
    assert "there is no database no_such_db on the server; create it (createdb" in message
    message = await failure_of(f"postgresql://nobody_here:hunter2@{server}/test")
    assert "there is no user nobody_here on the server" in message


@pytest.mark.parametrize(
    ("sqlstate", "said", "advice"),
    [
        ("28P01", "", "refused the login of user u; check the user and password"),
        ("28000", "", "and the server's pg_hba.conf"),
        ("3D000", "", "there is no database d"),
        ("42501", "", "user u lacks a privilege it needs"),
        ("55P03", "", "kept a row locked for more than 1.5 s"),
        ("53300", "", "no free connection slots"),
        ("53100", "", "the disk of the server at h:5432 is full"),
        ("25006", "", "point INTAKE_STORE at the primary"),
        ("42P01", "", "the intakeforms tables are missing"),
        ("57P01", "", "shutting down, starting or restarting"),
        ("40001", "", "a concurrent transaction conflicted with this one; retry"),
        ("XX000", "internal error", "the database failed"),
        (None, "timeout expired", "did not answer in time"),
        (None, "FATAL: password authentication failed for user", "refused the login"),
        (None, "no pg_hba.conf entry for host", "does not let user u connect to database d"),
        (None, "SSL error: certificate verify failed", "the TLS connection failed"),
        (None, "server closed the connection unexpectedly", "was lost (a restart?"),
        (None, "connection is bad", "the connection to h:5432 failed"),
        (None, "something else", "the database failed"),
    ],
)
def test_every_kind_of_failure_says_what_to_do(
    sqlstate: str | None, said: str, advice: str
) -> None:
    params = {"user": "u", "host": "h", "dbname": "d"}
    assert advice in explain(sqlstate, said, params, 1.5)


# -- the schema -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_open_makes_the_tables_in_the_urls_schema(store: PostgresStore, url: str) -> None:
    schema = schema_of(url)
    columns = dict(
        admin(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            f" WHERE table_schema = '{schema}'"
        )
    )
    assert columns["submissions.data"] == "jsonb"
    assert columns["submissions.spam"] == "boolean"
    assert columns["submissions.submitted_at"] == "timestamp with time zone"
    assert columns["outbox.lease_until"] == "timestamp with time zone"
    assert columns["outbox.id"] == "bigint"
    assert columns["outbox.recipient_hash"] == "text"
    tables = {name.partition(".")[0] for name in columns}
    assert tables == {
        "submissions",
        "submission_files",
        "outbox",
        "idempotency_keys",
        "rate_hits",
        VERSION_TABLE,
        "faq_searches",
        "faq_events",
        "link_uses",
        "drafts",
        "submission_contacts",
        "events",
        "staff",
        "staff_sessions",
        "admin_log",
        "stats_days",
        "stats_channels",
        "stats_fields",
        "stats_codes",
        "stats_times",
    }
    assert admin(f"SELECT version FROM {schema}.{VERSION_TABLE}") == [(SCHEMA_VERSION,)]
    assert admin(
        "SELECT count(*) FROM pg_catalog.pg_tables"
        " WHERE schemaname = 'public' AND tablename = 'outbox'"
    ) == [(0,)]


@pytest.mark.anyio
async def test_many_stores_opening_a_new_schema_at_once(url: str) -> None:
    stores = [PostgresStore(url) for _ in range(8)]
    try:
        async with anyio.create_task_group() as group:
            for store in stores:
                group.start_soon(store.open)
        for store in stores:
            await store.check()
        assert (await stores[3].save(SUBMISSION)).created
    finally:
        for store in stores:
            await store.close()


@pytest.mark.anyio
async def test_one_store_opened_by_two_tasks_at_once_has_one_pool(url: str) -> None:
    store = PostgresStore(url)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(store.open)
            group.start_soon(store.open)
        pool = store._pool
        await store.open()
        assert store._pool is pool is not None
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_newer_schema_is_refused(store: PostgresStore, url: str) -> None:
    admin(f"UPDATE {schema_of(url)}.{VERSION_TABLE} SET version = 99")
    message = f"schema version is now 99, not {SCHEMA_VERSION}"
    with pytest.raises(StoreUnavailable, match=message):
        await store.check()
    with pytest.raises(StoreUnavailable, match="schema version 99, written by a newer"):
        await PostgresStore(url).open()


@pytest.mark.anyio
async def test_a_version_2_schema_is_upgraded_in_place(url: str) -> None:
    schema = schema_of(url)
    with psycopg.connect(url, autocommit=True) as c:
        for step in MIGRATIONS[:2]:
            for statement in step:
                c.execute(statement)
        c.execute(
            f"CREATE TABLE {VERSION_TABLE} (one boolean PRIMARY KEY DEFAULT true CHECK (one),"
            " version integer NOT NULL)"
        )
        c.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (2)")
        c.execute(
            "INSERT INTO submissions VALUES ('CAR-AAAAAA', 'car-service', 'v1', 'fi', '{}',"
            " true, NULL, now())"
        )
    async with PostgresStore(url) as store:
        old = await store.get("CAR-AAAAAA")
        assert old is not None and (old.spam, old.spam_reason, old.erased_at) == (True, "", None)
        assert [entry.reason for entry in await store.spam_list()] == [""]
        assert await store.hit_rate("k", 1, 60) == 0.0
        await store.check()
    assert admin(f"SELECT version FROM {schema}.{VERSION_TABLE}") == [(SCHEMA_VERSION,)]
    unlogged = admin(
        f"SELECT relpersistence FROM pg_class WHERE oid = '{schema}.rate_hits'::regclass"
    )
    assert unlogged == [("u",)]  # counts are not worth a WAL record each


@pytest.mark.anyio
async def test_dropped_tables_are_reported(store: PostgresStore, url: str) -> None:
    admin(f"DROP TABLE {schema_of(url)}.submissions CASCADE")
    with pytest.raises(StoreUnavailable, match="the intakeforms tables are missing"):
        await store.get("CAR-000000")


@pytest.mark.anyio
async def test_a_user_who_may_not_create_tables(url: str) -> None:
    require_postgres()
    role = f"intake_user_{secrets.token_hex(4)}"
    schema = schema_of(url)
    admin(f"CREATE ROLE {role} LOGIN")
    limited = url.replace("postgres@", f"{role}:hunter2@", 1)
    assert limited != url
    try:
        admin(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        with pytest.raises(StoreUnavailable) as caught:
            await PostgresStore(limited).open()
        assert f"user {role} lacks a privilege it needs" in str(caught.value)
        assert "hunter2" not in str(caught.value)
        # Once the owner made the tables, a user with only the rights to use
        # them opens the store: the version is read without taking the lock.
        async with PostgresStore(url):
            pass
        admin(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        async with PostgresStore(limited) as store:
            assert (await store.save(SUBMISSION)).created
    finally:
        admin(f"DROP OWNED BY {role}")
        admin(f"DROP ROLE {role}")


# -- transactions and failures ------------------------------------------------------------


@pytest.mark.anyio
async def test_a_failure_mid_save_writes_nothing(store: PostgresStore, url: str) -> None:
    schema = schema_of(url)
    admin(
        f"CREATE FUNCTION {schema}.boom() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
    )
    admin(f"CREATE TRIGGER fail BEFORE INSERT ON {schema}.outbox EXECUTE FUNCTION {schema}.boom()")
    with pytest.raises(StoreUnavailable, match=r"the database failed \(PostgreSQL: boom\)$"):
        await store.save(dataclasses.replace(SUBMISSION, idempotency_key="k"))
    for table in ("submissions", "submission_files", "outbox", "idempotency_keys"):
        assert admin(f"SELECT count(*) FROM {schema}.{table}") == [(0,)]
    # The failed transaction left the pooled connection usable.
    assert await store.count() == 0


@pytest.mark.anyio
async def test_a_failed_row_is_never_quoted_in_the_message(store: PostgresStore) -> None:
    # The server's DETAIL would be "Failing row contains (…, Matti Virtanen.pdf, …)".
    paper = StoredFile("scan", "Matti Virtanen.pdf", "application/pdf", -1, "ab/cd")
    with pytest.raises(StoreUnavailable) as caught:
        await store.save(dataclasses.replace(SUBMISSION, files=[paper]))
    assert "violates check constraint" in str(caught.value)
    assert "Matti" not in str(caught.value)


@pytest.mark.anyio
async def test_a_nul_character_is_refused_before_writing(store: PostgresStore) -> None:
    for changes in (
        {"data": {"text": "a\x00b"}},
        {"data": {"list": [{"k\x00": 1}]}},
        {"client": "\x00"},
        {"idempotency_key": "k\x00"},
    ):
        with pytest.raises(ValueError, match="NUL character"):
            await store.save(dataclasses.replace(SUBMISSION, **changes))
    assert await store.count() == 0


@pytest.mark.anyio
async def test_a_locked_job_fails_after_the_busy_timeout_and_claim_skips_it(
    store: PostgresStore, url: str
) -> None:
    await store.save(SUBMISSION)
    [one, two] = await store.claim("w", limit=2, lease_seconds=60)
    await store.retry_later(two.job.id, worker="w", error="e", at=dt.datetime.now(dt.UTC))
    with psycopg.connect(url) as blocker:
        blocker.execute("SELECT * FROM outbox WHERE id = %s FOR UPDATE", (one.job.id,))
        with pytest.raises(StoreUnavailable, match=r"kept a row locked for more than 0\.5 s"):
            await store.complete(one.job.id, worker="w", receipt=None)
        blocker.execute("SELECT * FROM outbox WHERE id = %s FOR UPDATE", (two.job.id,))
        # A claimer passes over rows another transaction holds, without waiting.
        assert await store.claim("v", limit=5, lease_seconds=60) == []
    [retaken] = await store.claim("v", limit=5, lease_seconds=60)
    assert retaken.job.id == two.job.id
    assert (await store.complete(one.job.id, worker="w", receipt=None)).status == "delivered"


@pytest.mark.anyio
async def test_connections_killed_by_the_server_are_replaced(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"intake_test_{secrets.token_hex(4)}"
    async with PostgresStore(with_option(url, "application_name", name)) as store:
        await store.save(SUBMISSION)

        def kill() -> None:
            admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE application_name = '{name}'"
            )

        kill()
        # A read on the dead connection is tried again on a new one: no call fails.
        assert await store.count() == 1
        kill()
        # A write is not repeated (its commit may have happened before the
        # connection died): that one call fails, and the next gets a new one.
        with pytest.raises(StoreUnavailable, match=r"lost|terminat"):
            await store.save(SUBMISSION)
        assert (await store.save(SUBMISSION)).created
        assert await store.count() == 2

        # After a pause a connection is checked before use: no call fails.
        monkeypatch.setattr(postgres_pool, "_PING_AFTER", 0.0)
        kill()
        assert (await store.save(SUBMISSION)).created


@pytest.mark.anyio
async def test_a_full_pool_fails_after_the_busy_timeout(url: str) -> None:
    async with PostgresStore(url, pool_size=1, busy_timeout=0.3) as store:
        assert store._pool is not None
        async with store._pool.connection():
            with pytest.raises(
                StoreUnavailable, match=r"all 1 connections stayed busy for more than 0\.3 s"
            ):
                await store.count()
        assert await store.count() == 0


@pytest.mark.anyio
async def test_a_cancelled_call_leaves_the_store_usable(store: PostgresStore) -> None:
    assert store._pool is not None
    with anyio.move_on_after(0.2) as scope:
        async with store._pool.connection() as connection:
            await connection.execute("SELECT pg_sleep(5)")
    assert scope.cancelled_caught
    # The connection that was mid-query was closed, not lent out again.
    assert await store.count() == 0


@pytest.mark.anyio
async def test_a_cancelled_save_is_finished_not_cut_in_half(store: PostgresStore) -> None:
    with anyio.CancelScope() as scope:
        scope.cancel()  # cancelled before it even starts to write
        await store.save(SUBMISSION)
    # Writes are shielded: it ran to the end, whole.
    assert await store.count() == 1
    assert len(await store.jobs()) == 2


@pytest.mark.anyio
async def test_close_waits_for_calls_under_way(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    finished: list[int] = []

    async def slow() -> None:
        assert store._pool is not None
        async with store._pool.connection() as connection:
            await connection.execute("SELECT pg_sleep(0.3)")
        finished.append(1)

    async with anyio.create_task_group() as group:
        group.start_soon(slow)
        await anyio.sleep(0.1)
        await store.close()
        assert finished == [1]
    with pytest.raises(IntakeError, match="not open"):
        await store.count()
