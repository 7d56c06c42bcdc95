"""The staff's dashboard and its statistics API, behind the staff's sign-in.

``GET /admin`` shows the last 7, 30 or 90 days: totals by form, submissions
per day by topic, visits by channel, and for one chosen form the funnel of
its questions, the errors they drew, the time to submit and what the FAQ
did. ``GET /admin/api/stats?form=&from=&to=`` answers the same figures as
JSON (:func:`intakeforms.stats.form_figures`), one form's or a list of
every form's. The inbox, a submission and the actions on it are
:mod:`intakeforms.web.admin_inbox`'s.

Every route asks :class:`~intakeforms.web.admin_auth.StaffGate` first: a
page sends a stranger to the sign-in page, the API answers 401, a POST
needs the session's CSRF token. Every view, export and action is written
to the staff's action log (who, what, which reference or form; never an
answer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from intakeforms.form import Form
from intakeforms.render_admin import PERIODS, Chrome, Dashboard, FormStats, render_dashboard
from intakeforms.settings import Settings
from intakeforms.stats import form_figures
from intakeforms.store import Store
from intakeforms.web.admin_auth import Staff, StaffGate
from intakeforms.web.admin_filters import parse_day
from intakeforms.web.admin_inbox import InboxPages
from intakeforms.web.admin_login import STAFF_LOCALES, staff_locale
from intakeforms.web.responses import LANGUAGE_NAMES, Answer, errors, mounted

__all__ = ["DEFAULT_DAYS", "MAX_API_DAYS", "Admin", "utc_today"]

#: The dashboard's period when none is asked for, in days up to today.
DEFAULT_DAYS = 30
#: The longest period ``/admin/api/stats`` answers for, in days.
MAX_API_DAYS = 366

_NO_STORE = {"cache-control": "no-store"}


def utc_today() -> dt.date:
    """Today in UTC: the figures' days change at midnight UTC."""
    return dt.datetime.now(dt.UTC).date()


class Admin:
    """The staff's pages and API for ``forms``, behind a :class:`StaffGate`
    on ``store``; ``ready`` opens the store on first use."""

    def __init__(
        self,
        forms: Mapping[str, Form],
        settings: Settings,
        store: Store,
        ready: Callable[[], Awaitable[None]],
    ) -> None:
        self.forms = forms
        self.settings = settings
        self.store = store
        self.ready = ready
        self.gate = StaffGate(store, settings, ready)
        self.inbox = InboxPages(self)

    def routes(self) -> list[BaseRoute]:
        """The sign-in routes and every staff route, relative to the app's root."""
        inbox = self.inbox
        return [
            *self.gate.routes(),
            Route("/admin", self.dashboard, methods=["GET"]),
            Route("/admin/inbox", inbox.listing, methods=["GET"]),
            Route("/admin/export.csv", inbox.export, methods=["GET"]),
            Route("/admin/submissions/{reference}", inbox.show, methods=["GET"]),
            Route("/admin/submissions/{reference}/release", inbox.release, methods=["POST"]),
            Route("/admin/submissions/{reference}/delete", inbox.delete, methods=["POST"]),
            Route("/admin/submissions/{reference}/erase", inbox.erase, methods=["POST"]),
            Route("/admin/api/stats", self.api_stats, methods=["GET"]),
        ]

    # -- what every page shares -------------------------------------------------

    def locale(self, request: Request) -> str:
        """The staff's language: ``?lang=``, else their browser's, else English."""
        return staff_locale(request)

    def link(self, request: Request, path: str, **params: str | None) -> str:
        """The address of ``path`` with ``params`` (empty ones left out),
        keeping a ``?lang=`` the staff chose."""
        given = {key: value for key, value in params.items() if value}
        lang = request.query_params.get("lang")
        if lang in STAFF_LOCALES and "lang" not in given:
            given["lang"] = lang
        query = urlencode(given)
        return mounted(request, path) + (f"?{query}" if query else "")

    def chrome(
        self,
        request: Request,
        staff: Staff,
        path: str,
        *,
        current: str = "",
        notice: str | None = None,
        problem: str | None = None,
    ) -> Chrome:
        """The parts of a staff page around its content; ``path`` is the
        page's own, for the language links."""
        params = {k: v for k, v in request.query_params.items() if k not in ("lang", "done")}
        languages = [
            (code, LANGUAGE_NAMES[code], self.link(request, path, **params, lang=code))
            for code in STAFF_LOCALES
        ]
        return Chrome(
            locale=self.locale(request),
            staff=staff.name,
            csrf=staff.csrf,
            dashboard=self.link(request, "/admin"),
            inbox=self.link(request, "/admin/inbox"),
            logout=mounted(request, "/admin/logout"),
            assets=mounted(request, "/assets"),
            languages=languages,
            current=current,
            notice=notice,
            problem=problem,
        )

    def labels(self, form: Form, locale: str) -> dict[str, str]:
        """The labels of a form's questions (hidden ones left out) by name."""
        return {
            name: form.text(field.label, locale)
            for name, field in form.fields.items()
            if field.type != "hidden"
        }

    # -- the dashboard ------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        """``GET /admin``: the figures of the period asked for (``days``: 7,
        30 or 90) and the questions of one form (``form``)."""
        staff = await self.gate.page(request)
        if isinstance(staff, Response):
            return staff
        await self.ready()
        locale = self.locale(request)
        try:
            days = int(request.query_params.get("days", DEFAULT_DAYS))
        except ValueError:
            days = DEFAULT_DAYS
        if days not in PERIODS:
            days = DEFAULT_DAYS
        end = utc_today()
        start = end - dt.timedelta(days=days - 1)
        chosen = request.query_params.get("form") or next(iter(self.forms), None)
        if chosen not in self.forms:
            chosen = next(iter(self.forms), None)
        panels = []
        for form in self.forms.values():
            figures = await form_figures(self.store, form, start, end)
            panels.append(
                FormStats(form.id, form.title(locale), self.labels(form, locale), figures.as_json())
            )
        await self.gate.log(staff, "dashboard.view", chosen, f"{start}..{end}")
        view = Dashboard(
            days=days,
            start=start,
            end=end,
            forms=panels,
            chosen=chosen,
            action=mounted(request, "/admin"),
            lang=request.query_params.get("lang") if "lang" in request.query_params else None,
        )
        html = render_dashboard(self.chrome(request, staff, "/admin", current="dashboard"), view)
        return HTMLResponse(html, headers=_NO_STORE)

    # -- the statistics API -------------------------------------------------------

    async def api_stats(self, request: Request) -> Response:
        """``GET /admin/api/stats?form=&from=&to=``: one form's figures, or
        a list of every form's without ``form``; the period defaults to the
        last 30 days. 400 names a bad date, a reversed or too long period,
        an unknown form."""
        staff = await self.gate.api(request)
        if isinstance(staff, Response):
            return staff
        query = request.query_params
        end = utc_today()
        days: dict[str, dt.date] = {}
        for key, default in (("from", end - dt.timedelta(days=DEFAULT_DAYS - 1)), ("to", end)):
            text = query.get(key)
            try:
                days[key] = default if not text else parse_day(text)
            except ValueError:
                return errors(
                    400, "invalid_date", f"{key}: write a day as YYYY-MM-DD, like 2026-05-04", key
                )
        start, end = days["from"], days["to"]
        if start > end:
            return errors(400, "invalid_period", f"from ({start}) is after to ({end})", "from")
        if (end - start).days + 1 > MAX_API_DAYS:
            return errors(
                400,
                "period_too_long",
                f"ask for at most {MAX_API_DAYS} days at a time; ask for the rest in another call",
                "from",
            )
        name = query.get("form")
        if name and name not in self.forms:
            known = ", ".join(self.forms) or "none"
            return errors(
                400, "unknown_form", f"there is no form {name!r}; the forms are {known}", "form"
            )
        await self.ready()
        chosen = [self.forms[name]] if name else list(self.forms.values())
        answers = [(await form_figures(self.store, form, start, end)).as_json() for form in chosen]
        await self.gate.log(staff, "stats.read", name or None, f"{start}..{end}")
        return Answer(answers[0] if name else answers, headers=_NO_STORE)
