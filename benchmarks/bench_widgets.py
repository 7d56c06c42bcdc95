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

Run: ``.venv/bin/python benchmarks/bench_widgets.py [--quick] [--rounds N]``
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
from pathlib import Path

from _harness import describe_machine

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 page loads: a smoke test")
    parser.add_argument("--rounds", type=int, default=25, help="page loads timed")
    args = parser.parse_args()
    print("bench_widgets: what the embeddable widgets cost a visitor")
    print(describe_machine())
    print()
    sizes()
    first_question(3 if args.quick else args.rounds)


if __name__ == "__main__":
    main()
