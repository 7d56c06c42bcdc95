"""The staff's pages: the dashboard, the inbox and one submission.

The web layer (:mod:`intakeforms.web.admin`) reads the store and the
figures; this module turns what it read into pages, in the staff's language
(fi, sv or en). Like every page of the service they are autoescaped and hold
no inline script or style; the charts are :mod:`intakeforms.render_charts`'
SVG, each with its summary and table of numbers. Everything works with the
keyboard alone: filters and actions are plain forms and links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal, format_percent

from intakeforms.i18n import N_, gettext_for
from intakeforms.render import Language, language_links, page_assets, page_environment
from intakeforms.render_charts import (
    CHART_TEXTS,
    Chart,
    channel_chart,
    error_chart,
    funnel_chart,
    volume_chart,
)
from intakeforms.render_texts import page_texts

__all__ = [
    "ADMIN_TEXTS",
    "PERIODS",
    "Chrome",
    "Dashboard",
    "FormStats",
    "InboxRow",
    "InboxView",
    "SubmissionView",
    "admin_texts",
    "moment_text",
    "render_dashboard",
    "render_inbox",
    "render_submission",
]

#: The periods the dashboard offers, in days up to today.
PERIODS = (7, 30, 90)

#: Every word of the staff's pages, by key; translated per page.
ADMIN_TEXTS: dict[str, str] = {
    # Translators: added to every staff page's title, after a dash.
    "staff_pages": N_("Staff"),
    # Translators: the name of the staff pages' menu, for screen readers.
    "nav": N_("Staff pages"),
    "dashboard": N_("Dashboard"),
    "inbox": N_("Inbox"),
    "signed_in_as": N_("Signed in as {name}"),
    "sign_out": N_("Sign out"),
    "period": N_("Period"),
    "last_days": N_("Last {days} days"),
    "form": N_("Form"),
    "show": N_("Show"),
    # Translators: {start} and {end} are dates; the day changes at midnight UTC.
    "period_shown": N_("From {start} to {end} (days in UTC)."),
    "totals": N_("Totals by form"),
    "completion": N_("Completion"),
    "median_time": N_("Median time to submit"),
    "no_forms": N_("This service has no forms."),
    # Translators: {form} is the title of the form the figures are about.
    "questions_of": N_("Questions of {form}"),
    "time_to_submit": N_("Time to submit"),
    # Translators: {median} and {p90} are durations, like "3 minutes".
    "time_summary": N_(
        "Half of the visits that submitted took {median} or less; 9 in 10 took {p90} or less."
    ),
    "time_none": N_("No visit submitted in the period."),
    "faq": N_("Self-service answers (FAQ)"),
    "faq_searches": N_("Searches"),
    "faq_helpful": N_("Marked helpful"),
    "faq_deflected": N_("Answered without a contact"),
    "faq_no_answer": N_("Searches with no good answer"),
    "faq_query": N_("Words searched"),
    "faq_count": N_("Times"),
    "faq_none": N_("Every search found an answer."),
    "show_numbers": N_("Show the numbers"),
    "search_label": N_("Reference or date"),
    "search_hint": N_("A reference or its beginning, like CAR-4F, or a date like 2026-05-04."),
    "all_forms": N_("All forms"),
    "from": N_("From"),
    "to": N_("To"),
    "which": N_("Which"),
    "all": N_("All"),
    "spam_only": N_("Quarantined spam only"),
    "accepted_only": N_("Accepted only"),
    "search": N_("Search"),
    "export": N_("Download these as CSV"),
    "reference": N_("Reference"),
    "submitted": N_("Submitted (UTC)"),
    "language": N_("Language"),
    "status": N_("Status"),
    "accepted": N_("Accepted"),
    # Translators: {reason} says why it was judged spam, like "honeypot filled".
    "spam": N_("Spam: {reason}"),
    "erased": N_("Erased"),
    "none_found": N_("No submissions match."),
    "next_page": N_("Next page"),
    "first_page": N_("First page"),
    "shown": N_("Submissions, newest first"),
    "submission": N_("Submission {reference}"),
    "back": N_("Back to the inbox"),
    "as_agent": N_("As the agent saw it"),
    "as_agent_spam": N_("As the agent would see it"),
    "subject": N_("Subject"),
    "erased_note": N_("The answers and files were erased on {date}."),
    "spam_note": N_("Quarantined as spam ({reason}): nobody was sent it."),
    "deliveries": N_("Deliveries"),
    "target": N_("Target"),
    "attempts": N_("Attempts"),
    "updated": N_("Last change (UTC)"),
    "last_error": N_("Last error"),
    "no_deliveries": N_("Nothing was delivered."),
    "pending": N_("Waiting"),
    "claimed": N_("Being delivered"),
    "delivered": N_("Delivered"),
    "dead": N_("Failed"),
    "actions": N_("Actions"),
    "release": N_("Release and deliver"),
    "release_hint": N_("It is delivered as if it had been accepted."),
    "delete": N_("Delete for good"),
    "delete_hint": N_("The submission and its files are deleted. This cannot be undone."),
    "erase": N_("Erase the answers and files"),
    "erase_hint": N_(
        "For an erasure request: the answers and files are gone for good; "
        "the reference and dates stay."
    ),
    "confirm": N_("I am sure"),
    "released": N_("{reference} was released; its deliveries are queued."),
    "deleted": N_("{reference} was deleted for good."),
    "erased_done": N_("{reference} was erased."),
    "not_spam": N_("{reference} is not quarantined spam, so nothing was done."),
    "no_form": N_("The form {form} is not served here, so {reference} cannot be delivered."),
    "not_confirmed": N_("Tick “I am sure” first; nothing was done."),
    "not_found": N_("There is no submission {reference}."),
    "bad_search": N_(
        "Search by a reference (like CAR-4F7K2Q, or its beginning) or a date (like 2026-05-04)."
    ),
    "bad_date": N_("Write dates like 2026-05-04."),
    "bad_period": N_("“From” is after “To”."),
    "bad_page": N_("That page of the inbox is gone; here is the first page."),
    "unknown_form": N_("There is no form {form}."),
    "problem": N_("There is a problem"),
}


def admin_texts(locale: str) -> dict[str, str]:
    """Every text of :data:`ADMIN_TEXTS`, translated into ``locale``."""
    return {key: gettext_for(message, locale) for key, message in ADMIN_TEXTS.items()}


def moment_text(moment: dt.datetime, locale: str) -> str:
    """A stored time in UTC, as ``locale`` writes a date (month named, so
    never ambiguous) and a time of day."""
    utc = moment.astimezone(dt.UTC)
    day = format_date(utc.date(), format="medium", locale=_babel(locale))
    return f"{day} {format_time(utc.time(), format='short', locale=_babel(locale))}"


def _babel(locale: str) -> str:
    return locale.replace("-", "_")


@dataclass(frozen=True)
class Chrome:
    """What every staff page shares: the language, who is signed in (and
    the CSRF token their sign-out posts), the addresses of the menu and of
    the assets folder, the language links, which menu entry is this page,
    and a ``notice`` (what an action did) or a ``problem`` to say at the top."""

    locale: str
    staff: str
    csrf: str
    dashboard: str
    inbox: str
    logout: str
    assets: str
    languages: Sequence[Language] = ()
    current: str = ""
    notice: str | None = None
    problem: str | None = None


def _render(template: str, chrome: Chrome, title: str, **values: Any) -> str:
    texts = admin_texts(chrome.locale)
    return (
        page_environment()
        .get_template(template)
        .render(
            locale=chrome.locale,
            ui=page_texts(chrome.locale),
            t=texts,
            chrome=chrome,
            page_title=f"{title} – {texts['staff_pages']}",
            title=title,
            languages=language_links(chrome.languages, chrome.locale),
            assets=page_assets(chrome.assets),
            admin_css=f"{chrome.assets.rstrip('/')}/admin.css",
            **values,
        )
    )


# -- the dashboard ---------------------------------------------------------------


@dataclass(frozen=True)
class FormStats:
    """One form's figures as the dashboard gets them: its id, title in the
    staff's language, the labels of its questions by name, and the figures'
    JSON (``intakeforms.stats.FormFigures.as_json()``)."""

    form: str
    title: str
    labels: Mapping[str, str]
    figures: Mapping[str, Any]


@dataclass(frozen=True)
class Dashboard:
    """The dashboard: the period asked for (``days``, from ``start`` to
    ``end``), each form's figures, the form whose questions are shown
    (``chosen``; None without forms) and the address the filters go to."""

    days: int
    start: dt.date
    end: dt.date
    forms: Sequence[FormStats]
    chosen: str | None
    action: str
    lang: str | None = None


def _percent(rate: float, locale: str) -> str:
    return str(format_percent(rate, locale=_babel(locale)))


def _duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return "–"
    return str(
        format_timedelta(
            dt.timedelta(seconds=seconds), threshold=1.5, format="short", locale=_babel(locale)
        )
    )


def _number(value: float, locale: str) -> str:
    return str(format_decimal(value, locale=_babel(locale)))


def _dashboard_charts(view: Dashboard, locale: str) -> tuple[list[Chart], FormStats | None]:
    """The charts of every form, then the chosen form's (its figures too)."""
    charts = []
    if view.forms:
        per_form = [
            (
                f.title,
                [
                    (dt.date.fromisoformat(d["date"]), int(d["submissions"]))
                    for d in f.figures["per_day"]
                ],
            )
            for f in view.forms
        ]
        charts.append(volume_chart(per_form, locale=locale))
        channels: dict[str, dict[str, int]] = {}
        for f in view.forms:
            for channel, figures in f.figures["by_channel"].items():
                sums = channels.setdefault(channel, {})
                for key in ("views", "starts", "submissions"):
                    sums[key] = sums.get(key, 0) + int(figures.get(key, 0))
        charts.append(channel_chart(channels, locale=locale))
    chosen = next((f for f in view.forms if f.form == view.chosen), None)
    return charts, chosen


def render_dashboard(chrome: Chrome, view: Dashboard) -> str:
    """The dashboard page: the period and form pickers, totals by form,
    submissions per day by topic, visits by channel, and for the chosen
    form the funnel of its questions, its errors, the time to submit and
    what the FAQ did."""
    locale = chrome.locale
    texts = admin_texts(locale)
    charts, chosen = _dashboard_charts(view, locale)
    totals = [
        {
            "title": f.title,
            "views": _number(f.figures["views"], locale),
            "starts": _number(f.figures["starts"], locale),
            "submissions": _number(f.figures["submissions"], locale),
            "completion": _percent(f.figures["completion_rate"], locale),
            "median": _duration(f.figures["time_to_submit_seconds"]["median"], locale),
        }
        for f in view.forms
    ]
    questions: list[Chart] = []
    faq: Mapping[str, Any] = {}
    time_text = ""
    if chosen is not None:
        fields = chosen.figures["fields"]
        questions = [
            funnel_chart(fields, chosen.labels, form=chosen.title, locale=locale),
            error_chart(fields, chosen.labels, form=chosen.title, locale=locale),
        ]
        faq = chosen.figures["faq"]
        times = chosen.figures["time_to_submit_seconds"]
        time_text = (
            texts["time_none"]
            if times["median"] is None
            else texts["time_summary"].format(
                median=_duration(times["median"], locale), p90=_duration(times["p90"], locale)
            )
        )
    return _render(
        "admin_dashboard.html",
        chrome,
        texts["dashboard"],
        view=view,
        periods=[(days, texts["last_days"].format(days=days)) for days in PERIODS],
        shown=texts["period_shown"].format(
            start=_day(view.start, locale), end=_day(view.end, locale)
        ),
        totals=totals,
        charts=charts,
        chosen=chosen,
        questions=questions,
        faq=faq,
        faq_numbers={
            key: _number(int(faq.get(key, 0)), locale)
            for key in ("searches", "helpful", "deflected")
        },
        time_text=time_text,
        form_options=[(f.form, f.title) for f in view.forms],
        measures={
            key: gettext_for(CHART_TEXTS[key], locale) for key in ("views", "starts", "submissions")
        },
    )


def _day(day: dt.date, locale: str) -> str:
    return str(format_date(day, format="medium", locale=_babel(locale)))


# -- the inbox --------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    """One submission in the inbox's table, its texts ready to show."""

    reference: str
    href: str
    form: str
    submitted: str
    status: str
    spam: bool = False


@dataclass(frozen=True)
class InboxView:
    """The inbox: the filters as given (``values``: q, form, from, to,
    spam), the forms to pick from (id, title), the rows, and the links to
    the next and first page and to the CSV export."""

    action: str
    values: Mapping[str, str]
    forms: Sequence[tuple[str, str]]
    rows: Sequence[InboxRow]
    export: str | None
    next: str | None = None
    first: str | None = None


def render_inbox(chrome: Chrome, view: InboxView) -> str:
    """The inbox page: a search by reference or date, filters by form,
    dates and spam, a table of submissions with links to each, paging and
    the CSV export of what the filters find."""
    texts = admin_texts(chrome.locale)
    return _render("admin_inbox.html", chrome, texts["inbox"], view=view)


# -- one submission ------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionView:
    """One submission: its reference, facts (label, text) rows, what the
    agent email says (``subject``, ``intro``, ``notices`` as lists of lines,
    answer ``rows``), its deliveries (rows of texts), whether it is spam or
    erased (with the note to say), and the actions' addresses (None: not
    offered)."""

    reference: str
    facts: Sequence[tuple[str, str]]
    subject: str
    intro: str
    rows: Sequence[tuple[str, str]]
    notices: Sequence[Sequence[str]] = ()
    deliveries: Sequence[Sequence[str]] = ()
    spam: bool = False
    note: str | None = None
    release: str | None = None
    delete: str | None = None
    erase: str | None = None
    back: str = ""


def render_submission(chrome: Chrome, view: SubmissionView) -> str:
    """The page of one submission as the agent saw it, its deliveries, and
    the actions staff may take on it (each a form that posts the CSRF token)."""
    texts = admin_texts(chrome.locale)
    return _render(
        "admin_submission.html",
        chrome,
        texts["submission"].format(reference=view.reference),
        view=view,
    )
