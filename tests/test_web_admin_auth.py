"""Who gets into the staff pages, over real HTTP (httpx through the ASGI app).

The app is the gate's own routes (``/admin/login``, ``/admin/logout``) and
a page, an API route and an action guarded by ``StaffGate.page``, ``api``
and ``action``, on a real SQLite store whose clock the tests move.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from web_helpers import settings_for

from intakeforms.render import ASSETS_DIR
from intakeforms.store import SqliteStore
from intakeforms.web.admin_auth import COOKIE, LOGIN_PER_ADDRESS, Staff, StaffGate, hash_password
from intakeforms.web.headers import SecurityHeaders
from intakeforms.web.proxy import ForwardedHeaders

PASSWORD = "correct horse battery"
T0 = dt.datetime(2025, 3, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Staffed:
    """The store, the clock and a way to reach the app from any address."""

    store: SqliteStore
    clock: Clock
    app: Starlette

    def client(
        self, base: str = "http://testserver", address: str = "203.0.113.5"
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 4711))
        return httpx.AsyncClient(transport=transport, base_url=base)


def staff_app(store: SqliteStore, tmp_path: Path, *, proxy: bool = False) -> Starlette:
    """The gate's routes, and a page, an API route and an action it guards."""

    async def ready() -> None:
        return None

    gate = StaffGate(store, settings_for(tmp_path), ready)

    async def page(request: Request) -> Response:
        found = await gate.page(request)
        if not isinstance(found, Staff):
            return found
        return PlainTextResponse(f"hello {found.name} csrf={found.csrf}")

    async def api(request: Request) -> Response:
        found = await gate.api(request)
        if not isinstance(found, Staff):
            return found
        return JSONResponse({"name": found.name})

    async def act(request: Request) -> Response:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        found = await gate.action(request, fields if fields else None)
        if not isinstance(found, Staff):
            return found
        await gate.log(found, "spam.release", "CAR-4F7K2Q")
        return PlainTextResponse("released")

    routes = [
        *gate.routes(),
        Route("/admin", page),
        Route("/admin/inbox", page),
        Route("/admin/api/stats", api),
        Route("/admin/act", act, methods=["POST"]),
        Mount("/assets", StaticFiles(directory=ASSETS_DIR)),
    ]
    middleware = [Middleware(SecurityHeaders, frame_ancestors="'self'")]
    if proxy:
        middleware.insert(0, Middleware(ForwardedHeaders, hops=1))
    return Starlette(routes=routes, middleware=middleware)


@pytest.fixture
async def staffed(tmp_path: Path) -> AsyncIterator[Staffed]:
    clock = Clock()
    store = SqliteStore(tmp_path / "intake.db", clock=clock)
    await store.open()
    try:
        assert await store.add_staff("anna", hash_password(PASSWORD))
        yield Staffed(store, clock, staff_app(store, tmp_path))
    finally:
        await store.close()


async def sign_in(
    client: httpx.AsyncClient,
    name: str = "anna",
    password: str = PASSWORD,
    **extra: str,
) -> httpx.Response:
    return await client.post("/admin/login", data={"name": name, "password": password, **extra})


def csrf_of(answer: httpx.Response) -> str:
    found = re.search(r"csrf=(\S+)", answer.text)
    assert found, answer.text
    return found.group(1)


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


# -- signing in ----------------------------------------------------------------


@pytest.mark.anyio
async def test_the_name_is_taken_in_any_case_and_with_spaces(staffed: Staffed) -> None:
    async with staffed.client() as client:
        signed = await sign_in(client, name="  Anna ")
        assert (signed.status_code, signed.headers["location"]) == (303, "/admin")
        assert (await client.get("/admin")).status_code == 200


@pytest.mark.anyio
async def test_a_wrong_password_and_an_unknown_name_get_the_same_page(
    staffed: Staffed, tmp_path: Path
) -> None:
    async with staffed.client() as client:
        wrong = await sign_in(client, password="wrong horse battery")
        unknown = await sign_in(client, name="bertil")
        assert wrong.status_code == unknown.status_code == 422
        assert COOKIE not in client.cookies
        for answer in (wrong, unknown):
            assert "The name or the password is not right." in answer.text
            assert "<title>Error: Sign in to the staff pages</title>" in answer.text
            assert 'href="#admin-password"' in answer.text
            assert 'aria-invalid="true"' in answer.text
            assert "wrong horse" not in answer.text
        assert (await client.get("/admin")).status_code == 303
    log = await staffed.store.admin_log()
    assert [(e.staff, e.action, e.detail) for e in log] == [
        ("", "login_failed", "unknown_name"),
        ("anna", "login_failed", "wrong_password"),
    ]
    # The password is nowhere in the database.
    for file in tmp_path.glob("intake.db*"):
        assert b"wrong horse" not in file.read_bytes()


@pytest.mark.anyio
async def test_too_many_attempts_from_one_address_get_429(staffed: Staffed) -> None:
    async with staffed.client() as client:
        for _ in range(LOGIN_PER_ADDRESS[0]):
            assert (await sign_in(client, password="not it at all")).status_code == 422
        refused = await sign_in(client)  # even the right password now
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        assert "Too many sign-in attempts" in refused.text
        assert COOKIE not in client.cookies
    async with staffed.client(address="198.51.100.7") as other:  # another address may
        assert (await sign_in(other)).status_code == 303
    staffed.clock.move(minutes=31)  # two windows later the address may again
    async with staffed.client() as client:
        assert (await sign_in(client)).status_code == 303


@pytest.mark.anyio
async def test_too_many_attempts_for_one_name_get_429_from_anywhere(staffed: Staffed) -> None:
    for number in range(10):
        async with staffed.client(address=f"198.51.100.{number}") as client:
            assert (await sign_in(client, password="not it at all")).status_code == 422
    async with staffed.client(address="192.0.2.1") as client:
        assert (await sign_in(client)).status_code == 429
        assert (await sign_in(client, name="bertil")).status_code == 422  # other names may


# -- the cookie ------------------------------------------------------------------


def cookie_of(answer: httpx.Response) -> str:
    [header] = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    return header


@pytest.mark.anyio
async def test_the_cookie_is_httponly_strict_and_limited_to_admin(staffed: Staffed) -> None:
    async with staffed.client() as client:
        cookie = cookie_of(await sign_in(client))
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain http (a developer's machine): no Secure
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()  # gone with the browser


@pytest.mark.anyio
async def test_the_cookie_is_secure_under_https(staffed: Staffed) -> None:
    async with staffed.client("https://intake.example") as client:
        answer = await sign_in(client, next="/admin")
        assert "Secure" in cookie_of(answer)
        assert (await client.get("/admin")).status_code == 200


@pytest.mark.anyio
async def test_the_cookie_is_secure_behind_an_https_proxy(staffed: Staffed, tmp_path: Path) -> None:
    staffed.app = staff_app(staffed.store, tmp_path, proxy=True)
    async with staffed.client() as client:
        answer = await client.post(
            "/admin/login",
            data={"name": "anna", "password": PASSWORD},
            headers={"x-forwarded-proto": "https", "x-forwarded-host": "intake.example"},
        )
        assert answer.status_code == 303
        assert "Secure" in cookie_of(answer)


@pytest.mark.anyio
async def test_the_cookie_path_follows_the_mount(staffed: Staffed) -> None:
    host = Starlette(routes=[Mount("/intake", app=staffed.app)])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        away = await client.get("/intake/admin/inbox")
        assert away.headers["location"].startswith("/intake/admin/login?next=%2Fintake%2Fadmin")
        answer = await client.post(
            "/intake/admin/login",
            data={"name": "anna", "password": PASSWORD, "next": "/intake/admin/inbox"},
        )
        assert "Path=/intake/admin" in cookie_of(answer)
        assert answer.headers["location"] == "/intake/admin/inbox"
        assert (await client.get("/intake/admin/inbox")).status_code == 200


# -- sessions ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_session_ends_two_hours_after_its_last_use(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        staffed.clock.move(minutes=100)
        assert (await client.get("/admin")).status_code == 200  # used: two hours more
        staffed.clock.move(minutes=100)
        assert (await client.get("/admin")).status_code == 200
        staffed.clock.move(hours=2, seconds=1)
        ended = await client.get("/admin/inbox")
        assert ended.status_code == 303
        assert query_of(ended.headers["location"])["ended"] == ["1"]
        page = await client.get(ended.headers["location"])
        assert "Your session has ended. Sign in again." in page.text


@pytest.mark.anyio
async def test_a_session_ends_twelve_hours_after_it_began(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        for _ in range(11):
            staffed.clock.move(hours=1)
            assert (await client.get("/admin")).status_code == 200
        staffed.clock.move(hours=1)
        assert (await client.get("/admin")).status_code == 303


@pytest.mark.anyio
async def test_signing_out_ends_the_session(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        token = client.cookies[COOKIE]
        csrf = csrf_of(await client.get("/admin"))
        out = await client.post("/admin/logout?lang=sv", data={"csrf": csrf})
        assert out.status_code == 303
        assert out.headers["location"] == "/admin/login?out=1&lang=sv"
        assert 'intake_admin=""' in cookie_of(out) and "Path=/admin" in cookie_of(out)
        assert COOKIE not in client.cookies
        page = await client.get(out.headers["location"])
        assert 'lang="sv"' in page.text
    # The old token is dead, whoever kept it.
    async with staffed.client() as thief:
        thief.cookies.set(COOKIE, token, path="/admin")
        assert (await thief.get("/admin")).status_code == 303
    assert [e.action for e in await staffed.store.admin_log()] == ["logout", "login"]


@pytest.mark.anyio
async def test_signing_out_without_the_token_is_refused(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        assert (await client.post("/admin/logout", data={})).status_code == 403
        assert (await client.get("/admin")).status_code == 200


@pytest.mark.anyio
async def test_a_new_sign_in_replaces_the_old_session(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        first = client.cookies[COOKIE]
        await sign_in(client)
        assert client.cookies[COOKIE] != first
    async with staffed.client() as thief:
        thief.cookies.set(COOKIE, first, path="/admin")
        assert (await thief.get("/admin")).status_code == 303


@pytest.mark.anyio
async def test_removing_the_account_ends_its_sessions(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        assert await staffed.store.remove_staff("anna")
        assert (await client.get("/admin")).status_code == 303


# -- CSRF and origins -----------------------------------------------------------------


@pytest.fixture
async def signed(staffed: Staffed) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with staffed.client() as client:
        await sign_in(client)
        yield client, csrf_of(await client.get("/admin"))


@pytest.mark.anyio
async def test_an_action_with_the_token_is_done_and_logged(
    staffed: Staffed, signed: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = signed
    done = await client.post(
        "/admin/act", data={"csrf": csrf}, headers={"origin": "http://testserver"}
    )
    assert (done.status_code, done.text) == (200, "released")
    by_header = await client.post("/admin/act", headers={"x-csrf-token": csrf})
    assert by_header.status_code == 200
    log = await staffed.store.admin_log(limit=2)
    assert [(e.staff, e.action, e.target) for e in log] == [
        ("anna", "spam.release", "CAR-4F7K2Q")
    ] * 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({"other": "1"}, {}),
        ({"csrf": "forged"}, {}),
        ({"csrf": ""}, {"x-csrf-token": "forged"}),
        ({"csrf": "ä"}, {}),
    ],
    ids=["missing", "wrong", "wrong-header", "not-ascii"],
)
async def test_an_action_without_the_right_token_is_refused(
    staffed: Staffed,
    signed: tuple[httpx.AsyncClient, str],
    data: dict[str, str],
    headers: dict[str, str],
) -> None:
    client, _ = signed
    refused = await client.post("/admin/act", data=data, headers=headers)
    assert refused.status_code == 403
    assert await staffed.store.admin_log(limit=1) != [] and all(
        e.action != "spam.release" for e in await staffed.store.admin_log()
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "https://testserver"},  # another scheme is another origin
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
async def test_an_action_from_another_origin_is_refused(
    staffed: Staffed, signed: tuple[httpx.AsyncClient, str], headers: dict[str, str]
) -> None:
    client, csrf = signed
    refused = await client.post("/admin/act", headers={"x-csrf-token": csrf, **headers})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "origin_not_allowed"


@pytest.mark.anyio
async def test_signing_in_from_another_origin_is_refused(staffed: Staffed) -> None:
    async with staffed.client() as client:
        refused = await client.post(
            "/admin/login",
            data={"name": "anna", "password": PASSWORD},
            headers={"origin": "https://evil.example"},
        )
        assert refused.status_code == 403
        assert COOKIE not in client.cookies


@pytest.mark.anyio
async def test_an_action_without_a_session_goes_to_sign_in(staffed: Staffed) -> None:
    async with staffed.client() as client:
        away = await client.post("/admin/act", data={"csrf": "x"})
        assert away.status_code == 303
        assert away.headers["location"] == "/admin/login"


# -- the API -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_api_answers_401_json_without_a_session(staffed: Staffed) -> None:
    async with staffed.client() as client:
        refused = await client.get("/admin/api/stats")
        assert refused.status_code == 401
        [error] = refused.json()["errors"]
        assert error["code"] == "sign_in_required"
        await sign_in(client)
        assert (await client.get("/admin/api/stats")).json() == {"name": "anna"}


# -- passwords and failures -----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_hash_with_older_parameters_is_made_again_at_sign_in(staffed: Staffed) -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert await staffed.store.set_staff_password("anna", weaker)
    async with staffed.client() as client:
        assert (await sign_in(client)).status_code == 303
    account = await staffed.store.staff_account("anna")
    assert account is not None and account.password_hash != weaker
    assert not PasswordHasher().check_needs_rehash(account.password_hash)
    assert PasswordHasher().verify(account.password_hash, PASSWORD)


@pytest.mark.anyio
async def test_a_damaged_hash_signs_nobody_in(staffed: Staffed) -> None:
    assert await staffed.store.set_staff_password("anna", "not an argon2 hash")
    async with staffed.client() as client:
        assert (await sign_in(client)).status_code == 422


@pytest.mark.anyio
async def test_a_store_that_fails_is_said_not_hidden(staffed: Staffed) -> None:
    async with staffed.client() as client:
        await sign_in(client)
        csrf = csrf_of(await client.get("/admin"))
        await staffed.store.close()
        page = await client.get("/admin")
        assert (page.status_code, page.json()["errors"][0]["code"]) == (503, "unavailable")
        assert page.headers["retry-after"] == "30"
        assert (await client.get("/admin/api/stats")).status_code == 503
        assert (await client.post("/admin/act", data={"csrf": csrf})).status_code == 503
        assert (await client.post("/admin/logout", data={"csrf": csrf})).status_code == 503
        login = await client.get("/admin/login")
        assert login.status_code == 503
        assert "Signing in is not possible just now." in login.text
    async with staffed.client() as fresh:
        refused = await sign_in(fresh)
        assert refused.status_code == 503
        assert "Signing in is not possible just now." in refused.text
