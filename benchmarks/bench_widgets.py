"""What the widgets cost a visitor: bytes downloaded, and time to the first question.

1. **Size**: ``widget.js`` and ``widget.css`` as the service sends them
   (minified by tdewolff-minify, gzipped at level 9), and at gzip's default
   level 6 too, next to a saved list of the peers' figures, each the bytes
   their documented embed downloads, minified and gzipped: Conversational
   Form 34.6 kB, Typeform's embed loader 14.5 kB (it only opens an iframe),
   SurveyJS 390 kB, Form.io 470 kB. Goal: both widgets together at most 12 kB.
   ``widget-faq.js`` (the self-service part: answers offered before a form,
   topics, the chat's "Continue by email later") is printed apart: the
   script fetches it only for a form with FAQ answers, a widget that asks the
   topic, or a chat whose service can mail drafts.

2. **Time from a click on the launcher to the first question on screen**, in
   headless Chromium, measured inside the page with ``performance.now()``:
   from ``click()`` on the launcher until the first question's label is in the
   pop-up, checked on every animation frame. The widget fetches
   ``spec.json`` when it is put on the page (the launcher's own label comes
   from it), so a click waits for no request. In the same page load, the
   baseline: ``fetch()`` of the same ``spec.json`` and parsing it, what a
   pop-up that fetched its questions on the click (as Typeform's embed loads
   its iframe) would wait at least. Median over ``--rounds`` fresh page loads.

3. **First contentful paint of the hosted form page** (``/forms/car-service``
   in Finnish), before and after a change, in one run: the "before" service
   is the project at ``--before`` (a commit; default the one before issue 16's
   live checks, steps, theme and favicon), checked out with ``git worktree``
   into a temporary folder and run by this venv's Python in a process of its
   own; the "after" one is this checkout. Both serve the same form file (the
   older one's ``examples/car-service/car-service.yaml``), so only the page's own cost
   differs; this checkout's own example (sections, a step) is timed too.
   Chromium's ``first-contentful-paint`` entry (Paint Timing API), each load
   in a fresh browser context (nothing cached), the services taking turns;
   median over ``--rounds`` loads each, and the median of the after/before
   ratio within each turn (which cancels most of a busy machine's noise).
   Goal: after at most 10 % slower.

Run: ``.venv/bin/python benchmarks/bench_widgets.py [--quick] [--rounds N] [--before REV]``
"""

from __future__ import annotations

import argparse
import gzip
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _harness import describe_machine, worktree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from intakeforms import load_forms  # noqa: E402
from intakeforms.settings import Settings  # noqa: E402
from intakeforms.web import create_app  # noqa: E402
from intakeforms.web.widgets import widget_asset  # noqa: E402

#: kB (1000 bytes), minified and gzipped, of each peer's embed.
PEERS = {
    "Conversational Form": 34.6,
    "Typeform embed loader": 14.5,
    "SurveyJS": 390.0,
    "Form.io": 470.0,
}
GOAL_KB = 12.0

HOST_PAGE = """<!DOCTYPE html>
<html lang="fi"><head><meta charset="utf-8"><title>Host</title>
<script src="/widget.js" defer></script></head>
<body><intake-chat form="car-service"></intake-chat></body></html>"""

MEASURE = """async ([label, spec]) => {
  const host = document.querySelector("intake-chat");
  await customElements.whenDefined("intake-chat");
  while (!host.shadowRoot || !host.shadowRoot.querySelector("button")) {
    await new Promise(requestAnimationFrame);
  }
  const base0 = performance.now();
  await (await fetch(spec, {cache: "no-store"})).json();
  const baseline = performance.now() - base0;
  const start = performance.now();
  host.shadowRoot.querySelector("button").click();
  return await new Promise(resolve => {
    const look = () => host.shadowRoot.textContent.includes(label)
      ? resolve([performance.now() - start, baseline])
      : requestAnimationFrame(look);
    look();
  });
}"""


def sizes() -> None:
    print("1. Bytes a visitor downloads (kB = 1000 bytes)")
    print(f"  {'file':<12} {'source':>8} {'minified':>9} {'gzip -9':>8} {'gzip -6':>8}")
    total9 = total6 = 0
    for name in ("widget.js", "widget.css"):
        asset = widget_asset(name)
        source = (ROOT / "widgets" / name).stat().st_size
        six = len(gzip.compress(asset.body, compresslevel=6, mtime=0))
        total9 += len(asset.gzipped)
        total6 += six
        print(
            f"  {name:<12} {source / 1000:>8.1f} {len(asset.body) / 1000:>9.1f}"
            f" {len(asset.gzipped) / 1000:>8.1f} {six / 1000:>8.1f}"
        )
    ours = total9 / 1000
    print(f"  {'both':<12} {'':>8} {'':>9} {ours:>8.1f} {total6 / 1000:>8.1f}")
    faq = widget_asset("widget-faq.js")
    source = (ROOT / "widgets" / "widget-faq.js").stat().st_size
    six = len(gzip.compress(faq.body, compresslevel=6, mtime=0))
    print(
        f"  {'widget-faq.js':<12} {source / 1000:>8.1f} {len(faq.body) / 1000:>9.1f}"
        f" {len(faq.gzipped) / 1000:>8.1f} {six / 1000:>8.1f}"
        "  (only for answers before a form, topics, continue later)"
    )
    js, css = widget_asset("widget.js"), widget_asset("widget.css")
    print(f"  in bytes: widget.js {len(js.gzipped)} + widget.css {len(css.gzipped)} = {total9}")
    print("  peers (saved figures, minified and gzipped):")
    for peer, kb in PEERS.items():
        print(f"    {peer:<24} {kb:>6.1f} kB   ours is {ours / kb:.2f} of it")
    verdict = "met" if ours <= GOAL_KB else "NOT MET"
    print(f"  goal at most {GOAL_KB:.0f} kB for both widgets: {verdict} ({ours:.1f} kB as served)")


def first_question(rounds: int) -> None:
    forms = load_forms([ROOT / "examples"])
    car = next(form for form in forms if form.id == "car-service")
    label = str(car.spec("fi")["fields"][0]["label"])
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            store=f"sqlite:///{folder}/intake.db",
            mail_dir=Path(folder) / "mail",
            upload_dir=Path(folder) / "uploads",
            secret="bench",
            rate_limit="0",
        )
        server = LiveServer(create_app(forms, settings))
        base = server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    results = [measure_once(browser, base, label) for _ in range(rounds + 1)][
                        1:
                    ]  # the first load warms the server and the browser's caches
                finally:
                    browser.close()
        finally:
            server.stop()
    ours = statistics.median(r[0] for r in results)
    floor = statistics.median(r[1] for r in results)
    best, best_floor = min(r[0] for r in results), min(r[1] for r in results)
    print(f"\n2. Click on the launcher to the first question on screen, Chromium, {rounds} loads")
    print(f"  {'contender':<44} {'median ms':>9} {'best ms':>8}")
    print(f"  {'ours: launcher click to first question':<44} {ours:>9.1f} {best:>8.1f}")
    print(f"  {'baseline: fetch and parse spec.json':<44} {floor:>9.1f} {best_floor:>8.1f}")
    print(f"  ours / baseline: {ours / floor:.2f} (below 1: the click waits for no request)")


def measure_once(browser: object, base: str, label: str) -> tuple[float, float]:
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        page.route(
            f"{base}/host",
            lambda route: route.fulfill(status=200, content_type="text/html", body=HOST_PAGE),
        )
        page.goto(f"{base}/host")
        spec = f"{base}/forms/car-service/spec.json?lang=fi"
        took, baseline = page.evaluate(MEASURE, [label, spec])
        return float(took), float(baseline)
    finally:
        page.close()


#: The commit before issue 16 (live checks, steps, theme, favicon on the page).
BEFORE = "9a28610"

#: Serves the forms of ``argv[1]`` on port ``argv[2]`` with the intakeforms
#: found first on ``sys.path`` (PYTHONPATH: the worktree's).
SERVE = """
import sys, tempfile
from pathlib import Path
import uvicorn
import intakeforms
from intakeforms import load_forms
from intakeforms.settings import Settings
from intakeforms.web import create_app
print(intakeforms.__file__, file=sys.stderr)
folder = Path(tempfile.mkdtemp())
settings = Settings(store=f"sqlite:///{folder}/intake.db", mail_dir=folder / "mail",
                    upload_dir=folder / "uploads", secret="bench", rate_limit="0")
app = create_app(load_forms([Path(sys.argv[1])]), settings)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

#: [first contentful paint, first byte of the page] in ms from navigation start.
PAINT = """() => new Promise(resolve => {
  const found = () => performance.getEntriesByName("first-contentful-paint")[0];
  const done = () => resolve([found().startTime,
    performance.getEntriesByType("navigation")[0].responseStart]);
  if (found()) return done();
  new PerformanceObserver(() => found() && done()).observe({type: "paint", buffered: true});
})"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _service(code: Path, forms: Path) -> Iterator[str]:
    """The service of the project at ``code`` serving ``forms``; its base URL."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(code)}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(forms), str(port)],
        cwd=code,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert process.stderr is not None
        loaded = process.stderr.readline().strip()
        if not loaded.startswith(str(code)):
            raise RuntimeError(f"the service at {code} imported {loaded or 'nothing'}")
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the service at {code} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def first_paint(rounds: int, before: str) -> None:
    print(f"\n3. First contentful paint of the hosted form page, Chromium, {rounds} loads each")
    with worktree(before) as old, tempfile.TemporaryDirectory() as folder:
        # One form file for both: the older one, which both can read.
        same = Path(folder) / "same"
        same.mkdir()
        (same / "car-service.yaml").write_bytes(
            (old / "examples/car-service/car-service.yaml").read_bytes()
        )
        own = Path(folder) / "own"
        own.mkdir()
        (own / "car-service.yaml").write_bytes(
            (ROOT / "examples/car-service/car-service.yaml").read_bytes()
        )
        with (
            _service(old, same) as was,
            _service(ROOT, same) as now,
            _service(ROOT, own) as now_own,
        ):
            contenders = {
                f"before ({before}), same form": was,
                "after (this checkout), same form": now,
                "after, this checkout's example form": now_own,
            }
            times: dict[str, list[float]] = {name: [] for name in contenders}
            firsts: dict[str, list[float]] = {name: [] for name in contenders}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    for turn in range(rounds + 1):
                        for name, base in contenders.items():
                            context = browser.new_context()
                            page = context.new_page()
                            page.goto(f"{base}/forms/car-service?lang=fi")
                            took, first_byte = page.evaluate(PAINT)
                            context.close()
                            if turn:  # the first turn warms both services
                                times[name].append(float(took))
                                firsts[name].append(float(first_byte))
                finally:
                    browser.close()
    print(f"  {'page':<44} {'median ms':>9} {'best ms':>8} {'1st byte':>8}")
    for name, found in times.items():
        first = statistics.median(firsts[name])
        print(f"  {name:<44} {statistics.median(found):>9.1f} {min(found):>8.1f} {first:>8.1f}")
    old_ms, new_ms = list(times.values())[:2]
    # Each turn loads both pages back to back: the ratio within a turn
    # cancels most of what a busy machine does to both.
    change = statistics.median(b / a for a, b in zip(old_ms, new_ms, strict=True)) - 1
    verdict = "met" if change <= 0.10 else "NOT MET"
    print(f"  after / before, same form, median of {rounds} turns: {change:+.1%}", end="")
    print(f" (medians {statistics.median(new_ms) / statistics.median(old_ms) - 1:+.1%})")
    print(f"  goal: at most +10 %: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 page loads: a smoke test")
    parser.add_argument("--rounds", type=int, default=25, help="page loads timed")
    parser.add_argument("--before", default=BEFORE, help="the commit the page is compared with")
    args = parser.parse_args()
    print("bench_widgets: what the embeddable widgets cost a visitor")
    print(describe_machine())
    print()
    sizes()
    first_question(3 if args.quick else args.rounds)
    first_paint(3 if args.quick else args.rounds, args.before)


if __name__ == "__main__":
    main()
