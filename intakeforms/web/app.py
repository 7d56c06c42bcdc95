"""``create_app``: the whole service as one Starlette app, mountable anywhere.

Routes follow DESIGN's HTTP table. A submission is acknowledged (201) only
after the store has written it with its outbox rows; when the store cannot
write, the answer is 503 and nothing is claimed.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from intakeforms.errors import FieldError, InvalidAnswers, StoreUnavailable
from intakeforms.form import Form
from intakeforms.i18n import N_, gettext_for, negotiate
from intakeforms.intake import submit
from intakeforms.metrics import Metrics, metrics_plan, serve_metrics
from intakeforms.render import ASSETS_DIR, render_form_page, render_home_page, render_thanks_page
from intakeforms.settings import Settings
from intakeforms.store import Store, StoredFile, UnstorableSubmission, open_store
from intakeforms.validate import MESSAGES, check_answers
from intakeforms.web import bodies
from intakeforms.web.bodies import SUBMISSION_KEY, BadBody, Posted, read_posted
from intakeforms.web.gate import RATE_LIMITED, Gate, client_address
from intakeforms.web.headers import SecurityHeaders
from intakeforms.web.metrics import CountResponses, metrics_route
from intakeforms.web.openapi import openapi_document
from intakeforms.web.proxy import ForwardedHeaders
from intakeforms.web.responses import Answer
from intakeforms.web.responses import errors as _errors
from intakeforms.web.spam import HONEYPOT, TOKEN, SpamJudge
from intakeforms.web.uploads import discard, keep, private_folder, spool_folder
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

_LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


class Service:
    """The state behind the routes: forms, settings, store, defences."""

    def __init__(self, forms: Iterable[Form], settings: Settings, store: Store) -> None:
        self.forms = {form.id: form for form in forms}
        self.settings = settings
        self.store = store
        self.judge = SpamJudge(
            settings.secret,
            min_seconds=settings.min_fill_seconds,
            max_age_seconds=settings.token_max_age_seconds,
            require_token=settings.require_token,
        )
        self.gate = Gate(settings, store)
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
        """Close the store if it was opened."""
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
        return f"{request.scope.get('root_path', '')}{suffix}"

    def languages(self, request: Request, form: Form, page: str) -> list[tuple[str, str, str]]:
        return [
            (code, _LANGUAGE_NAMES.get(code, code), f"{page}?lang={code}") for code in form.locales
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
    ) -> HTMLResponse:
        """The HTML form. ``token`` is the time-trap token the page was first
        issued with, kept on an error page: the customer's time is counted
        from the first page, not from the correction."""
        page = self.path(request, f"/forms/{form.id}")
        html = render_form_page(
            form.spec(locale),
            action=f"{page}/submissions?lang={locale}",
            values=values or {},
            errors=errors or [],
            hidden={
                TOKEN: token or self.judge.issue(form.id),
                SUBMISSION_KEY: submission_key or uuid.uuid4().hex,
            },
            honeypot=HONEYPOT,
            languages=self.languages(request, form, page),
            assets=self.path(request, "/assets"),
        )
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

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
                (code, _LANGUAGE_NAMES.get(code, code), f"{home}?lang={code}") for code in available
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
        return self.page(request, form, self.locale(request, form))

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
        form = self.form(request)
        if form is None:
            return _errors(404, "unknown_form", "there is no such form")
        locale = self.locale(request, form)
        refused = await self.gate.check(request, form.id, locale, "submit")
        if refused is not None:
            return refused
        try:
            # Checked before the body is read: a key that is refused costs nothing.
            header_key = bodies.idempotency_key(
                request.headers.get("idempotency-key"), "the Idempotency-Key header"
            )
        except BadBody as exc:
            return _errors(exc.status, exc.code, str(exc))
        client = client_address(request)
        spool = spool_folder(self.settings.upload_dir) if _has_files(form) else None
        try:
            return await self._submit(request, form, locale, client, spool, header_key)
        finally:
            if spool is not None:
                shutil.rmtree(spool, ignore_errors=True)

    async def _submit(
        self,
        request: Request,
        form: Form,
        locale: str,
        client: str,
        spool: Path | None,
        header_key: str | None,
    ) -> Response:
        try:
            posted = await read_posted(
                request,
                form,
                max_body=self.settings.max_body_bytes,
                max_plain=self.settings.max_json_bytes,
                spool=spool,
            )
        except BadBody as exc:
            return _errors(exc.status, exc.code, str(exc))
        errors: list[FieldError] = []
        if not posted.browser:
            errors.extend(_json_files(form, posted, locale))
        try:
            clean = form.validate(posted.answers, locale=locale)
        except InvalidAnswers as exc:
            errors = [*errors, *exc.errors]
        if errors:
            if posted.browser and "application/json" not in request.headers.get("accept", ""):
                return self.page(
                    request,
                    form,
                    locale,
                    values=bodies.kept_values(posted),
                    errors=errors,
                    status=422,
                    submission_key=posted.submission_key,
                    token=self.judge.original(form.id, posted.token),
                )
            return Answer({"errors": [e.as_dict() for e in errors]}, status_code=422)
        verdict = self.judge.judge(
            form.id, token=posted.token, honeypot=posted.honeypot, browser=posted.browser
        )
        kept: list[Path] = []
        files = []
        # Spam keeps its files too, so that a release delivers it whole; the
        # spam retention (and ``spam delete``) removes them with it.
        for upload in posted.uploads:
            relative = keep(upload, self.settings.upload_dir)
            kept.append(self.settings.upload_dir / relative)
            files.append(
                StoredFile(
                    field=upload.field,
                    name=upload.name,
                    content_type=upload.detected_type or "application/octet-stream",
                    size=upload.size,
                    path=relative,
                )
            )
        key = header_key or posted.submission_key
        try:
            await self.ready()
            result = await submit(
                self.store,
                form,
                clean,
                channel="html" if posted.browser else "api",
                locale=locale,
                files=files,
                spam_reason=verdict.reason if verdict.spam else None,
                idempotency_key=key,
                client=client,
            )
        except StoreUnavailable:
            discard(kept)
            message = gettext_for(SERVICE_MESSAGES["unavailable"], locale)
            return _errors(503, "unavailable", message, **{"retry-after": "30"})
        except UnstorableSubmission as exc:
            # The store's own guard behind validation: this submission alone, so 422.
            discard(kept)
            logger.warning("%s: not stored (%s, field %r)", form.id, exc.code, exc.field)
            return _errors(
                422, "invalid_text", gettext_for(MESSAGES["invalid_text"], locale), exc.field
            )
        if not result.created:
            discard(kept)
        elif self.metrics is not None:
            self.metrics.submitted(form.id, spam=verdict.spam)
        if posted.browser and "application/json" not in request.headers.get("accept", ""):
            html = render_thanks_page(
                form.spec(locale),
                reference=result.reference,
                back=self.path(request, f"/forms/{form.id}?lang={locale}"),
                languages=self.languages(request, form, self.path(request, f"/forms/{form.id}")),
                assets=self.path(request, "/assets"),
            )
            return HTMLResponse(html, status_code=201, headers={"cache-control": "no-store"})
        return Answer({"reference": result.reference}, status_code=201)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.forms.values(), self.path(request, "")))


#: Messages of the service itself, in the customer's language.
SERVICE_MESSAGES = {
    "unavailable": N_("The service cannot take submissions right now. Please try again soon."),
    "rate_limited": RATE_LIMITED,
}


def _has_files(form: Form) -> bool:
    return any(f.type == "file" for f in form.fields.values())


def _json_files(form: Form, posted: Posted, locale: str) -> list[FieldError]:
    """Files come only as multipart uploads; a JSON body cannot claim one."""
    errors = []
    for name, field in form.fields.items():
        if field.type == "file" and posted.answers.get(name) not in (None, "", []):
            posted.answers.pop(name)
            errors.append(
                FieldError(name, "invalid_file", gettext_for(MESSAGES["invalid_file"], locale))
            )
    return errors


def create_app(
    forms: Iterable[Form],
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    background: Sequence[Background] = (),
) -> Starlette:
    """The service for ``forms`` as an ASGI app; mount it under any prefix.

    ``store`` defaults to the one ``settings.store`` names; the app opens it
    on startup and closes it on shutdown. Each of ``background`` runs for
    the app's lifespan; ``intakeforms serve`` passes
    :func:`intakeforms.delivery.deliver_in_process`, the outbox worker with
    the hourly retention. Without it, run ``intakeforms worker`` beside the app.
    """
    settings = settings or Settings()
    forms = list(forms)
    service = Service(forms, settings, store or open_store(settings.store))
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
        Route("/healthz", service.healthz, methods=["GET"]),
        Route("/openapi.json", service.openapi, methods=["GET"]),
        Route("/widget.js", serve_widget, methods=["GET"]),
        Route("/widget.css", serve_widget, methods=["GET"]),
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
    if settings.trust_proxy:
        # Outermost: every other part sees the request as the customer made it.
        middleware.insert(0, Middleware(ForwardedHeaders, hops=settings.proxy_hops))
    if metrics is not None:  # metrics: counted first, served here or on a port of its own
        middleware.insert(0, Middleware(CountResponses, metrics=metrics))
        if plan is not None and plan.on_service_port:
            routes.append(metrics_route(metrics))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.service = service
    return app
