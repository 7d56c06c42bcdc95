"""Serving the widget files: minified, gzipped, cached and busted by content."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import FORMS, settings_for

from intakeforms.web import create_app
from intakeforms.web.widgets import (
    SHARED_MARKER,
    shared_rules,
    widget_asset,
    widget_script,
    widget_source_dir,
)

ROOT = Path(__file__).resolve().parent.parent


def client_for(tmp_path: Path) -> TestClient:
    settings = settings_for(tmp_path, allowed_origins=("https://shop.example",))
    return TestClient(create_app(FORMS, settings))


def test_a_checkout_serves_the_widgets_folder() -> None:
    assert widget_source_dir() == ROOT / "widgets"


def test_widget_js_is_minified_gzipped_and_revalidated(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        answer = client.get("/widget.js", headers={"accept-encoding": "gzip"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.headers["cache-control"] == "public, max-age=300, must-revalidate"
        assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
        source = (ROOT / "widgets" / "widget.js").read_bytes()
        assert len(answer.content) < len(source), "the script is sent minified"
        again = client.get("/widget.js", headers={"if-none-match": answer.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        plain = client.get("/widget.js", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == answer.content


def test_the_script_asks_for_the_stylesheet_by_its_hash(tmp_path: Path) -> None:
    """widget.css?v=<hash> is cached for good; its hash is in the script."""
    with client_for(tmp_path) as client:
        css = client.get("/widget.css")
        script = client.get("/widget.js").text
        assert css.headers["content-type"] == "text/css; charset=utf-8"
        version = css.headers["etag"].strip('"')
        assert f"widget.css?v={version}" in script
        assert "__INTAKE_CSS_VERSION__" not in script
        busted = client.get(f"/widget.css?v={version}")
        assert busted.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert busted.content == css.content


def test_the_service_cors_rules_apply(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        shop = client.get("/widget.js", headers={"origin": "https://shop.example"})
        assert shop.headers["access-control-allow-origin"] == "https://shop.example"
        other = client.get("/widget.js", headers={"origin": "https://other.example"})
        assert other.status_code == 200, "a script tag needs no CORS"
        assert "access-control-allow-origin" not in other.headers


def test_the_gzipped_bytes_are_what_is_sent() -> None:
    asset = widget_asset("widget.css")
    assert gzip.decompress(asset.gzipped) == asset.body


def test_spec_carries_the_widget_texts_in_the_language(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        finnish = client.get("/forms/car-service/spec.json?lang=fi").json()["texts"]
        english = client.get("/forms/car-service/spec.json?lang=en").json()["texts"]
    assert set(finnish) == set(english)
    assert finnish["close"] != english["close"] == "Close"


def test_the_front_page_lists_the_topics_and_hosts_the_chat(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        page = client.get("/?lang=fi")
        english = client.get("/", headers={"accept-language": "en-GB,en;q=0.8"})
    assert page.status_code == 200
    html = page.text
    assert '<html lang="fi">' in html
    assert '<script src="/widget.js" defer></script>' in html
    assert '<intake-chat lang="fi"></intake-chat>' in html
    # Each topic is a plain link too, for a browser without JavaScript.
    assert 'href="/forms/car-service?lang=fi"' in html
    assert ">Huoltovaraus</a>" in html
    assert '<html lang="en">' in english.text


# -- the rules the widget shares with the hosted form -------------------------------------

FORM_JS = ROOT / "intakeforms" / "assets" / "form.js"
WIDGET_JS = ROOT / "widgets" / "widget.js"


def _defined(name: str, script: str) -> bool:
    """Whether ``script`` (one function of two-space indented statements)
    defines ``name`` at its top level."""
    pattern = rf"^  (?:const|let|var|function)\s+{name}\b"
    return re.search(pattern, script, re.MULTILINE) is not None


def test_the_shared_rules_have_one_source(tmp_path: Path) -> None:
    """form.js holds the shared rules once; widget.js only marks where they
    go, defines none of them itself, and is served with them spliced in."""
    form_js = FORM_JS.read_text("utf-8")
    widget_js = WIDGET_JS.read_text("utf-8")
    rules = shared_rules(form_js)
    names = re.findall(r"^  const (\w+) =", rules, re.MULTILINE)
    assert {"parseNumber", "parseBoolean", "parseAnswer", "equal", "evaluate", "asked"} <= set(
        names
    )
    assert form_js.count(rules) == 1
    assert widget_js.count(SHARED_MARKER) == 1
    elsewhere = form_js.replace(rules, "")
    copies = [n for n in names if _defined(n, widget_js) or _defined(n, elsewhere)]
    assert not copies, f"defined outside the shared part too: {copies}"
    assert widget_script(widget_js, form_js).count(rules) == 1
    # The minifier renames the rules' local names, so the served script is
    # checked by what it does (tests/test_web_browser*.py), and here that the
    # splice happened before minifying: no marker left, comments gone.
    served = widget_asset("widget.js").body.decode()
    assert "shared-rules>" not in served
    assert len(served) < len(widget_script(widget_js, form_js)) * 0.9
    with client_for(tmp_path) as client:
        assert client.get("/assets/form.js").text.count(rules) == 1


def test_a_missing_marker_or_shared_part_stops_the_splice() -> None:
    form_js = FORM_JS.read_text("utf-8")
    widget_js = WIDGET_JS.read_text("utf-8")
    assert SHARED_MARKER not in widget_script(widget_js, form_js)
    with pytest.raises(ValueError, match="once"):
        widget_script(widget_js.replace(SHARED_MARKER, ""), form_js)
    with pytest.raises(ValueError, match="once"):
        widget_script(widget_js + SHARED_MARKER, form_js)
    with pytest.raises(ValueError, match="shared-rules"):
        widget_script(widget_js, form_js.replace("// </shared-rules>", ""))
