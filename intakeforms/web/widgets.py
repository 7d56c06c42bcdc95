"""Serving the embeddable widgets: ``/widget.js``, ``/widget.css`` and ``/widget-faq.js``.

The sources live in ``widgets/`` of the project; the wheel's build hook
copies them into ``intakeforms/static/`` (see ``hatch_build.py``), and a
checkout or editable install reads ``widgets/`` directly.

The rules the widgets share with the hosted form's script (reading an answer
as the server would, conditions, the questions asked) have one source: the
part of ``intakeforms/assets/form.js`` between ``// <shared-rules>`` and
``// </shared-rules>``. It is spliced into ``widget.js`` where that says
``/* <shared-rules> */``, so each script stays one file; checkout and wheel
alike read it from the package's ``assets`` folder.

Host pages load ``widget.js`` from a URL that never changes, so it is served
with a short cache life and an ETag. The script asks for the stylesheet as
``widget.css?v=<hash of its bytes>``: that URL changes whenever the CSS does,
so it is cached for a year (cache busting). The self-service part (the
answers offered before a form, the topics, the chat's "Continue by email
later") is a module of its own, ``widget-faq.js``, which the script imports
the same way, and only when a form offers answers, a widget asks the topic
or a chat's service can mail drafts: a page without them does not download
it. All three are minified once, when first asked for, by tdewolff's
minifiers (the ``tdewolff-minify`` package: the Go library's own Python
binding, a wheel with no Node.js): besides whitespace and comments it renames
each function's local names, which made widget.js 11 % smaller gzipped than
rJSmin's whitespace-only pass did. They are sent gzipped when the browser
accepts it; the size test and ``bench_widgets`` measure these bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import minify
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "WIDGET_FILES",
    "Asset",
    "shared_rules",
    "widget_asset",
    "widget_script",
    "widget_source_dir",
]

#: The files a wheel ships and the app serves, by name.
WIDGET_FILES = ("widget.js", "widget.css", "widget-faq.js")
#: Replaced in widget.js by the stylesheet's content hash.
CSS_VERSION = "__INTAKE_CSS_VERSION__"
#: Replaced in widget.js by the FAQ module's content hash.
FAQ_VERSION = "__INTAKE_FAQ_VERSION__"
#: Where widget.js takes the shared rules, and where form.js has them.
SHARED_MARKER = "/* <shared-rules> */"
SHARED_START = "// <shared-rules>"
SHARED_END = "// </shared-rules>"
_PACKAGED = Path(__file__).resolve().parent.parent / "static"
_CHECKOUT = Path(__file__).resolve().parent.parent.parent / "widgets"
#: The hosted form's script, in ``intakeforms.render.ASSETS_DIR``: in the
#: package, so a checkout and a wheel read the shared rules from one place.
_FORM_JS = Path(__file__).resolve().parent.parent / "assets" / "form.js"


def widget_source_dir() -> Path:
    """Where the widget files are read from: the package's copy, else the checkout's."""
    if all((_PACKAGED / name).is_file() for name in WIDGET_FILES):
        return _PACKAGED
    return _CHECKOUT


def shared_rules(form_js: str) -> str:
    """The shared part of the hosted form's script ``form_js``, its markers included."""
    start = form_js.find(SHARED_START)
    end = form_js.find(SHARED_END, start)
    if start < 0 or end < 0:
        raise ValueError(f"form.js has no {SHARED_START} … {SHARED_END} part")
    return form_js[start : end + len(SHARED_END)]


def widget_script(widget_js: str, form_js: str) -> str:
    """``widget_js`` with the shared rules of ``form_js`` in place of its marker."""
    if widget_js.count(SHARED_MARKER) != 1:
        raise ValueError(f"widget.js must say {SHARED_MARKER} once")
    return widget_js.replace(SHARED_MARKER, shared_rules(form_js))


@dataclass(frozen=True, slots=True)
class Asset:
    """One widget file as served: minified bytes, gzipped bytes and an ETag."""

    media_type: str
    body: bytes
    gzipped: bytes
    etag: str


def _minify(name: str, text: str) -> str:
    media_type = "text/css" if name.endswith(".css") else "application/javascript"
    return str(minify.string(media_type, text))


def _asset(name: str, body: bytes) -> Asset:
    media_type = "text/css" if name.endswith(".css") else "text/javascript"
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Asset(
        media_type=f"{media_type}; charset=utf-8",
        body=body,
        # mtime=0 keeps the gzipped bytes (and so their size) reproducible.
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        etag=f'"{digest}"',
    )


@cache
def _assets(folder: Path) -> dict[str, Asset]:
    css = _asset(
        "widget.css", _minify("widget.css", (folder / "widget.css").read_text("utf-8")).encode()
    )
    faq = _asset(
        "widget-faq.js",
        _minify("widget-faq.js", (folder / "widget-faq.js").read_text("utf-8")).encode(),
    )
    source = widget_script((folder / "widget.js").read_text("utf-8"), _FORM_JS.read_text("utf-8"))
    js_text = _minify("widget.js", source)
    for marker, asset in ((CSS_VERSION, css), (FAQ_VERSION, faq)):
        js_text = js_text.replace(marker, asset.etag.strip('"'))
    js = _asset("widget.js", js_text.encode())
    return {"widget.js": js, "widget.css": css, "widget-faq.js": faq}


def widget_asset(name: str) -> Asset:
    """The served form of widget file ``name`` (read and minified once)."""
    return _assets(widget_source_dir())[name]


def serve_widget(request: Request) -> Response:
    """``GET /widget.js``, ``GET /widget.css`` and ``GET /widget-faq.js``."""
    name = request.url.path.rsplit("/", 1)[-1]
    asset = widget_asset(name)
    versioned = "v" in request.query_params
    headers = {
        "etag": asset.etag,
        "vary": "accept-encoding",
        # Any site may embed the widget, also one that isolates itself with
        # Cross-Origin-Embedder-Policy. Reading it with CORS (a `crossorigin`
        # script tag) follows the service's allowed origins, as every route does.
        "cross-origin-resource-policy": "cross-origin",
        "cache-control": "public, max-age=31536000, immutable"
        if versioned
        else "public, max-age=300, must-revalidate",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
