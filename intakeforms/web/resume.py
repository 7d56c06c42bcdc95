"""Pages and routes of continuity: a link that cannot open the form, "continue
by email later" (``POST /forms/{form}/drafts``), and the status page a
customer's confirmation links to (``GET /status/{reference}?t=``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from intakeforms.errors import LinkDamaged, StoreUnavailable
from intakeforms.fields import FieldProblem
from intakeforms.fields.files import FILE
from intakeforms.fields.text import check_email
from intakeforms.form import Form
from intakeforms.i18n import N_, gettext_for, negotiate
from intakeforms.links import read_status_token
from intakeforms.present.values import submitted
from intakeforms.render_message import Table, render_message_page
from intakeforms.settings import Settings
from intakeforms.store import DraftRecord, Store
from intakeforms.validate import MESSAGES
from intakeforms.web.bodies import BadBody, read_json
from intakeforms.web.continuity import draft_expiry, new_draft_id
from intakeforms.web.gate import Gate
from intakeforms.web.limits import SharedRateLimiter
from intakeforms.web.responses import Answer, errors, mounted

__all__ = ["RESUME_TEXTS", "Resume", "drafts_on"]

logger = logging.getLogger("intakeforms.web")

#: The words of these pages, in the customer's language.
RESUME_TEXTS = {
    "damaged_title": N_("This link is damaged"),
    "damaged": N_(
        "The link you followed is damaged or incomplete, so it cannot fill in the form. "
        "You can fill in the form without it."
    ),
    "empty_form": N_("Open the empty form"),
    "used_title": N_("This link has already been used"),
    "used": N_("The message sent with this link was received with the reference {reference}."),
    "expired": N_("The link you followed has expired, so the form below is empty."),
    "draft_expired": N_("The saved answers are no longer kept, so the form below is empty."),
    "status_title": N_("Your message {reference}"),
    "received": N_("Received"),
    "passed": N_("Passed to our team"),
    "waiting": N_("Waiting to be passed to our team"),
    "erased": N_("The answers of this message have been erased."),
    "earlier": N_("Your earlier messages"),
    "reference": N_("Reference"),
    "topic": N_("Topic"),
    "date": N_("Sent"),
    "status_damaged": N_("This status link is damaged. Use the link in your confirmation email."),
}

#: At most this many drafts an hour for one email address, whoever asks.
_DRAFTS_PER_ADDRESS = 5
_MAX_DRAFT_BYTES = 64 * 1024


def drafts_on(settings: Settings) -> bool:
    """Whether drafts can be mailed: a public address for the link, and a
    secret set (a made-up one would die with the process, and the link with it)."""
    return bool(settings.public_url) and not settings.secret_is_random


def _text(key: str, locale: str, **values: str) -> str:
    text = gettext_for(RESUME_TEXTS[key], locale)
    return text.format(**values) if values else text


class Resume:
    """Continuity's own pages and routes."""

    def __init__(
        self,
        forms: Mapping[str, Form],
        settings: Settings,
        store: Store,
        ready: Callable[[], Awaitable[None]],
        gate: Gate,
    ) -> None:
        self.forms = forms
        self.settings = settings
        self.store = store
        self.ready = ready
        self.gate = gate
        # Counted in the store: every process and instance of the service
        # counts one address together (the address kept only as an HMAC).
        self.per_address = SharedRateLimiter(store, _DRAFTS_PER_ADDRESS, 3600.0, settings.secret)

    @staticmethod
    def notice(problem: str | None, locale: str) -> str | None:
        """What to say above a form a link could not fill (expired ones)."""
        if problem in ("expired", "draft_expired"):
            return _text(problem, locale)
        return None

    def problem_page(
        self, request: Request, form: Form, locale: str, problem: str, **kw: str
    ) -> Response:
        """The page for a link that cannot open the form (``damaged``, ``used``)."""
        empty = mounted(request, f"/forms/{form.id}?lang={locale}")
        if problem == "used":
            title, text, status = _text("used_title", locale), _text("used", locale, **kw), 200
        else:
            title, text, status = _text("damaged_title", locale), _text("damaged", locale), 400
        html = render_message_page(
            title=title,
            paragraphs=[text],
            locale=locale,
            link=empty,
            link_text=_text("empty_form", locale),
            assets=mounted(request, "/assets"),
        )
        return HTMLResponse(
            html,
            status_code=status,
            headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
        )

    async def save_draft(self, request: Request) -> Response:
        """``POST /forms/{form}/drafts {"data", "email"}`` → 202 ``{"expires_at"}``."""
        form = self.forms.get(request.path_params["form"])
        if form is None:
            return errors(404, "unknown_form", "there is no such form")
        locale = negotiate(
            form.locales, request.query_params.get("lang"), request.headers.get("accept-language")
        )
        refused = await self.gate.check(request, form.id, locale, "submit")
        if refused is not None:
            return refused
        if not drafts_on(self.settings):
            # Not offered here (the pages show no button): as if the route
            # were not there, not a failing service.
            return errors(
                404,
                "drafts_off",
                "continue later is not set up here: the service needs INTAKE_PUBLIC_URL "
                "and INTAKE_SECRET to mail links that work",
            )
        try:
            posted = await read_json(request, _MAX_DRAFT_BYTES, "the draft")
        except BadBody as exc:
            return errors(exc.status, exc.code, str(exc))
        if not isinstance(posted, dict) or not isinstance(posted.get("data", {}), dict):
            return errors(400, "not_object", 'send {"data": {answers}, "email": "address"}')
        try:
            checked = check_email(posted.get("email"))
        except FieldProblem:
            message = gettext_for(MESSAGES["invalid_email"], locale)
            return errors(422, "invalid_email", message, "email")
        try:
            await self.ready()
        except StoreUnavailable:
            return errors(
                503, "unavailable", "drafts cannot be saved right now", **{"retry-after": "30"}
            )
        if await self.per_address.take(f"draft|{checked.casefold()}"):
            return errors(429, "rate_limited", "too many drafts for this address; try again later")
        # What a draft link could show again: not a file, and not a sensitive
        # answer, which whoever has the link would see (the page never
        # prefills one), so it is not kept either.
        fields = form.fields
        data = {
            name: value
            for name, value in posted.get("data", {}).items()
            if name in fields and fields[name].type != FILE.name and not fields[name].sensitive
        }
        now = dt.datetime.now(dt.UTC)
        record = DraftRecord(
            id=new_draft_id(),
            form=form.id,
            locale=locale,
            data=data,
            email=checked,
            created_at=now,
            expires_at=draft_expiry(now),
        )
        try:
            await self.store.save_draft(record)
        except StoreUnavailable:
            return errors(
                503, "unavailable", "drafts cannot be saved right now", **{"retry-after": "30"}
            )
        except ValueError:
            return errors(422, "invalid_text", "the answers cannot be kept as they are", "data")
        logger.info("%s: draft %s saved", form.id, record.id)
        return Answer({"expires_at": record.expires_at.isoformat()}, status_code=202)

    async def status(self, request: Request) -> Response:
        """``GET /status/{reference}?t=``: what became of a contact, and the
        customer's earlier contacts; nothing of anyone else."""
        reference = request.path_params["reference"]
        locale = negotiate(
            ["fi", "sv", "en"],
            request.query_params.get("lang"),
            request.headers.get("accept-language"),
        )
        headers = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
        try:
            read_status_token(
                request.query_params.get("t", ""), reference, secrets=self.settings.secrets
            )
        except (LinkDamaged, ValueError):
            html = render_message_page(
                title=_text("damaged_title", locale),
                paragraphs=[_text("status_damaged", locale)],
                locale=locale,
                assets=mounted(request, "/assets"),
            )
            return HTMLResponse(html, status_code=400, headers=headers)
        await self.ready()
        found = await self.store.get(reference)
        if found is None:
            return errors(404, "unknown_reference", "there is no such contact")
        form = self.forms.get(found.form)
        locale = negotiate(
            [found.locale, *(form.locales if form else [])], request.query_params.get("lang")
        )
        jobs = await self.store.outbox(reference)
        team = [j for j in jobs if j.target != "autoreply"]
        delivered = [j.delivered_at for j in team if j.status == "delivered" and j.delivered_at]
        rows = [[_text("received", locale), submitted(found.submitted_at, locale)]]
        if team and len(delivered) == len(team):
            rows.append([_text("passed", locale), submitted(max(delivered), locale)])
        elif team:
            rows.append([_text("waiting", locale), ""])
        paragraphs = [_text("erased", locale)] if found.erased else []
        tables = [Table("", rows)]
        earlier = await self._earlier(reference, locale)
        if earlier is not None:
            tables.append(earlier)
        html = render_message_page(
            title=_text("status_title", locale, reference=reference),
            paragraphs=paragraphs,
            locale=locale,
            tables=tables,
            assets=mounted(request, "/assets"),
        )
        return HTMLResponse(html, headers=headers)

    async def _earlier(self, reference: str, locale: str) -> Table | None:
        keys = await self.store.contact_keys_of(reference)
        if not keys:
            return None
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=self.settings.history_days)
        found = await self.store.earlier_contacts(keys, before_reference=reference, since=since)
        if not found:
            return None
        rows = []
        for contact in found:
            form = self.forms.get(contact.form)
            title = form.title(locale) if form else contact.form
            rows.append([contact.reference, title, submitted(contact.submitted_at, locale)])
        head = [_text(key, locale) for key in ("reference", "topic", "date")]
        return Table(_text("earlier", locale), rows, head)
