"""A host site for the widget tests: a page on another origin than the service,
embedding a widget the way docs/widgets.md says, under a strict CSP.

The page records every ``intake:submitted`` event in ``window.submitted``
(from a script file: the CSP allows no inline script).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

__all__ = ["EVENTS_JS", "HOST_CSS", "host_app"]

EVENTS_JS = """
window.submitted = [];
document.addEventListener("intake:submitted", (event) => {
  window.submitted.push(event.detail);
});
"""

# Rules a real site might have; none of them may reach inside the widgets.
HOST_CSS = """
body { font: 20px/1.2 Georgia, serif; margin: 0; padding: 1rem; }
button, input, dialog, label, p { all: unset; display: inline; color: #888; font-size: 9px; }
"""


def host_app(where: Callable[[], str]) -> Starlette:
    """The host site; ``GET /page?tag=&form=&lang=&html_lang=`` is a page
    that embeds ``<tag>`` from the service at ``where()`` (known only once
    the service knows this site's origin); ``token``, ``draft`` and
    ``data-…`` in the query become the element's attributes too."""

    def page(request: Request) -> Response:
        service = where()
        query = request.query_params
        tag = query.get("tag", "intake-chat")
        assert tag in ("intake-chat", "intake-form")
        # The element's attributes; "data-…" ones too (a hidden question's
        # answer). The rest of the query stays the page's own (?t=, ?order=).
        attributes = "".join(
            f' {name}="{html.escape(query[name])}"'
            for name in query
            if name in ("form", "lang", "endpoint", "token", "draft", "events")
            or name.startswith("data-")
        )
        body = f"""<!doctype html>
<html lang="{html.escape(query.get("html_lang", "en"))}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example Garage</title>
<link rel="stylesheet" href="/host.css">
<script src="/events.js"></script>
<script src="{service}/widget.js" defer></script>
</head>
<body>
<main>
<h1>Example Garage</h1>
<{tag}{attributes}><a href="{service}/forms/car-service">Book a service</a></{tag}>
</main>
</body>
</html>
"""
        # What docs/widgets.md asks of a site with a Content-Security-Policy.
        csp = (
            f"default-src 'self'; script-src 'self' {service}; "
            f"style-src 'self' {service}; connect-src {service}"
        )
        return HTMLResponse(body, headers={"content-security-policy": csp})

    def events(request: Request) -> Response:
        return Response(EVENTS_JS, media_type="text/javascript")

    def styles(request: Request) -> Response:
        return Response(HOST_CSS, media_type="text/css")

    routes = [Route("/page", page), Route("/events.js", events), Route("/host.css", styles)]
    return Starlette(routes=routes)
