"""``POST /forms/{form}/submissions``: the one route that stores a contact.

The web decides what it alone knows (the page's spam checks, uploads, and
the FAQ answers the customer saw) and hands the validated answers to
:func:`intakeforms.intake.submit`. A contact sent with "Talk to a person"
(``_incomplete``) keeps what was answered so far and lists what is missing,
once it has a way to reach the customer.

A submission that carries its visit's id (``_visit``, with ``_channel``)
records the visit's events for the statistics itself: ``submit`` once it is
stored, or an ``error`` for each question a refusal (422) names, with its
code; the hosted page cannot read those codes from the page it gets back.
The id is never an answer: it is neither stored with the submission nor
mailed.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from intakeforms.errors import FieldError, InvalidAnswers, StoreUnavailable
from intakeforms.form import Form
from intakeforms.i18n import N_, gettext_for
from intakeforms.intake import submit as store_submission
from intakeforms.render import render_thanks_page
from intakeforms.store import EventRecord, StoredFile, UnstorableSubmission
from intakeforms.validate import MESSAGES, check_partial
from intakeforms.web import bodies
from intakeforms.web.bodies import BadBody, Posted, read_posted
from intakeforms.web.continuity import apply_link, draft_id, reopened
from intakeforms.web.faq import handover
from intakeforms.web.gate import RATE_LIMITED, client_address
from intakeforms.web.look import page_policy, stylesheets
from intakeforms.web.responses import Answer
from intakeforms.web.responses import errors as _errors
from intakeforms.web.uploads import discard, keep, spool_folder

if TYPE_CHECKING:
    from intakeforms.web.app import Service

__all__ = ["SERVICE_MESSAGES", "submit", "thanks_address"]

logger = logging.getLogger("intakeforms.web")

#: Messages of the service itself, in the customer's language.
SERVICE_MESSAGES = {
    "unavailable": N_("The service cannot take submissions right now. Please try again soon."),
    "rate_limited": RATE_LIMITED,
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _used(
    service: Service, request: Request, form: Form, locale: str, posted: Posted, first: str
) -> Response:
    """A single-use link sent a second time: the first reference, nothing stored."""
    if posted.browser and "application/json" not in request.headers.get("accept", ""):
        return service.resume.problem_page(request, form, locale, "used", reference=first)
    message = "this single-use link was used already; the first submission's reference is given"
    body = {"errors": [{"field": "", "code": "link_used", "message": message}], "reference": first}
    return Answer(body, status_code=409)


def _note_visit(
    service: Service, form: Form, posted: Posted, errors: Sequence[FieldError] = ()
) -> None:
    """Record for the visit that sent ``posted`` its ``submit``, or with
    ``errors`` (a refusal) an ``error`` for each question they name, with its
    code. Nothing without a valid ``_visit``; the event buffer writes them
    in its next batch, so the answer never waits for them."""
    session = posted.visit
    if session is None:
        return
    at = _now()
    if not errors:
        events = [EventRecord(session, form.id, posted.channel, "submit", None, None, at)]
    else:
        # Only what POST /events would take: a question of the form, a known code.
        events = [
            EventRecord(session, form.id, posted.channel, "error", e.field, e.code, at)
            for e in errors
            if e.field in form.fields and e.code in MESSAGES
        ]
    if events:
        service.event_buffer.add(events)


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


async def submit(service: Service, request: Request) -> Response:
    """``POST /forms/{form}/submissions``: validate, store, answer 201 with the reference."""
    form = service.form(request)
    if form is None:
        return _errors(404, "unknown_form", "there is no such form")
    locale = service.locale(request, form)
    refused = await service.gate.check(request, form.id, locale, "submit")
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
    spool = spool_folder(service.settings.upload_dir) if _has_files(form) else None
    try:
        return await _submit(service, request, form, locale, client, spool, header_key)
    finally:
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)


async def _submit(
    service: Service,
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
            max_body=service.settings.max_body_bytes,
            max_plain=service.settings.max_json_bytes,
            spool=spool,
        )
    except BadBody as exc:
        return _errors(exc.status, exc.code, str(exc))
    errors: list[FieldError] = []
    if not posted.browser:
        errors.extend(_json_files(form, posted, locale))
    context: dict[str, Any] = {}
    # A link's locked answers are the signed ones, whatever was posted.
    posted.answers, given, jti = apply_link(posted.link, form, posted.answers, service.settings)
    if given is not None:
        context["link"] = given
    if jti is not None:
        await service.ready()
        first = await service.store.link_use(jti)
        if first is not None:
            return _used(service, request, form, locale, posted, first)
    if posted.incomplete:
        clean, missing, refused = check_partial(form, posted.answers, locale)
        errors.extend(refused)
        context["incomplete"] = {"missing": missing}
    else:
        try:
            clean = form.validate(posted.answers, locale=locale)
        except InvalidAnswers as exc:
            errors = [*errors, *exc.errors]
    if errors:
        _note_visit(service, form, posted, errors)
        if posted.browser and "application/json" not in request.headers.get("accept", ""):
            return service.page(
                request,
                form,
                locale,
                values=bodies.kept_values(posted),
                errors=errors,
                status=422,
                submission_key=posted.submission_key,
                token=service.judge.original(form.id, posted.token),
                faq_search=posted.faq_search,
                opened=reopened(posted.link, posted.draft, form, service.settings),
                visit=posted.visit,
            )
        return Answer({"errors": [e.as_dict() for e in errors]}, status_code=422)
    # Hidden questions the page answered (its address, the widget's
    # attributes), not a link: the agent email marks them so.
    linked = set(context.get("link", {}).get("given", ()))
    page = [
        n for n, f in form.fields.items() if f.type == "hidden" and n in clean and n not in linked
    ]
    if page:
        context["page"] = page
    verdict = service.judge.judge(
        form.id, token=posted.token, honeypot=posted.honeypot, browser=posted.browser
    )
    kept: list[Path] = []
    files = []
    # Spam keeps its files too, so that a release delivers it whole; the
    # spam retention (and ``spam delete``) removes them with it.
    for upload in posted.uploads:
        relative = keep(upload, service.settings.upload_dir)
        kept.append(service.settings.upload_dir / relative)
        files.append(
            StoredFile(
                field=upload.field,
                name=upload.name,
                content_type=upload.detected_type or "application/octet-stream",
                size=upload.size,
                path=relative,
            )
        )
    # A single-use link is its own idempotency key: two posts racing with it
    # store one submission, in the store's own transaction, and the other
    # learns the first reference.
    key = f"link:{jti}" if jti is not None else header_key or posted.submission_key
    try:
        await service.ready()
        shown = await handover(service.store, service.library, posted.faq_search, locale)
        if shown is not None:
            context["faq"] = shown
        result = await store_submission(
            service.store,
            form,
            clean,
            channel="html" if posted.browser else "api",
            locale=locale,
            files=files,
            spam_reason=verdict.reason if verdict.spam else None,
            idempotency_key=key,
            client=client,
            context=context or None,
            secret=service.settings.secrets[0],
            draft=draft_id(posted.draft, form, service.settings),
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
    if jti is not None:
        if not result.created:
            discard(kept)
            return _used(service, request, form, locale, posted, result.reference)
        # From now on opening the link answers with this reference. Stored
        # already, the submission stands if this fails: a second post with the
        # link still gets the first reference (the link is its idempotency key).
        try:
            await service.store.record_link_use(jti, form.id, result.reference, _now())
        except StoreUnavailable:
            logger.warning("%s: %s stored; its link's use not recorded", form.id, result.reference)
    _note_visit(service, form, posted)
    if not result.created:
        discard(kept)
    elif service.metrics is not None:
        service.metrics.submitted(form.id, spam=verdict.spam)
    if posted.browser and "application/json" not in request.headers.get("accept", ""):
        return _thanks(service, request, form, locale, result.reference)
    return Answer({"reference": result.reference}, status_code=201)


def thanks_address(url: str, reference: str) -> str:
    """``thanks.url`` with ``reference=`` added to its query (kept, if it has one)."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("reference", reference)])
    return urlunsplit(parts._replace(query=query))


def _thanks(
    service: Service, request: Request, form: Form, locale: str, reference: str
) -> Response:
    """The browser's answer to a stored form: 303 to the form's own thanks
    page (``thanks.url?reference=…``), else the service's thanks page."""
    spec = form.spec(locale)
    url = (spec.get("thanks") or {}).get("url")
    if url:
        return RedirectResponse(
            thanks_address(str(url), reference),
            status_code=303,
            headers={"cache-control": "no-store"},
        )
    html = render_thanks_page(
        spec,
        reference=reference,
        back=service.path(request, f"/forms/{form.id}?lang={locale}"),
        languages=service.languages(request, form, service.path(request, f"/forms/{form.id}")),
        assets=service.path(request, "/assets"),
        stylesheets=stylesheets(request, form, service.settings),
    )
    headers = {"cache-control": "no-store", **page_policy(form, service.settings)}
    return HTMLResponse(html, status_code=201, headers=headers)
