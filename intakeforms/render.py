"""The HTML form page and the thank-you page, rendered from the localized spec.

The page works with JavaScript off: every question is shown, a question with a
``when`` says in words when to answer it, and the server's validation is the
authority (the form has ``novalidate`` and no ``pattern`` attributes, so the
customer only ever sees the server's translated messages). ``form.js``
(:data:`ASSETS_DIR`) then hides the questions whose condition is false, as
``data-when`` on their wrapper says; its ``evaluate`` mirrors
:func:`intakeforms.language.conditions.evaluate` (see the header of form.js).

Every template is autoescaped, and the page has no inline script, style or
event handler, so it runs under ``script-src 'self'; style-src 'self'``.
The view of each question is built in :mod:`intakeforms.render_fields`, and
the page's words and condition notes come from :mod:`intakeforms.render_texts`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from intakeforms.errors import FieldError
from intakeforms.i18n import N_, gettext_for
from intakeforms.render_fields import Question, build_question
from intakeforms.render_texts import UI_TEXTS, condition_text, page_texts

__all__ = [
    "ASSETS_DIR",
    "DRAFT_TEXTS",
    "FAQ_TEXTS",
    "LAYOUT",
    "UI_TEXTS",
    "Language",
    "condition_text",
    "language_links",
    "page_assets",
    "page_environment",
    "render_form_page",
    "render_home_page",
    "render_thanks_page",
]

#: ``form.css``, ``form.js``, ``faq.js``, ``drafts.js``, ``visit.js`` (a
#: visit's events, for the statistics), ``live.js`` (answers checked as they
#: are left), ``steps.js`` (a form in steps) and ``favicon.svg``, for the web
#: app to serve under ``assets``.
ASSETS_DIR = Path(__file__).parent / "assets"

#: The words of the answers faq.js suggests under the first free-text
#: question, by the key of the ``data-faq-…`` attribute that carries them.
FAQ_TEXTS: dict[str, str] = {
    # Translators: above the FAQ answers suggested while the customer types.
    "title": N_("These answers may help:"),
}

#: The words of "Continue by email later" (drafts.js), by the key the page
#: template reads them with.
DRAFT_TEXTS: dict[str, str] = {
    # Translators: a button under the form: the customer gets a link by email
    # that opens the form again with the answers given so far.
    "button": N_("Continue by email later"),
    "hint": N_("We email you a link that opens this form with your answers so far."),
    "label": N_("Your email address"),
    # Translators: the button that sends the link to continue the form later.
    "send": N_("Send the link"),
    # Translators: {email} is the address the customer typed.
    "sent": N_("We sent a link to {email}. It works for 7 days."),
    "failed": N_("The link could not be sent. Please try again later."),
}

#: The spec's items that are not questions: a section's heading and text, a
#: page that starts the next step.
LAYOUT = frozenset({"section", "page"})

#: One language switcher link: (language code, its name in itself, URL).
Language = tuple[str, str, str]


@cache
def page_environment() -> Environment:
    """The Jinja environment of every hosted page (templates/, autoescaped)."""
    # autoescape=True for every template, whatever its name: nothing from the
    # spec, the answers or the messages may ever reach the page unescaped.
    return Environment(
        loader=PackageLoader("intakeforms", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def page_assets(assets: str) -> dict[str, str]:
    """The stylesheet and scripts of a page, under the ``assets`` prefix."""
    prefix = assets.rstrip("/")
    return {
        "css": f"{prefix}/form.css",
        "js": f"{prefix}/form.js",
        "faq": f"{prefix}/faq.js",
        "drafts": f"{prefix}/drafts.js",
        "visit": f"{prefix}/visit.js",
        "live": f"{prefix}/live.js",
        "steps": f"{prefix}/steps.js",
        "favicon": f"{prefix}/favicon.svg",
    }


def render_form_page(
    spec: Mapping[str, Any],
    *,
    action: str,
    values: Mapping[str, str | Sequence[str]] | None = None,
    errors: Sequence[FieldError] = (),
    hidden: Mapping[str, str] | None = None,
    honeypot: str | None = None,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
    faq: str | None = None,
    locked: Collection[str] = (),
    notice: str | None = None,
    drafts: str | None = None,
    stylesheets: Sequence[str] = (),
) -> str:
    """The HTML page of a form, in the spec's language.

    ``spec`` is ``form.spec(locale)``. ``values`` are the customer's raw posted
    answers (a string, or a list of strings for repeated names) to show again
    after ``errors``; on a fresh page (no values and no errors) the form's
    defaults are filled in instead. ``errors`` show in a summary at the top
    and next to their question; an error for a name that is not a question
    shows in the summary only. ``hidden`` inputs and the ``honeypot`` text
    input are added as they are. ``languages`` are the switcher links; the one
    whose code is the spec's locale is marked current. ``assets`` is the URL
    prefix of form.css and form.js (:data:`ASSETS_DIR`). ``faq`` is the URL
    of the FAQ search for this form (``/faq/search?form=ID``): with it, the page
    loads faq.js, which suggests answers under the first free-text question as
    the customer types. ``locked`` names answers a signed link gave that
    cannot be changed; ``notice`` is said above the form (a link that expired).
    ``drafts`` is the URL of ``POST /forms/{form}/drafts``: with it, the page
    loads drafts.js, which offers "Continue by email later" under the form.
    Every form page loads visit.js, which tells ``POST /events`` what the
    visit does (``_visit`` among ``hidden`` goes on with a visit).
    Hidden questions (``input.control`` ``hidden``) are hidden inputs holding
    the answer the page's address gave, never asked. Every page loads
    live.js, which checks an answer through ``/validate`` as its question is
    left. Sections (``type: section``) are headings with their text; pages
    (``type: page``) cut the form into steps, each a ``<section>`` with its
    heading ("Step 2 of 3"), which steps.js (loaded only then) shows one at a
    time. ``stylesheets`` are linked after form.css (the form's theme, the
    site's own); ``theme.logo`` shows above the title.
    """
    locale = str(spec["locale"])
    ui = page_texts(locale)
    items: list[Mapping[str, Any]] = list(spec["fields"])
    fields = [f for f in items if f["type"] not in LAYOUT]
    # An error links to its question; a hidden one has nothing to show.
    names = {str(f["name"]) for f in fields if (f.get("input") or {}).get("control") != "hidden"}
    by_field: dict[str, str] = {}
    for problem in errors:
        by_field.setdefault(problem.field, problem.message)
    # "Label – message": a label's own closing full stop or colon would
    # otherwise run into the separator ("…varaamiseen.: Rastita ruutu.").
    # A message that names its question already ("Please fill in “Email”.")
    # goes without the prefix, which would say the label twice.
    labels = {str(f["name"]): str(f.get("label") or f["name"]) for f in fields}
    summary = [
        {
            "href": f"#field-{e.field}" if e.field in names else None,
            "label": None
            if e.field not in labels or labels[e.field] in e.message
            else labels[e.field].rstrip(" .:"),
            "message": e.message,
        }
        for e in errors
    ]
    answers: Mapping[str, Any]
    if errors:
        answers = values or {}
    else:
        # A first page: the defaults, and what a link or a draft gave.
        defaults = {str(f["name"]): f["default"] for f in fields if f.get("default") is not None}
        answers = {**defaults, **(values or {})}
    questions = {
        str(f["name"]): build_question(
            f,
            spec,
            answers.get(str(f["name"])),
            by_field.get(str(f["name"])),
            bool(errors),
            ui,
            locked=str(f["name"]) in locked,
        )
        for f in fields
    }
    steps = _steps(items, questions, ui)
    title = str(spec["title"])
    template = page_environment().get_template("form.html")
    return template.render(
        locale=locale,
        ui=ui,
        page_title=ui["error_title"].format(title=title) if errors else title,
        title=title,
        description=spec.get("description"),
        action=action,
        multipart=any(q.kind == "file" for q in questions.values()),
        steps=steps,
        summary=summary,
        hidden=dict(hidden or {}),
        honeypot=honeypot,
        languages=language_links(languages, locale),
        assets=page_assets(assets),
        faq=faq,
        notice=notice,
        faq_texts={key: gettext_for(text, locale) for key, text in FAQ_TEXTS.items()},
        drafts=drafts,
        draft_texts={key: gettext_for(text, locale) for key, text in DRAFT_TEXTS.items()},
        stylesheets=list(stylesheets),
        logo=_logo(spec),
    )


def _logo(spec: Mapping[str, Any]) -> str | None:
    theme = spec.get("theme") or {}
    return str(theme["logo"]) if theme.get("logo") else None


def _steps(
    items: Sequence[Mapping[str, Any]], questions: Mapping[str, Question], ui: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The form's steps, each ``{"title", "count", "items"}``, an item being
    ``{"question": Question}`` or ``{"section": {"id", "title", "text"}}``.
    A page starts the next step; a step with nothing in it is left out."""
    steps: list[dict[str, Any]] = [{"title": None, "items": []}]
    for item in items:
        name = str(item["name"])
        if item["type"] == "page":
            steps.append({"title": item.get("title"), "items": []})
        elif item["type"] == "section":
            section = {"id": f"intake-{name}", "title": item.get("title"), "text": item.get("text")}
            steps[-1]["items"].append({"section": section})
        else:
            steps[-1]["items"].append({"question": questions[name]})
    steps = [step for step in steps if step["items"]]
    for number, step in enumerate(steps, 1):
        step["count"] = ui["step_of"].format(step=number, steps=len(steps))
    return steps


def language_links(languages: Sequence[Language], locale: str) -> list[dict[str, Any]]:
    """The language switcher's links of a page in ``locale``; none for one language."""
    # One language needs no switcher.
    if len(languages) < 2:
        return []
    return [
        {"code": code, "name": name, "href": href, "current": code == locale}
        for code, name, href in languages
    ]


def render_thanks_page(
    spec: Mapping[str, Any],
    *,
    reference: str,
    back: str | None = None,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
    stylesheets: Sequence[str] = (),
) -> str:
    """The page shown once a submission is stored: its reference, prominent
    and easy to copy, that the team answers by email (or the form's own
    ``thanks.text`` in its place), and a link ``back``."""
    locale = str(spec["locale"])
    ui = page_texts(locale)
    title = str(spec["title"])
    thanks = spec.get("thanks") or {}
    template = page_environment().get_template("thanks.html")
    return template.render(
        text=thanks.get("text") or None,
        stylesheets=list(stylesheets),
        logo=_logo(spec),
        locale=locale,
        ui=ui,
        page_title=ui["thanks_title"].format(title=title),
        title=title,
        reference=reference,
        back=back,
        languages=language_links(languages, locale),
        assets=page_assets(assets),
    )


def render_home_page(
    forms: Sequence[Mapping[str, str]],
    *,
    locale: str,
    title: str,
    question: str,
    widget: str,
    languages: Sequence[Language] = (),
    assets: str = "/assets",
) -> str:
    """The front page: a link to each form (``{"title", "url"}``) under
    ``question``, and the chat pop-up loaded from ``widget``."""
    template = page_environment().get_template("home.html")
    return template.render(
        locale=locale,
        ui=page_texts(locale),
        page_title=title,
        title=title,
        question=question,
        forms=forms,
        widget=widget,
        languages=language_links(languages, locale),
        assets=page_assets(assets),
    )
