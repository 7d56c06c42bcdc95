"""Helpers for the browser tests: the real app served by uvicorn in a thread,
Chromium's launch options, axe-core, screenshots and reading the store.

Playwright never downloads a browser here: the tests drive the system's
Chromium (:data:`CHROMIUM`) and run axe-core from the copy that
``axe-playwright-python`` bundles.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from conftest import ROOT
from playwright.sync_api import Page, ViewportSize
from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Where the screenshots go, for a person to look at (ignored by git).
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = ViewportSize(width=360, height=740)
NARROW = ViewportSize(width=320, height=640)
DESKTOP = ViewportSize(width=1280, height=900)
#: Every width a page is photographed at, by the name in the file name.
WIDTHS: dict[str, ViewportSize] = {"phone-360": PHONE, "phone-320": NARROW, "desktop": DESKTOP}


def require_chromium() -> None:
    """Skip the calling test module without Chromium; under CI, fail it."""
    if CHROMIUM.exists():
        return
    if "CI" in os.environ:
        pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing", pytrace=False)
    pytest.skip(
        f"the browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)",
        allow_module_level=True,
    )


#: The impacts that fail an axe-core audit.
SERIOUS = ("serious", "critical")


class LiveServer:
    """``app`` served by uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            ws="none",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self, timeout: float = 10) -> str:
        """Start serving and wait until uvicorn says it has started; the base URL."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("uvicorn did not start; see its log above")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        """Ask uvicorn to finish (it runs the app's shutdown) and wait for it."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.socket.close()


# -- axe-core -----------------------------------------------------------------------


def _axe_source() -> str:
    # Found without importing the package: only its bundled axe.min.js is used.
    spec = importlib.util.find_spec("axe_playwright_python")
    assert spec is not None and spec.submodule_search_locations, "axe-playwright-python"
    return (Path(spec.submodule_search_locations[0]) / "axe.min.js").read_text(encoding="utf-8")


AXE_SOURCE = _axe_source()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now.

    Playwright's evaluate is not subject to the page's Content-Security-Policy,
    so the page is audited with the same CSP a customer gets. axe needs
    JavaScript timers, so a page without JavaScript is audited with form.js
    left out instead (see the tests).
    """
    page.evaluate(AXE_SOURCE)
    results: dict[str, Any] = page.evaluate(
        "() => axe.run(document, { resultTypes: ['violations'] })"
    )
    return [v for v in results["violations"] if v.get("impact") in SERIOUS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """The violations for an assertion message: rule, impact, what and where."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:10]:
            lines.append(f"  - {json.dumps(node['target'])}: {node['html'][:160]}")
            summary = str(node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"    {summary[:300]}")
    return "\n".join(lines)


# -- screenshots ----------------------------------------------------------------------


def screenshots(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of ``page`` at every width in :data:`WIDTHS`;
    the page's own viewport is put back afterwards."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    paths = []
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=path, full_page=True, animations="disabled")
        paths.append(path)
    if original is not None:
        page.set_viewport_size(original)
    return paths


# -- the store ---------------------------------------------------------------------


def stored(database: Path, reference: str) -> dict[str, Any]:
    """The submission row with ``reference``, its JSON ``data`` decoded."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM submissions WHERE reference = ?", (reference,)).fetchone()
    assert row is not None, f"{reference} is not in the store"
    found = dict(row)
    found["data"] = json.loads(found["data"])
    return found
