"""The staff's inbox: find submissions, see one as the agent saw it, act on it.

``GET /admin/inbox?q=&form=&from=&to=&spam=`` lists submissions newest
first, a page at a time (``after=`` the cursor of the page before); ``q`` is
a reference or its beginning, or a day. ``GET /admin/export.csv`` with the
same filters downloads every one they find (:mod:`intakeforms.web.admin_csv`).
``GET /admin/submissions/{reference}`` shows one as the agent email shows it
(the same subject, notices and answer rows, in the agents' language), with
its deliveries. Its actions post the session's CSRF token:

- ``release``: quarantined spam accepted after all, its deliveries queued
  as if it had been accepted (``intakeforms spam release``);
- ``delete``: quarantined spam deleted for good with its files (spam only:
  an accepted submission is erased instead);
- ``erase``: an erasure request (``intakeforms erase``): answers and files
  gone, reference and dates kept.

Delete and erase need the "I am sure" box ticked. Each view, export and
action is written to the staff's action log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from intakeforms.form import Form
from intakeforms.intake import delivery_targets
from intakeforms.mail import agent_subject, answer_marks, context_notices
from intakeforms.present import answer_rows, intro, one_line, plain
from intakeforms.privacy import delete_spam, erase
from intakeforms.render_admin import (
    InboxRow,
    InboxView,
    SubmissionView,
    admin_texts,
    moment_text,
    render_inbox,
    render_submission,
)
from intakeforms.store import StoredSubmission
from intakeforms.store.inbox import InboxQuery, reference_search
from intakeforms.targets import email
from intakeforms.web.admin_csv import BOM, Columns, csv_lines
from intakeforms.web.admin_filters import BadFilter, described, inbox_query
from intakeforms.web.admin_login import read_small_form

if TYPE_CHECKING:
    from intakeforms.web.admin import Admin
    from intakeforms.web.admin_auth import Staff

__all__ = ["PAGE_SIZE", "InboxPages", "agent_locale"]

#: Submissions on one page of the inbox.
PAGE_SIZE = 50
#: Submissions read from the store at a time for an export.
_EXPORT_CHUNK = 500

_NO_STORE = {"cache-control": "no-store"}
_FILTERS = ("q", "form", "from", "to", "spam")


def agent_locale(form: Form) -> str:
    """The language of the form's agent email: its first email target's,
    else the form's default."""
    for index in email.indexes(form):
        locale: str | None = form.definition.deliver[index].config.locale
        return locale or form.default_locale
    return form.default_locale


class InboxPages:
    """The inbox, submission and export routes of :class:`Admin`."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    def query(self, values: Mapping[str, str]) -> InboxQuery:
        """The store's query for the filters staff gave; :class:`BadFilter`."""
        return inbox_query(values, self.admin.forms, PAGE_SIZE)

    @staticmethod
    def given(request: Request) -> dict[str, str]:
        return {name: request.query_params.get(name, "").strip() for name in _FILTERS}

    # -- the inbox -----------------------------------------------------------------

    async def listing(self, request: Request) -> Response:
        """``GET /admin/inbox``: a page of the submissions the filters find."""
        admin = self.admin
        staff = await admin.gate.page(request)
        if isinstance(staff, Response):
            return staff
        await admin.ready()
        texts = admin_texts(admin.locale(request))
        given = self.given(request)
        notice = None
        done, reference = request.query_params.get("done"), request.query_params.get("ref", "")
        if done == "deleted" and reference_search(reference) == reference:
            notice = texts["deleted"].format(reference=reference)
        try:
            query = self.query(given)
        except BadFilter as bad:
            said = texts[bad.key].format(**bad.values)
            return self.inbox_page(request, staff, given, [], problem=said, status=400)
        after = request.query_params.get("after")
        problem = None
        try:
            page = await admin.store.find_submissions(dataclasses.replace(query, after=after))
        except ValueError:  # a cursor from a hand-edited address
            problem = texts["bad_page"]
            page = await admin.store.find_submissions(query)
            after = None
        await admin.gate.log(staff, "inbox.view", query.form, described(query))
        locale = admin.locale(request)
        rows = [
            InboxRow(
                reference=entry.reference,
                href=admin.link(request, f"/admin/submissions/{entry.reference}"),
                form=self.title(entry.form, locale),
                submitted=moment_text(entry.submitted_at, locale),
                status=(
                    texts["erased"]
                    if entry.erased
                    else texts["spam"].format(reason=entry.spam_reason or "?")
                    if entry.spam
                    else texts["accepted"]
                ),
                spam=entry.spam,
            )
            for entry in page.entries
        ]
        more = (
            None
            if page.next is None
            else admin.link(request, "/admin/inbox", **given, after=page.next)
        )
        first = admin.link(request, "/admin/inbox", **given) if after else None
        return self.inbox_page(
            request, staff, given, rows, next=more, first=first, notice=notice, problem=problem
        )

    def inbox_page(
        self,
        request: Request,
        staff: Staff,
        given: Mapping[str, str],
        rows: list[InboxRow],
        *,
        next: str | None = None,
        first: str | None = None,
        notice: str | None = None,
        problem: str | None = None,
        status: int = 200,
    ) -> Response:
        admin = self.admin
        locale = admin.locale(request)
        view = InboxView(
            action=request.scope.get("root_path", "") + "/admin/inbox",
            values={**given, "lang": request.query_params.get("lang", "")},
            forms=[(form.id, form.title(locale)) for form in admin.forms.values()],
            rows=rows,
            export=admin.link(request, "/admin/export.csv", **given) if rows else None,
            next=next,
            first=first,
        )
        chrome = admin.chrome(
            request, staff, "/admin/inbox", current="inbox", notice=notice, problem=problem
        )
        return HTMLResponse(render_inbox(chrome, view), status_code=status, headers=_NO_STORE)

    def title(self, form_id: str, locale: str) -> str:
        form = self.admin.forms.get(form_id)
        return form_id if form is None else form.title(locale)

    # -- the export ----------------------------------------------------------------

    async def export(self, request: Request) -> Response:
        """``GET /admin/export.csv``: every submission the filters find, as CSV."""
        admin = self.admin
        staff = await admin.gate.page(request)
        if isinstance(staff, Response):
            return staff
        await admin.ready()
        given = self.given(request)
        texts = admin_texts(admin.locale(request))
        try:
            query = dataclasses.replace(self.query(given), limit=_EXPORT_CHUNK)
        except BadFilter as bad:
            problem = texts[bad.key].format(**bad.values)
            return self.inbox_page(request, staff, given, [], problem=problem, status=400)
        forms = [admin.forms[query.form]] if query.form else list(admin.forms.values())
        columns = Columns(forms, admin.locale(request))
        await admin.gate.log(staff, "inbox.export", query.form, described(query))
        store = admin.store

        async def lines() -> AsyncIterator[str]:
            yield BOM + csv_lines([columns.heading()])
            page_query = query
            while True:
                page = await store.find_submissions(page_query)
                found = await store.get_many([entry.reference for entry in page.entries])
                yield csv_lines(columns.row(submission) for submission in found)
                if page.next is None:
                    return
                page_query = dataclasses.replace(query, after=page.next)

        name = f"submissions-{dt.datetime.now(dt.UTC):%Y-%m-%d}.csv"
        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"', **_NO_STORE},
        )

    # -- one submission ------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        """``GET /admin/submissions/{reference}``: as the agent saw it."""
        admin = self.admin
        staff = await admin.gate.page(request)
        if isinstance(staff, Response):
            return staff
        await admin.ready()
        reference = _reference(request)
        texts = admin_texts(admin.locale(request))
        notice = None
        done = request.query_params.get("done")
        if done in ("released", "erased"):
            notice = texts["erased_done" if done == "erased" else done].format(reference=reference)
        found = await admin.store.get(reference)
        if found is None:
            return self.missing(request, staff, reference)
        await admin.gate.log(staff, "submission.view", reference)
        return await self.submission_page(request, staff, found, notice=notice)

    def missing(self, request: Request, staff: Staff, reference: str) -> Response:
        texts = admin_texts(self.admin.locale(request))
        problem = texts["not_found"].format(reference=reference)
        return self.inbox_page(request, staff, self.given(request), [], problem=problem, status=404)

    async def submission_page(
        self,
        request: Request,
        staff: Staff,
        found: StoredSubmission,
        *,
        notice: str | None = None,
        problem: str | None = None,
        status: int = 200,
    ) -> Response:
        admin = self.admin
        locale = admin.locale(request)
        texts = admin_texts(locale)
        form = admin.forms.get(found.form)
        reference = found.reference
        if form is None:
            subject = title = found.form
            rows = [(one_line(name), one_line(plain(value))) for name, value in found.data.items()]
            notices: list[list[str]] = []
            shown_intro = reference
        else:
            mail_locale = agent_locale(form)
            title = form.title(locale)
            subject = agent_subject(form, found, mail_locale)
            marks = answer_marks(found.context, mail_locale)
            rows = answer_rows(form, found, mail_locale, marks=marks)
            notices = [
                [*n.lines, *n.items] for n in context_notices(form, found.context, mail_locale)
            ]
            shown_intro = intro(
                reference, one_line(form.title(mail_locale)), found.submitted_at, mail_locale
            )
        status_text = (
            texts["erased"]
            if found.erased
            else texts["spam"].format(reason=found.spam_reason or "?")
            if found.spam
            else texts["accepted"]
        )
        note = None
        if found.erased_at is not None:
            note = texts["erased_note"].format(date=moment_text(found.erased_at, locale))
        elif found.spam:
            note = texts["spam_note"].format(reason=found.spam_reason or "?")
        jobs = await admin.store.outbox(reference)
        deliveries = [
            (
                job.target,
                texts.get(job.status, job.status),
                str(job.attempts),
                moment_text(job.updated_at or job.next_attempt_at, locale),
                job.last_error or "",
            )
            for job in jobs
        ]
        base = f"/admin/submissions/{reference}"
        view = SubmissionView(
            reference=reference,
            facts=[
                (texts["form"], title),
                (texts["submitted"], moment_text(found.submitted_at, locale)),
                (texts["language"], found.locale),
                (texts["status"], status_text),
            ],
            subject=subject,
            intro=shown_intro,
            rows=rows,
            notices=notices,
            deliveries=deliveries,
            spam=found.spam,
            note=note,
            release=admin.link(request, f"{base}/release")
            if found.spam and not found.erased and form is not None
            else None,
            delete=admin.link(request, f"{base}/delete") if found.spam else None,
            erase=admin.link(request, f"{base}/erase") if not found.erased else None,
            back=admin.link(request, "/admin/inbox"),
        )
        chrome = admin.chrome(request, staff, base, current="inbox", notice=notice, problem=problem)
        html = render_submission(chrome, view)
        return HTMLResponse(html, status_code=status, headers=_NO_STORE)

    # -- actions -------------------------------------------------------------------

    async def _act(self, request: Request) -> tuple[Staff, dict[str, str]] | Response:
        """The staff member behind a POST with the right CSRF token, and what it
        posted. Read as sign-in reads its form (at most 8 KiB, urlencoded): the
        body is read before the CSRF check, so anyone may send one."""
        form = await read_small_form(request)
        staff = await self.admin.gate.action(request, form)
        if isinstance(staff, Response):
            return staff
        await self.admin.ready()
        return staff, form

    async def _refuse(
        self, request: Request, staff: Staff, reference: str, key: str, status: int, **values: str
    ) -> Response:
        texts = admin_texts(self.admin.locale(request))
        found = await self.admin.store.get(reference)
        if found is None:
            return self.missing(request, staff, reference)
        problem = texts[key].format(reference=reference, **values)
        return await self.submission_page(request, staff, found, problem=problem, status=status)

    async def _unconfirmed(
        self, request: Request, staff: Staff, reference: str, posted: dict[str, str]
    ) -> Response | None:
        """A 400 page when the "I am sure" box of a lasting action is not ticked."""
        if posted.get("confirm") == "yes":
            return None
        return await self._refuse(request, staff, reference, "not_confirmed", 400)

    def _back(self, request: Request, path: str, **params: str) -> Response:
        return RedirectResponse(self.admin.link(request, path, **params), status_code=303)

    async def release(self, request: Request) -> Response:
        """``POST …/release``: deliver quarantined spam after all."""
        acted = await self._act(request)
        if isinstance(acted, Response):
            return acted
        staff, _ = acted
        admin, reference = self.admin, _reference(request)
        found = await admin.store.get(reference)
        if found is None:
            return self.missing(request, staff, reference)
        form = admin.forms.get(found.form)
        if not found.spam or found.erased:
            return await self._refuse(request, staff, reference, "not_spam", 409)
        if form is None:
            return await self._refuse(request, staff, reference, "no_form", 409, form=found.form)
        targets = delivery_targets(form, found.data)
        if not await admin.store.release(reference, targets):
            return await self._refuse(request, staff, reference, "not_spam", 409)
        await admin.gate.log(staff, "spam.release", reference, ", ".join(targets) or None)
        return self._back(request, f"/admin/submissions/{reference}", done="released")

    async def delete(self, request: Request) -> Response:
        """``POST …/delete``: quarantined spam deleted for good, with its files."""
        acted = await self._act(request)
        if isinstance(acted, Response):
            return acted
        staff, posted = acted
        admin, reference = self.admin, _reference(request)
        refused = await self._unconfirmed(request, staff, reference, posted)
        if refused is not None:
            return refused
        deleted = await delete_spam(admin.store, admin.settings.upload_dir, reference)
        if deleted is None:
            return await self._refuse(request, staff, reference, "not_spam", 409)
        await admin.gate.log(staff, "spam.delete", reference, f"{deleted.files_removed} file(s)")
        return self._back(request, "/admin/inbox", done="deleted", ref=reference)

    async def erase(self, request: Request) -> Response:
        """``POST …/erase``: answers and files erased for good (an erasure request)."""
        acted = await self._act(request)
        if isinstance(acted, Response):
            return acted
        staff, posted = acted
        admin, reference = self.admin, _reference(request)
        refused = await self._unconfirmed(request, staff, reference, posted)
        if refused is not None:
            return refused
        done = await erase(admin.store, admin.settings.upload_dir, reference)
        if done is None:
            return self.missing(request, staff, reference)
        await admin.gate.log(staff, "submission.erase", reference, f"{done.files_removed} file(s)")
        return self._back(request, f"/admin/submissions/{reference}", done="erased")


def _reference(request: Request) -> str:
    # Read aloud or typed by hand, a reference may come in lower case.
    return str(request.path_params["reference"]).strip().upper()
