"""Staff accounts, sessions and the admin log on both backends (SQLite and
PostgreSQL, see test_store_backends.py): a session is found only by its
token, which the database never holds; it ends after two idle hours or
twelve in all, with its account, or when signed out; retention deletes the
ended ones; on PostgreSQL every store on the database sees the same ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from test_store_backends import T0, Backend, StillClock, backend, clock

from intakeforms.store import Store

__all__ = ["backend", "clock"]  # the fixtures, shared with test_store_backends

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
TOKEN = "dG9rZW4tb2YtYS1icm93c2VyLXRoYXQtc2lnbmVkLWlu"


@pytest.fixture
async def store(backend: Backend, clock: StillClock) -> AsyncIterator[Store]:
    opened = backend.make(clock=clock)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def later(clock: StillClock, **delta: float) -> None:
    clock.now += dt.timedelta(**delta)


# -- accounts -------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_account_is_added_once_and_read_back(store: Store) -> None:
    assert await store.add_staff("anna.virtanen@example.fi", HASH)
    assert not await store.add_staff("anna.virtanen@example.fi", "$argon2id$other")
    account = await store.staff_account("anna.virtanen@example.fi")
    assert account is not None
    assert (account.name, account.password_hash) == ("anna.virtanen@example.fi", HASH)
    assert (account.created_at, account.last_login_at) == (T0, None)
    assert HASH not in repr(account)
    assert await store.staff_account("bertil") is None
    assert await store.staff_account("Not A Name") is None


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["", "Anna", "anna virtanen", "a" * 65, "anna/1", "änna"])
async def test_a_name_outside_the_pattern_is_refused(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match="a-z 0-9"):
        await store.add_staff(name, HASH)
    assert await store.staff_accounts() == []


@pytest.mark.anyio
async def test_accounts_are_listed_by_name(store: Store) -> None:
    for name in ("carl", "anna", "bertil"):
        await store.add_staff(name, HASH)
    assert [a.name for a in await store.staff_accounts()] == ["anna", "bertil", "carl"]


@pytest.mark.anyio
async def test_a_password_hash_is_replaced(store: Store) -> None:
    await store.add_staff("anna", HASH)
    assert await store.set_staff_password("anna", "$argon2id$newer")
    account = await store.staff_account("anna")
    assert account is not None and account.password_hash == "$argon2id$newer"
    assert not await store.set_staff_password("bertil", "$argon2id$newer")
    with pytest.raises(ValueError, match="hash"):
        await store.set_staff_password("anna", "")


# -- sessions ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_session_is_found_by_its_token_only(store: Store, backend: Backend) -> None:
    await store.add_staff("anna", HASH)
    started = await store.start_staff_session(TOKEN, "anna", "csrf-token-1")
    assert started is not None
    assert (started.name, started.csrf, started.created_at) == ("anna", "csrf-token-1", T0)
    assert started.expires_at == T0 + dt.timedelta(hours=2)
    assert started.ends_at == T0 + dt.timedelta(hours=12)
    assert await store.staff_session(TOKEN) == started
    assert await store.staff_session(TOKEN[:-1]) is None
    assert await store.staff_session("") is None
    account = await store.staff_account("anna")
    assert account is not None and account.last_login_at == T0
    # The database holds the token's SHA-256, never the token.
    [(kept,)] = backend.rows("SELECT token_hash FROM staff_sessions")
    assert (
        kept != TOKEN
        and len(kept) == 64
        and TOKEN not in str(backend.rows("SELECT * FROM staff_sessions"))
    )


@pytest.mark.anyio
async def test_no_session_for_a_name_without_an_account(store: Store, backend: Backend) -> None:
    assert await store.start_staff_session(TOKEN, "bertil", "csrf") is None
    assert backend.rows("SELECT count(*) FROM staff_sessions") == [(0,)]
    with pytest.raises(ValueError, match="CSRF"):
        await store.start_staff_session(TOKEN, "anna", "")


@pytest.mark.anyio
async def test_a_session_ends_two_idle_hours_after_its_last_use(
    store: Store, clock: StillClock
) -> None:
    await store.add_staff("anna", HASH)
    await store.start_staff_session(TOKEN, "anna", "csrf")
    later(clock, minutes=119)
    used = await store.staff_session(TOKEN)
    assert used is not None and used.expires_at == clock.now + dt.timedelta(hours=2)
    later(clock, minutes=119)
    assert await store.staff_session(TOKEN) is not None
    later(clock, hours=2)
    assert await store.staff_session(TOKEN) is None


@pytest.mark.anyio
async def test_a_use_moves_the_idle_end_only_every_few_minutes(
    store: Store, clock: StillClock
) -> None:
    await store.add_staff("anna", HASH)
    started = await store.start_staff_session(TOKEN, "anna", "csrf")
    assert started is not None
    later(clock, minutes=1)
    same = await store.staff_session(TOKEN)
    assert same is not None and same.expires_at == started.expires_at  # not written again
    later(clock, minutes=10)
    moved = await store.staff_session(TOKEN)
    assert moved is not None and moved.expires_at == clock.now + dt.timedelta(hours=2)


@pytest.mark.anyio
async def test_a_session_ends_twelve_hours_after_it_began_however_used(
    store: Store, clock: StillClock
) -> None:
    await store.add_staff("anna", HASH)
    await store.start_staff_session(TOKEN, "anna", "csrf")
    for _ in range(11):
        later(clock, hours=1)
        assert await store.staff_session(TOKEN) is not None
    later(clock, minutes=59)
    last = await store.staff_session(TOKEN)
    assert last is not None and last.expires_at == T0 + dt.timedelta(hours=12)
    later(clock, minutes=1)
    assert await store.staff_session(TOKEN) is None


@pytest.mark.anyio
async def test_signing_out_and_removing_the_account_end_sessions(store: Store) -> None:
    await store.add_staff("anna", HASH)
    await store.add_staff("bertil", HASH)
    await store.start_staff_session(TOKEN, "anna", "csrf")
    await store.start_staff_session("second-browser-token", "anna", "csrf2")
    await store.start_staff_session("bertils-token", "bertil", "csrf3")
    assert await store.end_staff_session(TOKEN)
    assert not await store.end_staff_session(TOKEN)
    assert await store.staff_session(TOKEN) is None
    assert await store.staff_session("second-browser-token") is not None
    assert await store.remove_staff("anna")
    assert not await store.remove_staff("anna")
    assert await store.staff_session("second-browser-token") is None
    assert await store.staff_session("bertils-token") is not None
    # A new account of the same name does not bring old sessions back.
    await store.add_staff("anna", HASH)
    assert await store.staff_session("second-browser-token") is None


@pytest.mark.anyio
async def test_retention_deletes_ended_sessions(
    store: Store, backend: Backend, clock: StillClock
) -> None:
    await store.add_staff("anna", HASH)
    await store.start_staff_session(TOKEN, "anna", "csrf")
    later(clock, hours=1)
    await store.start_staff_session("newer-token", "anna", "csrf")
    later(clock, hours=1, seconds=30)
    await store.purge(delivered_before=None, spam_before=T0, clients_before=T0)
    assert backend.rows("SELECT staff FROM staff_sessions") == [("anna",)]
    assert await store.staff_session("newer-token") is not None


# -- the admin log ------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_admin_log_keeps_who_when_what_and_on_what(
    store: Store, clock: StillClock
) -> None:
    await store.log_admin_action("anna", "login")
    later(clock, minutes=3)
    await store.log_admin_action("anna", "spam.release", "CAR-4F7K2Q")
    later(clock, minutes=1)
    await store.log_admin_action("anna", "export", "car-service", "2025-03-01..2025-03-04")
    log = await store.admin_log()
    assert [(e.at, e.staff, e.action, e.target, e.detail) for e in log] == [
        (T0 + dt.timedelta(minutes=4), "anna", "export", "car-service", "2025-03-01..2025-03-04"),
        (T0 + dt.timedelta(minutes=3), "anna", "spam.release", "CAR-4F7K2Q", None),
        (T0, "anna", "login", None, None),
    ]
    assert [e.action for e in await store.admin_log(limit=1)] == ["export"]


@pytest.mark.anyio
async def test_the_admin_log_outlives_the_account(store: Store) -> None:
    await store.add_staff("anna", HASH)
    await store.log_admin_action("anna", "erase", "CAR-4F7K2Q")
    await store.remove_staff("anna")
    assert [e.staff for e in await store.admin_log()] == ["anna"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "target", "detail"),
    [
        ("Spam Release", None, None),
        ("", None, None),
        ("erase", "x" * 201, None),
        ("erase", None, "nul\x00"),
    ],
)
async def test_a_log_entry_that_cannot_be_kept_is_refused(
    store: Store, action: str, target: str | None, detail: str | None
) -> None:
    with pytest.raises(ValueError, match="admin log"):
        await store.log_admin_action("anna", action, target, detail)
    assert await store.admin_log() == []
    with pytest.raises(ValueError, match="limit"):
        await store.admin_log(limit=0)


# -- several instances on one database ----------------------------------------------


@pytest.mark.anyio
async def test_instances_on_one_database_share_sessions(backend: Backend) -> None:
    """Two service instances: processes on one SQLite file, or hosts on one PostgreSQL."""
    one, two = backend.make(), backend.make()
    await one.open()
    await two.open()
    try:
        await one.add_staff("anna", HASH)
        started = await one.start_staff_session(TOKEN, "anna", "csrf")
        found = await two.staff_session(TOKEN)
        assert found is not None and found.csrf == "csrf" and found.name == "anna"
        assert started is not None and found.expires_at == started.expires_at
        assert await two.end_staff_session(TOKEN)
        assert await one.staff_session(TOKEN) is None
        await two.log_admin_action("anna", "logout")
        assert [e.action for e in await one.admin_log()] == ["logout"]
    finally:
        await one.close()
        await two.close()
