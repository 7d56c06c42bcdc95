"""The staff's dashboard and inbox over real HTTP (httpx on the ASGI app, a
real SQLite store, the real sign-in): nothing without signing in, every
action needs the session's CSRF token, a released spam submission is
delivered, delete refuses what is not spam, erase leaves nothing, the CSV
export holds what the filters find and nothing a spreadsheet would run, the
statistics API answers what form_figures says, and every view, export and
action is in the staff's action log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from test_privacy import keep_file
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms.delivery import Worker, mail_transport
from intakeforms.intake import submit
from intakeforms.settings import Settings
from intakeforms.stats import form_figures
from intakeforms.store import EventRecord, SqliteStore
from intakeforms.web import create_app
from intakeforms.web.admin_auth import hash_password
from intakeforms.web.admin_inbox import PAGE_SIZE

PASSWORD = "correct horse battery staple"
CAR = next(form for form in FORMS if form.id == "car-service")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """Real time plus an offset the test moves (sessions need a real clock)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@dataclass
class Desk:
    """The service with one member of staff, signed in with ``client``."""

    store: SqliteStore
    settings: Settings
    clock: Clock
    client: httpx.AsyncClient
    stranger: httpx.AsyncClient

    async def csrf(self) -> str:
        found = CSRF.search((await self.client.get("/admin/inbox")).text)
        assert found, "the page has no CSRF token"
        return found.group(1)

    async def act(self, reference: str, action: str, **fields: str) -> httpx.Response:
        data = {"csrf": await self.csrf(), **fields}
        return await self.client.post(f"/admin/submissions/{reference}/{action}", data=data)

    async def saved(
        self, *, spam: bool = False, ago: dt.timedelta | None = None, **answers: Any
    ) -> str:
        """A car-service submission stored as the service stores one; its reference."""
        files = answers.pop("files", ())
        self.clock.offset = -(ago or dt.timedelta(0))
        try:
            receipt = await submit(
                self.store,
                CAR,
                {**CAR_ANSWERS, **answers},
                spam_reason="honeypot filled" if spam else None,
                files=files,
            )
        finally:
            self.clock.offset = dt.timedelta(0)
        return receipt.reference


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    clock = Clock()
    settings = settings_for(tmp_path)
    store = SqliteStore(tmp_path / "intake.db", clock=clock)
    app = create_app(FORMS, settings, store=store)
    service = app.state.service
    await service.ready()
    await store.add_staff("anna", hash_password(PASSWORD))
    (tmp_path / "uploads").mkdir()

    def client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 4711))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    try:
        async with client() as staff, client() as stranger:
            signed = await staff.post("/admin/login", data={"name": "anna", "password": PASSWORD})
            assert signed.status_code == 303
            yield Desk(store, settings, clock, staff, stranger)
    finally:
        await service.shut()


# -- who gets in ------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_page_sends_a_stranger_to_sign_in(desk: Desk) -> None:
    reference = await desk.saved()
    for path in (
        "/admin",
        "/admin?days=7",
        "/admin/inbox?q=CAR",
        f"/admin/submissions/{reference}",
        "/admin/export.csv",
    ):
        away = await desk.stranger.get(path)
        assert away.status_code == 303, path
        location = urlsplit(away.headers["location"])
        assert location.path == "/admin/login"
        assert parse_qs(location.query)["next"] == [path]
    api = await desk.stranger.get("/admin/api/stats")
    assert api.status_code == 401
    assert api.json()["errors"][0]["code"] == "sign_in_required"
    # Nor can a stranger act: sent to sign in, nothing done.
    for action in ("release", "delete", "erase"):
        acted = await desk.stranger.post(
            f"/admin/submissions/{reference}/{action}", data={"confirm": "yes"}
        )
        assert acted.status_code == 303
    found = await desk.store.get(reference)
    assert found is not None and not found.erased


@pytest.mark.anyio
async def test_every_action_needs_the_sessions_csrf_token(desk: Desk) -> None:
    spam = await desk.saved(spam=True)
    for action in ("release", "delete", "erase"):
        url = f"/admin/submissions/{spam}/{action}"
        for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf": "forged"}):
            refused = await desk.client.post(url, data=data)
            assert refused.status_code == 403, (action, data)
        # The right token from another site's page is refused too.
        data = {"confirm": "yes", "csrf": await desk.csrf()}
        elsewhere = await desk.client.post(url, data=data, headers={"origin": "https://evil.test"})
        assert elsewhere.status_code == 403
        # A body past 8 KiB (or not a urlencoded form) is not read for its token.
        padded = {**data, "padding": "x" * 9000}
        assert (await desk.client.post(url, data=padded)).status_code == 403
        multipart = await desk.client.post(url, data=data, files={"f": ("a.txt", b"a")})
        assert multipart.status_code == 403
    found = await desk.store.get(spam)
    assert found is not None and found.spam and not found.erased
    assert await desk.store.outbox(spam) == []


# -- release, delete, erase ---------------------------------------------------------


@pytest.mark.anyio
async def test_a_released_submission_is_delivered(desk: Desk) -> None:
    spam = await desk.saved(spam=True)
    page = await desk.client.get(f"/admin/submissions/{spam}")
    assert "Quarantined as spam (honeypot filled): nobody was sent it." in page.text
    assert "As the agent would see it" in page.text
    released = await desk.act(spam, "release")
    assert released.status_code == 303
    assert released.headers["location"] == f"/admin/submissions/{spam}?done=released"
    shown = await desk.client.get(released.headers["location"])
    assert f"{spam} was released; its deliveries are queued." in shown.text
    found = await desk.store.get(spam)
    assert found is not None and not found.spam
    assert [(job.target, job.status) for job in await desk.store.outbox(spam)] == [
        ("email:0", "pending")
    ]
    worker = Worker(
        store=desk.store,
        forms={CAR.id: CAR},
        settings=desk.settings,
        transport=mail_transport(desk.settings),
    )
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    [mail] = list(desk.settings.mail_dir.glob("*.eml"))
    assert f"[{spam}]" in mail.read_text(encoding="utf-8")
    # Released once: a second release changes nothing and says why.
    again = await desk.act(spam, "release")
    assert again.status_code == 409
    assert f"{spam} is not quarantined spam, so nothing was done." in again.text


@pytest.mark.anyio
async def test_delete_takes_spam_only_and_asks_to_be_sure(desk: Desk) -> None:
    accepted = await desk.saved()
    refused = await desk.act(accepted, "delete", confirm="yes")
    assert refused.status_code == 409
    assert f"{accepted} is not quarantined spam" in refused.text
    assert await desk.store.get(accepted) is not None
    upload = desk.settings.upload_dir
    spam = await desk.saved(spam=True, files=(keep_file(upload),))
    unsure = await desk.act(spam, "delete")
    assert unsure.status_code == 400 and "Tick “I am sure” first" in unsure.text
    assert await desk.store.get(spam) is not None
    deleted = await desk.act(spam, "delete", confirm="yes")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/admin/inbox?done=deleted&ref={spam}"
    assert await desk.store.get(spam) is None
    assert [path for path in upload.rglob("*") if path.is_file()] == []
    inbox = await desk.client.get(deleted.headers["location"])
    assert f"{spam} was deleted for good." in inbox.text
    gone = await desk.act(spam, "delete", confirm="yes")
    assert gone.status_code == 404


@pytest.mark.anyio
async def test_erase_leaves_no_answer_and_no_file(desk: Desk) -> None:
    upload = desk.settings.upload_dir
    reference = await desk.saved(files=(keep_file(upload),), symptoms="Jarrut kitisevät")
    unsure = await desk.act(reference, "erase")
    assert unsure.status_code == 400
    erased = await desk.act(reference, "erase", confirm="yes")
    assert erased.status_code == 303
    found = await desk.store.get(reference)
    assert found is not None and found.erased and found.data == {} and found.files == ()
    assert [path for path in upload.rglob("*") if path.is_file()] == []
    page = await desk.client.get(erased.headers["location"])
    assert f"{reference} was erased." in page.text
    assert "The answers and files were erased on" in page.text
    assert "Jarrut" not in page.text and "Matti" not in page.text
    # Nothing is left to erase, release or delete: no such button.
    assert "/erase" not in page.text and "/release" not in page.text
    assert (await desk.act("CAR-ZZZZZZ", "erase", confirm="yes")).status_code == 404


# -- the inbox and one submission ----------------------------------------------------------


def references_in(page: httpx.Response) -> list[str]:
    return re.findall(r'class="intake-admin-reference" href="[^"]+">([A-Z0-9-]+)<', page.text)


@pytest.mark.anyio
async def test_the_inbox_finds_by_reference_date_form_and_spam(desk: Desk) -> None:
    old = await desk.saved(ago=dt.timedelta(days=3))
    spam = await desk.saved(spam=True)
    new = await desk.saved()
    get = desk.client.get
    assert references_in(await get("/admin/inbox")) == [new, spam, old]
    assert references_in(await get(f"/admin/inbox?q={new.lower()}")) == [new]
    assert references_in(await get(f"/admin/inbox?q={new[:7]}")) == [new]
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).date().isoformat()
    assert references_in(await get(f"/admin/inbox?q={day}")) == [old]
    assert references_in(await get(f"/admin/inbox?to={day}")) == [old]
    assert old not in references_in(await get(f"/admin/inbox?from={dt.date.today()}"))
    assert references_in(await get("/admin/inbox?spam=yes")) == [spam]
    assert spam not in references_in(await get("/admin/inbox?spam=no"))
    assert references_in(await get("/admin/inbox?form=product-return")) == []
    for query, words in (
        ("q=2026-13-01", "Write dates like 2026-05-04."),
        ("q=matti%40example.com", "Search by a reference"),
        ("from=yesterday", "Write dates like 2026-05-04."),
        ("from=2026-05-04&to=2026-05-01", "“From” is after “To”."),
        ("form=nope", "There is no form nope."),
    ):
        refused = await get(f"/admin/inbox?{query}")
        assert refused.status_code == 400 and words in refused.text, query


@pytest.mark.anyio
async def test_the_inbox_pages_through_everything_once(desk: Desk) -> None:
    saved = {await desk.saved(ago=dt.timedelta(minutes=n)) for n in range(PAGE_SIZE + 3)}
    first = await desk.client.get("/admin/inbox")
    on_first = references_in(first)
    assert len(on_first) == PAGE_SIZE and "First page" not in first.text
    found = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert found, "no link to the next page"
    second = await desk.client.get(found.group(1).replace("&amp;", "&"))
    on_second = references_in(second)
    assert set(on_first) | set(on_second) == saved and len(on_second) == 3
    assert 'rel="next"' not in second.text and "First page" in second.text
    # An address whose cursor was edited by hand starts again from the first page.
    edited = await desk.client.get("/admin/inbox?after=nonsense")
    assert edited.status_code == 200 and references_in(edited) == on_first
    assert "That page of the inbox is gone" in edited.text


@pytest.mark.anyio
async def test_a_submission_is_shown_as_the_agent_email_shows_it(desk: Desk) -> None:
    reference = await desk.saved()
    page = await desk.client.get(f"/admin/submissions/{reference.lower()}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    # The mail's subject and rows, in the agents' language (the target's: fi).
    assert f"[{reference}] Korjaus ABC-123 Toyota Corolla" in page.text
    assert '<th scope="row">Rekisterinumero</th><td>ABC-123</td>' in page.text
    assert '<th scope="row">email:0</th><td>Waiting</td>' in page.text
    # The staff's own words in their language.
    finnish = await desk.client.get(f"/admin/submissions/{reference}?lang=fi")
    assert '<html lang="fi">' in finnish.text
    missing = await desk.client.get("/admin/submissions/CAR-ZZZZZZ")
    assert missing.status_code == 404 and "There is no submission CAR-ZZZZZZ." in missing.text


# -- the CSV export -------------------------------------------------------------------


def rows_of(answer: httpx.Response) -> list[list[str]]:
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


@pytest.mark.anyio
async def test_the_export_holds_what_the_filters_find_and_runs_nothing(desk: Desk) -> None:
    tricky = await desk.saved(
        model='=HYPERLINK("http://evil.test","click")',
        name="@SUM(1+1)",
        symptoms="-2+3\nsecond line",
    )
    plain_one = await desk.saved(spam=True)
    answer = await desk.client.get("/admin/export.csv?form=car-service&spam=no")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith('attachment; filename="submissions-')
    head, *rows = rows_of(answer)
    assert head[:5] == ["Reference", "Form", "Submitted (UTC)", "Language", "Status"]
    assert head[5:9] == ["Registration plate", "Make and model", "Mileage", "What do you need?"]
    assert head[-1] == "Other answers"
    assert [row[0] for row in rows] == [tricky]
    row = dict(zip(head, rows[0], strict=True))
    assert row["Make and model"] == '\'=HYPERLINK("http://evil.test","click")'
    assert row["Name"] == "'@SUM(1+1)"
    assert row["Describe the problem"] == "'-2+3\nsecond line"
    assert row["Mileage"] == "184,000\xa0km" and row["What do you need?"] == "Repair"
    assert row["Status"] == "Accepted"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["Submitted (UTC)"])
    # No cell of any row begins with a character a spreadsheet would run.
    everything = rows_of(await desk.client.get("/admin/export.csv"))
    assert {row[0] for row in everything[1:]} == {tricky, plain_one}
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in everything for cell in r)
    # With every form, a heading names the form too.
    assert "Car service booking: Registration plate" in everything[0]
    refused = await desk.client.get("/admin/export.csv?from=someday")
    assert refused.status_code == 400


# -- the statistics API and the dashboard ----------------------------------------------


async def some_visits(desk: Desk) -> None:
    now = dt.datetime.now(dt.UTC)

    def event(session: str, kind: str, seconds: int, **more: str) -> EventRecord:
        at = now - dt.timedelta(minutes=30) + dt.timedelta(seconds=seconds)
        fields: dict[str, Any] = {"field": None, "code": None, **more}
        return EventRecord(session, "car-service", "form", kind, at=at, **fields)

    await desk.store.save_events(
        [
            event("visit-0001", "view", 0),
            event("visit-0001", "answer", 5, field="plate"),
            event("visit-0001", "error", 7, field="model", code="required"),
            event("visit-0001", "submit", 60),
            event("visit-0002", "view", 1),
            event("visit-0002", "answer", 9, field="plate"),
            event("visit-0002", "abandon", 20, field="plate"),
            event("visit-0003", "view", 2),
        ]
    )


@pytest.mark.anyio
async def test_the_stats_api_answers_what_form_figures_says(desk: Desk) -> None:
    await some_visits(desk)
    today = dt.datetime.now(dt.UTC).date()
    week = today - dt.timedelta(days=6)
    answer = await desk.client.get(f"/admin/api/stats?form=car-service&from={week}&to={today}")
    assert answer.status_code == 200
    expected = (await form_figures(desk.store, CAR, week, today)).as_json()
    assert answer.json() == expected
    assert (answer.json()["views"], answer.json()["submissions"]) == (3, 1)
    every = await desk.client.get("/admin/api/stats")
    assert [figures["form"] for figures in every.json()] == [form.id for form in FORMS]
    default = await form_figures(desk.store, CAR, today - dt.timedelta(days=29), today)
    assert next(f for f in every.json() if f["form"] == "car-service") == default.as_json()
    for query, code, field in (
        ("from=2026-02-30", "invalid_date", "from"),
        ("to=today", "invalid_date", "to"),
        ("from=2026-05-04&to=2026-05-01", "invalid_period", "from"),
        ("from=2020-01-01&to=2026-01-01", "period_too_long", "from"),
        ("form=nope", "unknown_form", "form"),
    ):
        refused = await desk.client.get(f"/admin/api/stats?{query}")
        assert refused.status_code == 400, query
        [error] = refused.json()["errors"]
        assert (error["code"], error["field"]) == (code, field)
        assert error["message"]


@pytest.mark.anyio
async def test_the_dashboard_shows_the_period_and_the_chosen_forms_questions(desk: Desk) -> None:
    await some_visits(desk)
    page = await desk.client.get("/admin?days=7&form=car-service")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert '<option value="7" selected>Last 7 days</option>' in text
    assert "Submissions per day, by topic" in text and "Visits by channel" in text
    assert "How far visits got: Car service booking" in text
    assert "Errors shown, by question: Car service booking" in text
    assert "Most errors: “Make and model”, required (1)." in text
    assert text.count('role="img"') == 4
    assert "style=" not in text and "<script>" not in text
    odd = await desk.client.get("/admin?days=12&form=nope")
    assert odd.status_code == 200 and "Last 30 days</option>" in odd.text
    swedish = await desk.client.get("/admin?lang=sv")
    assert '<html lang="sv">' in swedish.text


# -- the action log ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_view_export_and_action_is_logged_without_answers(desk: Desk) -> None:
    spam = await desk.saved(spam=True)
    other = await desk.saved(spam=True)
    accepted = await desk.saved()
    await desk.client.get("/admin?form=car-service")
    await desk.client.get(f"/admin/inbox?q={accepted[:6]}&spam=no")
    await desk.client.get(f"/admin/submissions/{accepted}")
    await desk.client.get("/admin/export.csv?form=car-service")
    await desk.client.get("/admin/api/stats?form=car-service")
    await desk.act(spam, "release")
    await desk.act(other, "delete", confirm="yes")
    await desk.act(accepted, "erase", confirm="yes")
    logged = [(e.staff, e.action, e.target) for e in reversed(await desk.store.admin_log())]
    assert ("anna", "dashboard.view", "car-service") in logged
    assert ("anna", "inbox.view", None) in logged
    assert ("anna", "submission.view", accepted) in logged
    assert ("anna", "inbox.export", "car-service") in logged
    assert ("anna", "stats.read", "car-service") in logged
    assert ("anna", "spam.release", spam) in logged
    assert ("anna", "spam.delete", other) in logged
    assert ("anna", "submission.erase", accepted) in logged
    details = " ".join(e.detail or "" for e in await desk.store.admin_log())
    assert f"reference={accepted[:6]}" in details and "spam=no" in details
    for answer in ("Matti", "matti@example.com", "Toyota", "ABC"):
        assert answer not in details


# -- mounted under a prefix ----------------------------------------------------------------


@pytest.mark.anyio
async def test_the_staff_pages_work_under_a_prefix(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    intake = create_app(FORMS, settings)
    host = Starlette(routes=[Mount("/support", app=intake)])
    service = intake.state.service
    await service.ready()
    try:
        await service.store.add_staff("anna", hash_password(PASSWORD))
        reference = (await submit(service.store, CAR, CAR_ANSWERS, spam_reason="robot")).reference
        transport = httpx.ASGITransport(app=host)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            away = await client.get("/support/admin/inbox")
            assert away.headers["location"].startswith("/support/admin/login?next=")
            signed = await client.post(
                "/support/admin/login",
                data={"name": "anna", "password": PASSWORD, "next": "/support/admin/inbox"},
            )
            assert signed.headers["location"] == "/support/admin/inbox"
            inbox = await client.get("/support/admin/inbox")
            assert f'href="/support/admin/submissions/{reference}"' in inbox.text
            assert 'href="/support/assets/admin.css"' in inbox.text
            assert 'action="/support/admin/logout"' in inbox.text
            page = await client.get(f"/support/admin/submissions/{reference}")
            assert f'action="/support/admin/submissions/{reference}/release"' in page.text
            csrf = CSRF.search(page.text)
            assert csrf is not None
            released = await client.post(
                f"/support/admin/submissions/{reference}/release", data={"csrf": csrf.group(1)}
            )
            assert released.headers["location"] == (
                f"/support/admin/submissions/{reference}?done=released"
            )
            dashboard = await client.get("/support/admin")
            assert dashboard.status_code == 200 and 'action="/support/admin"' in dashboard.text
    finally:
        await service.shut()
