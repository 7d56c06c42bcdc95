"""Self-service over HTTP: search the FAQ, show one answer, count what helped.

``GET /faq/search`` answers in the time of an in-process search plus one
store write (the search is recorded so that feedback and the handover to
an agent can name it); ``POST /faq/feedback`` records what the customer did
with the answers. Nothing about the client is recorded: no address, no user
agent; the query text is cut at :data:`MAX_QUERY` characters and the store
blanks it after 30 days. A store that cannot write never costs the customer
the answers: the search is answered and the failure logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from intakeforms.errors import StoreUnavailable
from intakeforms.faq.library import FaqLibrary
from intakeforms.form import Form
from intakeforms.i18n import negotiate
from intakeforms.render_faq import render_answer_page
from intakeforms.store import FaqSearchRecord, Store
from intakeforms.web.bodies import BadBody, read_json
from intakeforms.web.gate import Gate
from intakeforms.web.responses import LANGUAGE_NAMES, Answer, errors, mounted

__all__ = ["CHANNELS", "EVENTS", "MAX_LIMIT", "MAX_QUERY", "FaqEndpoints", "handover"]

logger = logging.getLogger("intakeforms.web")

#: The longest query searched (and recorded); longer ones are cut, not refused.
MAX_QUERY = 200
#: The most results one search returns.
MAX_LIMIT = 10
#: Where a search was made, as the widgets and the hosted form say.
CHANNELS = frozenset({"chat", "form", "inline", "api"})
#: What a customer did with an answer.
EVENTS = frozenset({"opened", "helpful", "not_helpful", "continued"})
#: Feedback is a few ids; a body larger than this is not feedback.
_MAX_FEEDBACK = 2048


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FaqEndpoints:
    """The routes under ``/faq``, over one :class:`FaqLibrary`."""

    def __init__(
        self,
        library: FaqLibrary,
        forms: Mapping[str, Form],
        store: Store,
        ready: Callable[[], Awaitable[None]],
        gate: Gate,
    ) -> None:
        self.library = library
        self.forms = forms
        self.store = store
        self.ready = ready
        self.gate = gate

    def search_url(self, request: Request, form: str) -> str | None:
        """Where the widgets search before ``form``; None when no entry is offered there."""
        if not self.library.offered_before(form):
            return None
        return mounted(request, f"/faq/search?form={form}")

    async def search(self, request: Request) -> Response:
        """``GET /faq/search?q=&lang=&form=&limit=5&channel=``."""
        params = request.query_params
        language = self.library.language(params.get("lang"), request.headers.get("accept-language"))
        form = params.get("form") or None
        if form is not None and form not in self.forms:
            return errors(404, "unknown_form", "there is no such form", "form")
        refused = await self.gate.check(request, form or "", language, "faq")
        if refused is not None:
            return refused
        try:
            limit = int(params.get("limit", "5"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            return errors(
                400, "invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}", "limit"
            )
        channel = params.get("channel", "api")
        channel = channel if channel in CHANNELS else "api"
        query = params.get("q", "")[:MAX_QUERY]
        results = self.library.search(query, language, form=form, limit=limit)
        body: dict[str, Any] = {"search": None, "lang": language, "results": []}
        for result in results:
            body["results"].append(
                {
                    "faq": result.faq,
                    "id": result.id,
                    "question": result.question,
                    "answer_html": _links_here(request, result.answer_html),
                    "score": result.score,
                    "url": mounted(request, f"/faq/{result.faq}/{result.id}?lang={language}"),
                }
            )
        if form is None and len(self.forms) > 1:
            body["topics"] = [
                {
                    "form": topic.form,
                    "title": self.forms[topic.form].title(language),
                    "score": round(topic.score, 3),
                }
                for topic in self.library.topics(query, language)
            ]
        if query.strip():
            body["search"] = await self._record(query, language, form, channel, results)
        return Answer(body, headers={"cache-control": "no-store"})

    async def _record(
        self, query: str, language: str, form: str | None, channel: str, results: list[Any]
    ) -> str:
        record = FaqSearchRecord(
            id=uuid.uuid4().hex,
            language=language,
            form=form,
            channel=channel,
            query=query,
            results=tuple((r.faq, r.id) for r in results),
            top_score=results[0].score if results else None,
            at=_now(),
        )
        try:
            await self.ready()
            await self.store.save_faq_search(record)
        except StoreUnavailable as exc:
            # The customer still gets the answers; the count misses one search.
            logger.warning("FAQ search %s not recorded: %s", record.id, exc)
        return record.id

    async def answer(self, request: Request) -> Response:
        """``GET /faq/{faq}/{entry}?lang=``: one answer as a page."""
        found = self.library.entry(request.path_params["faq"], request.path_params["entry"])
        if found is None:
            return errors(404, "unknown_entry", "there is no such answer")
        faq, entry = found
        locale = negotiate(
            faq.locales, request.query_params.get("lang"), request.headers.get("accept-language")
        )
        page = mounted(request, f"/faq/{faq.id}/{entry.id}")
        forms = [f for f in entry.forms if f in self.forms]
        contact = f"/forms/{forms[0]}" if len(forms) == 1 else "/"
        html = render_answer_page(
            question=faq.text(entry.question, locale),
            answer_html=_links_here(request, self.library.answer(faq, entry, locale)),
            locale=locale,
            contact=mounted(request, f"{contact}?lang={locale}"),
            languages=[
                (code, LANGUAGE_NAMES.get(code, code), f"{page}?lang={code}")
                for code in faq.locales
            ],
            assets=mounted(request, "/assets"),
        )
        return HTMLResponse(html)

    async def feedback(self, request: Request) -> Response:
        """``POST /faq/feedback {"search", "entry", "event"}`` → 204."""
        language = self.library.language(None, request.headers.get("accept-language"))
        refused = await self.gate.check(request, "", language, "faq")
        if refused is not None:
            return refused
        try:
            data = await read_json(request, _MAX_FEEDBACK, "the feedback")
        except BadBody as exc:
            return errors(exc.status, exc.code, str(exc))
        if not isinstance(data, dict):
            return errors(400, "not_object", 'send {"search", "entry", "event"}')
        search, entry, event = data.get("search"), data.get("entry"), data.get("event")
        if not isinstance(event, str) or event not in EVENTS:
            return errors(
                422, "invalid_event", f"event must be one of {', '.join(sorted(EVENTS))}", "event"
            )
        if not isinstance(search, str) or not search or len(search) > 64:
            return errors(422, "unknown_search", "search must be the id /faq/search gave", "search")
        if entry is not None and not isinstance(entry, str):
            return errors(422, "unknown_entry", "entry must be a result's id", "entry")
        if entry is None and event != "continued":
            return errors(422, "unknown_entry", f"{event} needs the entry's id", "entry")
        try:
            await self.ready()
            record = await self.store.faq_search(search)
            if record is None:
                return errors(404, "unknown_search", "there is no such search", "search")
            if entry is not None and entry not in {found for _, found in record.results}:
                return errors(422, "unknown_entry", "that entry was not among the results", "entry")
            await self.store.save_faq_event(search, entry, str(event), _now())
        except StoreUnavailable as exc:
            logger.warning("FAQ feedback for %s not recorded: %s", search, exc)
            return errors(503, "unavailable", "feedback cannot be recorded right now")
        return Response(status_code=204)


def _links_here(request: Request, html: str) -> str:
    """Site-relative links of an answer (``[book](/forms/car-service)``) made
    absolute to this service: an answer shown in a widget on another site, or
    by a service mounted under a prefix, must still lead here."""
    # request.base_url leaves out the prefix of a mounted app: root_path has it.
    base = f"{request.url.scheme}://{request.url.netloc}{mounted(request, '')}"
    return html.replace('href="/', f'href="{base}/')


async def handover(
    store: Store, library: FaqLibrary, search: str | None, locale: str
) -> dict[str, Any] | None:
    """The ``faq`` part of a submission's context: the answers that search
    showed, by their questions in ``locale``; None when there were none.

    A search the store does not know (mistyped, or from a store that has
    since forgotten it) adds nothing: the submission is stored all the same.
    """
    if not search or len(search) > 64:
        return None
    try:
        record = await store.faq_search(search)
    except StoreUnavailable:
        return None  # the submission itself will say whether the store works
    if record is None or not record.results:
        return None
    shown = []
    for faq_id, entry_id in record.results:
        found = library.entry(faq_id, entry_id)
        if found is not None:
            faq, entry = found
            question = faq.text(entry.question, locale)
            shown.append({"faq": faq_id, "entry": entry_id, "question": question})
    return {"search": search, "shown": shown} if shown else None
