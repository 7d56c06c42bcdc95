"""The look of a form's pages: its theme, the site's stylesheet, the icon.

The pages run under ``style-src 'self'``: no inline style. A form's
``theme.accent`` is therefore served as a stylesheet of its own,
``GET /forms/{form}/theme.css`` (custom properties over form.css's), linked
after form.css with its version in the address, so browsers keep it until
the colour changes. The site's own stylesheet (``INTAKE_STYLESHEET``) comes
last. Each form page and thanks page gets a Content-Security-Policy that
names, besides ``'self'``, exactly the origins these need: the logo's in
``img-src``, the site stylesheet's in ``style-src``, and the ``thanks.url``'s
in ``form-action`` (a browser follows the redirect after the form is sent
only where the page's policy allows the form to go).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from intakeforms.form import Form
from intakeforms.render import ASSETS_DIR
from intakeforms.settings import Settings
from intakeforms.web.headers import content_security_policy
from intakeforms.web.responses import errors, mounted

__all__ = ["accent_css", "favicon", "page_policy", "stylesheets", "theme_css"]

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
#: The page's background and the text on buttons.
_WHITE = "#ffffff"


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _darker(colour: str, by: float) -> str:
    parts = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(p * (1 - by)):02x}" for p in parts)


def accent_css(accent: str) -> str:
    """The custom properties of form.css for an accent colour ``#rrggbb``.

    The accent is used for links and borders on white and under the white
    text of buttons: an accent too light for that (under 4.5:1 against
    white, WCAG AA) is darkened step by step until it reads, so a pale
    brand colour never makes the page unreadable. Hover is a little darker.
    """
    if not _COLOUR.fullmatch(accent):
        raise ValueError(f"{accent!r} is not a colour like #0b5fff")
    colour = accent.lower()
    while _contrast(colour, _WHITE) < 4.5:
        colour = _darker(colour, 0.1)
    return (
        ":root {\n"
        f"  --intake-accent: {colour};\n"
        f"  --intake-accent-hover: {_darker(colour, 0.2)};\n"
        f"  --intake-accent-text: {_WHITE};\n"
        "}\n"
    )


def _accent(form: Form) -> str | None:
    theme = form.definition.theme
    accent = None if theme is None else theme.accent
    return accent if accent is not None and _COLOUR.fullmatch(accent) else None


def _origin(url: str | None) -> str | None:
    """``https://host[:port]`` of an absolute URL; None for a path of this site."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def stylesheets(request: Request, form: Form, settings: Settings) -> list[str]:
    """The stylesheets a form's page links after form.css: its theme's
    (when it has an accent colour), then the site's (``INTAKE_STYLESHEET``)."""
    found = []
    accent = _accent(form)
    if accent is not None:
        version = hashlib.sha256(accent_css(accent).encode()).hexdigest()[:12]
        found.append(mounted(request, f"/forms/{form.id}/theme.css?v={version}"))
    if settings.stylesheet:
        found.append(settings.stylesheet)
    return found


def page_policy(form: Form, settings: Settings) -> dict[str, str]:
    """The Content-Security-Policy header of a form's page or thanks page:
    the service's own, opened to the logo's, stylesheet's and thanks page's
    origins."""
    definition = form.definition
    logo = _origin(None if definition.theme is None else definition.theme.logo)
    style = _origin(settings.stylesheet)
    target = _origin(None if definition.thanks is None else definition.thanks.url)
    policy = content_security_policy(
        settings.frame_ancestors,
        img=[logo] if logo else [],
        style=[style] if style else [],
        form_action=[target] if target else [],
    )
    return {"content-security-policy": policy}


def theme_css(forms: Mapping[str, Form]) -> Callable[[Request], Awaitable[Response]]:
    """``GET /forms/{form}/theme.css``: a form's accent as form.css's custom
    properties (404 for a form without ``theme.accent``)."""

    async def serve(request: Request) -> Response:
        form = forms.get(request.path_params["form"])
        if form is None:
            return errors(404, "unknown_form", "there is no such form")
        accent = _accent(form)
        if accent is None:
            return errors(404, "no_theme", "this form has no theme.accent")
        # The page links it with its version in the address: kept a day.
        return Response(
            accent_css(accent),
            media_type="text/css",
            headers={"cache-control": "public, max-age=86400"},
        )

    return serve


async def favicon(request: Request) -> Response:
    """``GET /favicon.ico``: the pages' SVG icon, for browsers that ask
    before (or without) reading the page's ``<link rel="icon">``."""
    return FileResponse(
        ASSETS_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"cache-control": "public, max-age=86400"},
    )
