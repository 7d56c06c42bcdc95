"""The staff's sign-in page (web/admin_login.py), over real HTTP: where it
sends staff before and after signing in (``?next=``, never another site),
its fields and error summary, its languages, and the page of a refused
action. The app and fixtures are test_web_admin_auth's.
"""

from __future__ import annotations

import httpx
import pytest
from test_web_admin_auth import T0, Staffed, anyio_backend, query_of, sign_in, signed, staffed

from intakeforms.web.admin_auth import LOGIN_PER_ADDRESS

# The fixtures, shared with test_web_admin_auth.
__all__ = ["anyio_backend", "signed", "staffed"]


@pytest.mark.anyio
async def test_a_page_sends_to_sign_in_and_back_after_it(staffed: Staffed) -> None:
    async with staffed.client() as client:
        away = await client.get("/admin/inbox?q=CAR&spam=1")
        assert away.status_code == 303
        location = away.headers["location"]
        assert location.startswith("/admin/login?")
        assert query_of(location)["next"] == ["/admin/inbox?q=CAR&spam=1"]
        page = await client.get(location)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert 'name="next" value="/admin/inbox?q=CAR&amp;spam=1"' in page.text
        done = await sign_in(client, next="/admin/inbox?q=CAR&spam=1")
        assert done.status_code == 303
        assert done.headers["location"] == "/admin/inbox?q=CAR&spam=1"
        inbox = await client.get("/admin/inbox")
        assert inbox.status_code == 200
        assert inbox.text.startswith("hello anna csrf=")
        # Signed in already: the sign-in page sends them on.
        again = await client.get("/admin/login?next=/admin/inbox")
        assert (again.status_code, again.headers["location"]) == (303, "/admin/inbox")
    [entry] = await staffed.store.admin_log()
    assert (entry.staff, entry.action) == ("anna", "login")
    account = await staffed.store.staff_account("anna")
    assert account is not None and account.last_login_at == T0


@pytest.mark.anyio
async def test_missing_fields_are_named_without_counting_an_attempt(staffed: Staffed) -> None:
    async with staffed.client() as client:
        for _ in range(LOGIN_PER_ADDRESS[0] + 2):
            empty = await client.post("/admin/login", data={"name": "", "password": ""})
            assert empty.status_code == 422
        assert "Enter your name." in empty.text and "Enter your password." in empty.text
        assert 'href="#admin-name"' in empty.text
        assert (await sign_in(client)).status_code == 303


@pytest.mark.anyio
async def test_the_refusal_is_a_page_for_a_form_and_json_for_a_script(
    signed: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed
    page = await client.post("/admin/act", data={"csrf": "forged"}, params={"lang": "fi"})
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="fi">' in page.text and 'href="/admin"' in page.text
    script = await client.post("/admin/act", headers={"x-csrf-token": "forged"})
    assert script.json()["errors"][0]["code"] == "csrf_failed"


# -- next= is kept to the staff pages --------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/admin",
        "//evil.example/admin",
        "/\\evil.example",
        "/admin/../elsewhere",
        "/admin//evil.example",
        "/administrator",
        "/forms/car-service",
        "/admin/login",
        "/admin/\r\nx",
        "javascript:alert(1)",
        "/admin/ä",
    ],
)
async def test_next_never_leaves_the_staff_pages(staffed: Staffed, target: str) -> None:
    async with staffed.client() as client:
        page = await client.get("/admin/login", params={"next": target})
        assert 'name="next"' not in page.text
        done = await sign_in(client, next=target)
        assert done.headers["location"] == "/admin"


# -- the page itself ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_sign_in_page_is_plain_accessible_html(staffed: Staffed) -> None:
    async with staffed.client() as client:
        page = await client.get("/admin/login")
        css = await client.get("/assets/admin.css")
    html = page.text
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for key, complete in (("name", "username"), ("password", "current-password")):
        assert f'<label class="intake-label" for="admin-{key}">' in html
        assert f'id="admin-{key}" name="{key}" autocomplete="{complete}"' in html
    assert 'href="/assets/admin.css"' in html and css.status_code == 200
    assert 'action="/admin/login?lang=en"' in html


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("ask", "title"),
    [
        ({"params": {"lang": "fi"}}, "Kirjaudu henkilökunnan sivuille"),
        ({"headers": {"accept-language": "sv-FI,sv;q=0.9"}}, "Logga in på personalens sidor"),
        ({"headers": {"accept-language": "de"}}, "Sign in to the staff pages"),
    ],
)
async def test_the_sign_in_page_speaks_fi_sv_and_en(
    staffed: Staffed, ask: dict[str, dict[str, str]], title: str
) -> None:
    async with staffed.client() as client:
        page = await client.get("/admin/login", **ask)  # type: ignore[arg-type]
    assert f'<h1 class="intake-title">{title}</h1>' in page.text
