"""``create_app``: the whole service as one Starlette app, mountable anywhere.

Routes follow DESIGN's HTTP table. A submission is acknowledged (201) only
after the store has written it with its outbox rows; when the store cannot
write, the answer is 503 and nothing is claimed.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from intakeforms.errors import FieldError, StoreUnavailable
from intakeforms.faq.library import FaqLibrary
from intakeforms.faq.load import Faq
from intakeforms.fields import FieldProblem
from intakeforms.form import Form
from intakeforms.i18n import negotiate
from intakeforms.metrics import Metrics, metrics_plan, serve_metrics
from intakeforms.render import ASSETS_DIR, render_form_page, render_home_page
from intakeforms.settings import Settings
from intakeforms.store import Store, open_store
from intakeforms.validate import check_answer, check_answers, is_blank
from intakeforms.web import look, submissions
from intakeforms.web.admin import Admin
from intakeforms.web.bodies import FAQ_SEARCH, SUBMISSION_KEY, VISIT, BadBody, read_posted
from intakeforms.web.continuity import Opened, open_draft, open_link
from intakeforms.web.event_buffer import EventBuffer
from intakeforms.web.events import EventEndpoint, EventPath
from intakeforms.web.faq import FaqEndpoints
from intakeforms.web.gate import Gate
from intakeforms.web.headers import SecurityHeaders
from intakeforms.web.metrics import CountResponses, metrics_route
from intakeforms.web.openapi import openapi_document
from intakeforms.web.proxy import ForwardedHeaders
from intakeforms.web.responses import LANGUAGE_NAMES, Answer, mounted
from intakeforms.web.responses import errors as _errors
from intakeforms.web.resume import Resume, drafts_on
from intakeforms.web.spam import HONEYPOT, TOKEN, SpamJudge
from intakeforms.web.uploads import private_folder
from intakeforms.web.widget_texts import widget_texts
from intakeforms.web.widgets import serve_widget

__all__ = ["Background", "create_app"]

#: Work that runs beside the service for its lifespan (the in-process outbox
#: worker): called with the store, the forms by id, the settings, the metrics
#: (None when off) and an event set when the app stops.
Background = Callable[
    [Store, Mapping[str, Form], Settings, Metrics | None, anyio.Event], Coroutine[Any, Any, None]
]

logger = logging.getLogger("intakeforms.web")


def _given_by_page(form: Form, query: Mapping[str, str]) -> dict[str, Any]:
    """The answers of the form's hidden questions in the page's address,
    normalised; one the form would refuse is left out, as the customer
    could not correct it."""
    given: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.type == "hidden" and not is_blank(query.get(name)):
            try:
                given[name] = check_answer(field, query[name], form.analysis)
            except FieldProblem:
                continue
    return given


class Service:
    """The state behind the routes: forms, settings, store, defences."""

    def __init__(
        self, forms: Iterable[Form], settings: Settings, store: Store, faqs: Iterable[Faq] = ()
    ) -> None:
        self.forms = {form.id: form for form in forms}
        self._openapi: dict[str, bytes] = {}
        self.settings = settings
        self.store = store
        self.judge = SpamJudge(
            settings.secret,
            min_seconds=settings.min_fill_seconds,
            max_age_seconds=settings.token_max_age_seconds,
            require_token=settings.require_token,
        )
        self.gate = Gate(settings, store)
        self.library = FaqLibrary(faqs, self.forms.values())
        self.faq = FaqEndpoints(self.library, self.forms, store, self.ready, self.gate)
        self.resume = Resume(self.forms, settings, store, self.ready, self.gate)
        self.event_buffer = EventBuffer(store, self.ready)
        self.events = EventEndpoint(self.forms, self.event_buffer, self.gate)
        # The staff's dashboard and inbox, behind their sign-in (StaffGate).
        self.admin = Admin(self.forms, settings, store, self.ready)
        self._opened = False
        self._opening = anyio.Lock()
        #: Set by create_app when INTAKE_METRICS is on.
        self.metrics: Metrics | None = None

    async def ready(self) -> None:
        """Open the store on first use: a host app that mounts this one does
        not run its lifespan, and the service must work all the same."""
        if self._opened:
            return
        async with self._opening:
            if not self._opened:
                await self.store.open()
                self._opened = True

    async def shut(self) -> None:
        """Write the waiting visitor events, then close the store if it was opened."""
        await self.event_buffer.close()
        if self._opened:
            await self.store.close()
            self._opened = False

    # -- helpers ------------------------------------------------------------

    def form(self, request: Request) -> Form | None:
        return self.forms.get(request.path_params["form"])

    def locale(self, request: Request, form: Form) -> str:
        return negotiate(
            form.locales, request.query_params.get("lang"), request.headers.get("accept-language")
        )

    @staticmethod
    def path(request: Request, suffix: str) -> str:
        return mounted(request, suffix)

    def languages(self, request: Request, form: Form, page: str) -> list[tuple[str, str, str]]:
        return [
            (code, LANGUAGE_NAMES.get(code, code), f"{page}?lang={code}") for code in form.locales
        ]

    def page(
        self,
        request: Request,
        form: Form,
        locale: str,
        *,
        values: dict[str, Any] | None = None,
        errors: list[FieldError] | None = None,
        status: int = 200,
        submission_key: str | None = None,
        token: str | None = None,
        faq_search: str | None = None,
        opened: Opened | None = None,
        visit: str | None = None,
    ) -> HTMLResponse:
        """The HTML form. ``token`` is the time-trap token the page was first
        issued with, kept on an error page: the customer's time is counted
        from the first page, not from the correction. ``opened``: what a
        link or a draft opened it with (answers, locked ones, its token).
        ``visit``: the visit's id an error page goes on with (``_visit``)."""
        opened = opened or Opened()
        page = self.path(request, f"/forms/{form.id}")
        html = render_form_page(
            form.spec(locale),
            action=f"{page}/submissions?lang={locale}",
            values=values or {},
            errors=errors or [],
            hidden={
                TOKEN: token or self.judge.issue(form.id),
                SUBMISSION_KEY: submission_key or uuid.uuid4().hex,
                # The answers shown before a correction still count for the agent.
                **({FAQ_SEARCH: faq_search} if faq_search else {}),
                # A correction goes on with the visit, for the statistics.
                **({VISIT: visit} if visit else {}),
                **opened.hidden,
            },
            honeypot=HONEYPOT,
            languages=self.languages(request, form, page),
            assets=self.path(request, "/assets"),
            faq=self.faq.search_url(request, form.id),
            locked=opened.locked,
            notice=self.resume.notice(opened.problem, locale),
            # Offered only where the mail can carry a link that works.
            drafts=f"{page}/drafts?lang={locale}" if drafts_on(self.settings) else None,
            stylesheets=look.stylesheets(request, form, self.settings),
        )
        # The form's logo, the site stylesheet and its thanks page: allowed in the CSP.
        headers = {"cache-control": "no-store", **look.page_policy(form, self.settings)}
        if opened.hidden:
            # The address holds a token: no other site may see it as a referrer.
            headers["referrer-policy"] = "no-referrer"
        return HTMLResponse(html, status_code=status, headers=headers)

    # -- routes -------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        available = list(dict.fromkeys(code for f in self.forms.values() for code in f.locales))
        locale = negotiate(
            available or ["en"],
            request.query_params.get("lang"),
            request.headers.get("accept-language"),
        )
        texts = widget_texts(locale)
        forms = [
            {
                "title": form.title(self.locale(request, form)),
                "url": self.path(request, f"/forms/{form.id}?lang={locale}"),
            }
            for form in self.forms.values()
        ]
        home = self.path(request, "/")
        html = render_home_page(
            forms,
            locale=locale,
            title=texts["open"],
            question=texts["topic"],
            widget=self.path(request, "/widget.js"),
            languages=[
                (code, LANGUAGE_NAMES.get(code, code), f"{home}?lang={code}") for code in available
            ],
            assets=self.path(request, "/assets"),
        )
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def list_forms(self, request: Request) -> Response:
        refused = self.gate.refuse_origin(request)
        if refused is not None:
            return refused
        items = []
        for form in self.forms.values():
            locale = self.locale(request, form)
            items.append(
                {
                    "id": form.id,
                    "title": form.title(locale),
                    "locales": form.locales,
                    "url": self.path(request, f"/forms/{form.id}"),
                }
            )
        return Answer(items)

    async def form_page(self, request: Request) -> Response:
        form = self.form(request)
        if form is None:
            return _errors(404, "unknown_form", "there is no such form")
        locale = self.locale(request, form)
        opened = await self.opened(request, form, locale)
        if opened.problem in ("damaged", "used"):
            return self.resume.problem_page(
                request, form, locale, opened.problem, reference=opened.reference or ""
            )
        # Hidden questions are answered by the address (?order=1234); a
        # link's signed answers come first.
        values = {**_given_by_page(form, request.query_params), **opened.values}
        return self.page(request, form, locale, values=values, opened=opened)

    async def opened(self, request: Request, form: Form, locale: str) -> Opened:
        """What the page's ``?t=`` (a link) or ``?d=`` (a draft) opens it with."""
        link, draft = request.query_params.get("t"), request.query_params.get("d")
        if not link and not draft:
            return Opened()
        await self.ready()
        if link:
            return await open_link(link, form, locale, self.settings, self.store)
        return await open_draft(str(draft), form, locale, self.settings, self.store)

    async def schema(self, request: Request) -> Response:
        form = self.form(request)
        if form is None:
            return _errors(404, "unknown_form", "there is no such form")
        return JSONResponse(form.json_schema(), media_type="application/schema+json")

    async def spec(self, request: Request) -> Response:
        form = self.form(request)
        if form is None:
            return _errors(404, "unknown_form", "there is no such form")
        # A widget on a page that is not allowed could not read the answer
        # anyway; refusing it here is what gets it logged.
        refused = self.gate.refuse_origin(request)
        if refused is not None:
            return refused
        spec = form.spec(self.locale(request, form))
        base = self.path(request, f"/forms/{form.id}")
        spec["submit"] = f"{base}/submissions"
        spec["validate"] = f"{base}/validate"
        spec["token"] = self.judge.issue(form.id)
        spec["honeypot"] = HONEYPOT
        spec["texts"] = widget_texts(spec["locale"])
        opened = await self.opened(request, form, spec["locale"])
        if opened.problem is not None:
            spec["prefill_error"] = opened.problem
            if opened.reference:
                spec["reference"] = opened.reference
        elif opened.hidden:
            spec["prefill"] = {
                "values": opened.values,
                "locked": list(opened.locked),
                **{key.lstrip("_"): value for key, value in opened.hidden.items()},
            }
        faq = self.faq.search_url(request, form.id)
        if faq is not None:
            spec["faq"] = faq
        if drafts_on(self.settings):  # the widgets offer drafts only where links can be mailed
            spec["drafts"] = f"{base}/drafts"
        return Answer(spec, headers={"cache-control": "no-store"})

    async def healthz(self, request: Request) -> Response:
        try:
            await self.ready()
            await self.store.check()
        except StoreUnavailable as exc:
            # The reason names files on the server: for the log, not the world.
            logger.error("health check failed: %s", exc)
            return JSONResponse({"status": "failing", "store": "failing"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "forms": len(self.forms)})

    async def validate(self, request: Request) -> Response:
        form = self.form(request)
        if form is None:
            return _errors(404, "unknown_form", "there is no such form")
        locale = self.locale(request, form)
        refused = await self.gate.check(request, form.id, locale, "validate")
        if refused is not None:
            return refused
        try:
            posted = await read_posted(
                request,
                form,
                max_body=self.settings.max_json_bytes,
                max_plain=self.settings.max_json_bytes,
                spool=None,
            )
        except BadBody as exc:
            return _errors(exc.status, exc.code, str(exc))
        clean, errors = check_answers(form, posted.answers, locale=locale)
        mine = [e.as_dict() for e in errors if e.field in posted.answers]
        values = {k: v for k, v in clean.items() if k in posted.answers}
        return Answer({"valid": not mine, "errors": mine, "values": values})

    async def submit(self, request: Request) -> Response:
        return await submissions.submit(self, request)

    async def openapi(self, request: Request) -> Response:
        # Made once per mount prefix: the forms never change in an app's
        # life, and with a thousand forms making it took a third of a second.
        prefix = self.path(request, "")
        body = self._openapi.get(prefix)
        if body is None:
            made = bytes(JSONResponse(openapi_document(self.forms.values(), prefix)).body)
            if len(self._openapi) < 8:  # an app is mounted at one or two places
                self._openapi[prefix] = made
            body = made
        return Response(body, media_type="application/json")


def create_app(
    forms: Iterable[Form],
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    background: Sequence[Background] = (),
    faqs: Iterable[Faq] = (),
) -> Starlette:
    """The service for ``forms`` as an ASGI app; mount it under any prefix.

    ``store`` defaults to the one ``settings.store`` names; the app opens it
    on startup and closes it on shutdown. Each of ``background`` runs for
    the app's lifespan; ``faqs`` (:func:`intakeforms.load_faqs`) are searched
    at ``/faq/search`` and offered before the forms. ``intakeforms serve`` passes
    :func:`intakeforms.delivery.deliver_in_process`, the outbox worker with
    the hourly retention. Without it, run ``intakeforms worker`` beside the app.
    """
    settings = settings or Settings()
    forms = list(forms)
    service = Service(forms, settings, store or open_store(settings.store), faqs)
    # -- metrics: off (nothing counted, no route) unless INTAKE_METRICS is set --
    plan = metrics_plan(settings.metrics)
    metrics = None if plan is None else Metrics(service.forms)
    if metrics is not None:
        metrics.watch(service.store, service.ready)
        service.metrics = metrics
    # -- end metrics --

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.ready()
        if settings.upload_dir.is_dir():  # tighten a too-wide one now, not at the first upload
            private_folder(settings.upload_dir)
        stop = anyio.Event()
        try:
            async with anyio.create_task_group() as group:
                if metrics is not None and plan is not None:  # on a port of its own, if so
                    await group.start(serve_metrics, metrics, plan, stop)
                for task in background:
                    group.start_soon(task, service.store, service.forms, settings, metrics, stop)
                try:
                    yield
                finally:
                    stop.set()
        finally:
            await service.shut()

    routes = [
        Route("/", service.home, methods=["GET"]),
        Route("/forms", service.list_forms, methods=["GET"]),
        Route("/forms/{form}", service.form_page, methods=["GET"]),
        Route("/forms/{form}/schema.json", service.schema, methods=["GET"]),
        Route("/forms/{form}/spec.json", service.spec, methods=["GET"]),
        Route("/forms/{form}/submissions", service.submit, methods=["POST"]),
        Route("/forms/{form}/validate", service.validate, methods=["POST"]),
        Route("/forms/{form}/drafts", service.resume.save_draft, methods=["POST"]),
        Route("/status/{reference}", service.resume.status, methods=["GET"]),
        Route("/faq/search", service.faq.search, methods=["GET"]),
        Route("/faq/feedback", service.faq.feedback, methods=["POST"]),
        Route("/faq/{faq}/{entry}", service.faq.answer, methods=["GET"]),
        Route("/events", service.events.post, methods=["POST"]),
        Route("/healthz", service.healthz, methods=["GET"]),
        Route("/openapi.json", service.openapi, methods=["GET"]),
        *service.admin.routes(),
        Route("/widget.js", serve_widget, methods=["GET"]),
        Route("/widget.css", serve_widget, methods=["GET"]),
        Route("/widget-faq.js", serve_widget, methods=["GET"]),
        Route("/favicon.ico", look.favicon, methods=["GET"]),
        Route("/forms/{form}/theme.css", look.theme_css(service.forms), methods=["GET"]),
        Mount("/assets", StaticFiles(directory=ASSETS_DIR), name="assets"),
    ]
    if service.gate.any_origin:
        logger.warning(
            "INTAKE_ALLOWED_ORIGINS=*: any web site may embed these forms and post to them; "
            "the rate limit and the time-trap are then the only defences"
        )
    middleware = [
        Middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "idempotency-key", "accept-language"],
            max_age=600,
        ),
    ]
    # POST /events before the routes, inside the same middleware (web/events.py).
    middleware.insert(0, Middleware(EventPath, endpoint=service.events, around=middleware[:]))
    if metrics is not None:  # metrics: counted first, served here or on a port of its own
        middleware.insert(0, Middleware(CountResponses, metrics=metrics))
        if plan is not None and plan.on_service_port:
            routes.append(metrics_route(metrics))
    if settings.trust_proxy:
        # Outermost: every other part sees the request as the customer made
        # it. The counting too: the rewrite is a copy of the request, and the
        # route the router finds is noted on that copy, which is the label.
        middleware.insert(0, Middleware(ForwardedHeaders, hops=settings.proxy_hops))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.service = service
    return app
