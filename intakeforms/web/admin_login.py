"""The staff's sign-in page, and where it sends them afterwards.

:class:`~intakeforms.web.admin_auth.StaffGate` decides who gets in; this
module draws what staff see of it (the sign-in page, the page of a refused
action) in fi, sv or en, reads the small forms it takes, and keeps the
``?next=`` of the sign-in page to the staff pages of this service, so that
a link to the sign-in page can never send anyone to another site.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from intakeforms.i18n import CATALOG_LOCALES, N_, gettext_for, negotiate
from intakeforms.render import language_links, page_assets, page_environment
from intakeforms.render_message import render_message_page
from intakeforms.render_texts import page_texts
from intakeforms.web.responses import LANGUAGE_NAMES, mounted

__all__ = [
    "LOGIN_TEXTS",
    "STAFF_LOCALES",
    "login_location",
    "login_page",
    "next_page",
    "read_small_form",
    "refused_page",
    "safe_next",
    "staff_locale",
]

#: The languages of the staff pages, the default first.
STAFF_LOCALES = ["en", *(code for code in CATALOG_LOCALES if code != "en")]
# A sign-in or sign-out form is a few hundred bytes.
_MAX_FORM = 8 * 1024
_NO_STORE = {"cache-control": "no-store"}

#: The words of the sign-in page and of a refused action, by key.
LOGIN_TEXTS: dict[str, str] = {
    # Translators: the title of the page where staff sign in to the dashboard.
    "title": N_("Sign in to the staff pages"),
    # Translators: the staff member's user name on the sign-in page.
    "name": N_("Name"),
    "password": N_("Password"),
    # Translators: the button of the staff sign-in page.
    "sign_in": N_("Sign in"),
    "name_missing": N_("Enter your name."),
    "password_missing": N_("Enter your password."),
    "wrong": N_("The name or the password is not right."),
    # Translators: {minutes} is a whole number of minutes, 1 or more.
    "too_many": N_("Too many sign-in attempts. Wait {minutes} min and try again."),
    "signed_out": N_("You have signed out."),
    "ended": N_("Your session has ended. Sign in again."),
    "unavailable": N_("Signing in is not possible just now. Try again in a moment."),
    # Translators: the title of the page shown when a staff action is refused.
    "refused_title": N_("The action was refused"),
    "refused": N_(
        "The page was out of date or came from another site. "
        "Go back, reload the page and try again."
    ),
    "back": N_("Back to the staff pages"),
}


def staff_locale(request: Request) -> str:
    """The language of a staff page: ``?lang=``, else ``Accept-Language``
    (fi, sv or en; English when none fits)."""
    return negotiate(
        STAFF_LOCALES, request.query_params.get("lang"), request.headers.get("accept-language")
    )


def _text(key: str, locale: str) -> str:
    return gettext_for(LOGIN_TEXTS[key], locale)


def safe_next(request: Request, back: str) -> bool:
    """Whether ``back`` is a page of this service's staff pages: a path
    under its mounted ``/admin``, in printable ASCII, that no browser reads
    as another site's address (no scheme, no ``//``, no ``\\``, no dot
    segments), and not the sign-in or sign-out address itself."""
    admin = mounted(request, "/admin")
    if not back or len(back) > 2000 or not back.isascii() or not back.isprintable():
        return False
    if "\\" in back or back.startswith("//"):
        return False
    path = back.split("?", 1)[0]
    if path != admin and not path.startswith(f"{admin}/"):
        return False
    if "//" in path or any(part in (".", "..") for part in path.split("/")):
        return False
    return path not in (f"{admin}/login", f"{admin}/logout")


def next_page(request: Request, back: str) -> str:
    """Where to go after signing in: ``back`` when it is safe, else ``/admin``."""
    return back if safe_next(request, back) else mounted(request, "/admin")


def login_location(request: Request, back: str = "", **extra: str) -> str:
    """The sign-in page's address, with ``?next=back`` when it is safe, the
    page's language when the request chose one, and ``extra``."""
    query: dict[str, str] = {}
    if back and safe_next(request, back):
        query["next"] = back
    query.update(extra)
    if "lang" in request.query_params:
        query["lang"] = staff_locale(request)
    login = mounted(request, "/admin/login")
    return f"{login}?{urlencode(query, quote_via=quote)}" if query else login


def login_page(
    request: Request,
    back: str,
    *,
    name: str = "",
    status: int = 200,
    problems: list[tuple[str, str]] | None = None,
    problem: str | None = None,
    notice: str | None = None,
    minutes: int = 1,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The sign-in page in the request's language. ``problems`` are
    (field, text key) pairs shown in the error summary and at the field;
    ``problem`` and ``notice`` are text keys said in the summary and above
    the form; ``back`` goes on as ``next`` when it is safe."""
    locale = staff_locale(request)
    ui = page_texts(locale)
    texts = {key: _text(key, locale) for key in LOGIN_TEXTS}
    texts["too_many"] = texts["too_many"].format(minutes=minutes)
    summary: list[dict[str, str | None]] = [
        {"href": f"#admin-{field}", "message": texts[key]} for field, key in problems or []
    ]
    if problem:
        summary.append({"href": None, "message": texts[problem]})
    login = mounted(request, "/admin/login")
    kept = back if safe_next(request, back) else ""
    links = [
        (code, LANGUAGE_NAMES[code], f"{login}?{_query(code, kept)}") for code in STAFF_LOCALES
    ]
    title = texts["title"]
    html = (
        page_environment()
        .get_template("admin_login.html")
        .render(
            locale=locale,
            ui=ui,
            page_title=ui["error_title"].format(title=title) if summary else title,
            title=title,
            texts=texts,
            summary=summary,
            by_field={field: texts[key] for field, key in problems or []},
            notice=texts[notice] if notice else None,
            action=f"{login}?lang={locale}",
            name=name,
            next=kept,
            languages=language_links(links, locale),
            assets=page_assets(mounted(request, "/assets")),
            admin_css=mounted(request, "/assets/admin.css"),
        )
    )
    return HTMLResponse(html, status_code=status, headers={**_NO_STORE, **(headers or {})})


def _query(code: str, back: str) -> str:
    return urlencode({"lang": code, **({"next": back} if back else {})}, quote_via=quote)


def refused_page(request: Request) -> HTMLResponse:
    """403: the page of a staff action refused (an old page, another site)."""
    locale = staff_locale(request)
    html = render_message_page(
        title=_text("refused_title", locale),
        paragraphs=[_text("refused", locale)],
        locale=locale,
        link=mounted(request, "/admin"),
        link_text=_text("back", locale),
        assets=mounted(request, "/assets"),
    )
    return HTMLResponse(html, status_code=403, headers=_NO_STORE)


async def read_small_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (sign-in, sign-out): the first value of each
    name; empty when the body is something else or over 8 KiB."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found
