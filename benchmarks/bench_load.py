"""Load and compile 200 form files: intakeforms vs a naive loader.

The script writes 200 varied form files into a temporary folder:

* 50 copies of ``examples/car-service/car-service.yaml``, each with its own
  ``form:`` id;
* 150 synthetic forms of 20 to 40 fields each, drawn (with a fixed seed) from
  every field type, with plain-string and per-locale texts, patterns, bounds,
  defaults, and ``when`` conditions on earlier choice, multichoice, boolean,
  integer and number questions (some nested with ``any``/``all``).

Then, in the same run:

* ``intakeforms``: ``load_forms([folder])`` followed by ``form.json_schema()``
  for every form: YAML read with locations, shape check, whole-form rules,
  ``when`` parsing, and the JSON Schema.
* ``naive (yaml.safe_load)``: the same files, listed the same way, each read
  with ``yaml.safe_load`` and checked with ``FormDefinition.model_validate``
  only. This is what a loader without locations, rules or schemas would do.
* ``naive (CSafeLoader)``: the same with libyaml's ``yaml.CSafeLoader``
  (intakeforms itself parses with libyaml), the faster naive variant.

Every repeat loads fresh ``Form`` objects, so ``json_schema()`` is never served
from its cache. Figures are ms for all 200 forms and ms per form.

Run: ``.venv/bin/python benchmarks/bench_load.py`` (``--quick`` for a smoke
test, ``--rounds N`` to tune, ``--keep DIR`` to write the forms to DIR and keep
them).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from _harness import Timing, add_arguments, describe_machine, measure, ratio_text

from intakeforms import load_forms
from intakeforms.language.models import FormDefinition

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "car-service" / "car-service.yaml"
CAR_COPIES = 50
SYNTHETIC = 150
SEED = 20240601

LOCALES = ("fi", "sv", "en")
PLATE_REGIONS = ("FI", "SE", "DK", "EE")  # NO would be False for yaml.safe_load unless quoted
POSTAL_REGIONS = ("FI", "SE", "DK", "DE", "EE", "US", "GB")
PHONE_REGIONS = ("FI", "SE", "DE", "EE", "GB", "US")
CONDITION_SOURCES = ("choice", "multichoice", "boolean", "integer", "number")
OTHER_TYPES = (
    "text",
    "textarea",
    "email",
    "phone",
    "url",
    "date",
    "time",
    "file",
    "plate",
    "vin",
    "iban",
    "postal_code",
    "national_id",
    "business_id",
    "consent",
)


# -- generating the forms ----------------------------------------------------


def _text(rng: random.Random, words: str) -> str | dict[str, str]:
    if rng.random() < 0.4:
        return words.capitalize()
    return {code: f"{words.capitalize()} ({code})" for code in LOCALES}


def _field(rng: random.Random, index: int, kind: str) -> dict[str, Any]:
    field: dict[str, Any] = {
        "name": f"{kind}_{index}",
        "type": kind,
        "label": _text(rng, f"question {index} about {kind.replace('_', ' ')}"),
    }
    if kind != "consent" and rng.random() < 0.5:
        field["required"] = True
    if rng.random() < 0.3:
        field["help"] = _text(rng, f"a hint for question {index}")
    if kind in ("text", "textarea"):
        field["max_length"] = rng.choice((80, 200, 2000))
        if kind == "text" and rng.random() < 0.3:
            field["pattern"] = rng.choice((r"[A-Z]{2}[0-9]{4}", r"[0-9]{3}-[0-9]{4}", r"\w+"))
        if rng.random() < 0.2:
            field["placeholder"] = _text(rng, "for example this")
    elif kind == "integer":
        field["min"] = 0
        field["max"] = rng.choice((10, 1000, 2_000_000))
        if rng.random() < 0.5:
            field["unit"] = rng.choice(("km", "kg", {"fi": "kpl", "sv": "st", "en": "pcs"}))
        if rng.random() < 0.3:
            field["default"] = 1
    elif kind == "number":
        field["min"] = 0.5
        field["max"] = 99.5
    elif kind in ("choice", "multichoice"):
        count = rng.randint(2, 6)
        field["choices"] = {f"option_{j}": _text(rng, f"option {j}") for j in range(count)}
        if kind == "multichoice":
            field["max"] = count
    elif kind == "date":
        field["min"] = "today+1"
        field["max"] = f"today+{rng.choice((30, 90, 180))}"
    elif kind == "time":
        field["min"] = "08:00"
        field["max"] = "17:30"
    elif kind == "file":
        field["accept"] = ["image/jpeg", "image/png", "application/pdf"]
        field["max_size"] = "10 MB"
        field["max_files"] = rng.randint(1, 5)
    elif kind == "plate":
        field["region"] = rng.choice(PLATE_REGIONS)
    elif kind == "postal_code":
        field["region"] = rng.choice(POSTAL_REGIONS)
    elif kind == "phone":
        field["region"] = rng.choice(PHONE_REGIONS)
    elif kind in ("national_id", "business_id"):
        field["region"] = rng.choice(("FI", "SE"))
    elif kind == "vin":
        field["check_digit"] = rng.random() < 0.5
    elif kind == "consent":
        field["required"] = rng.random() < 0.7
    return field


def _condition(rng: random.Random, source: dict[str, Any]) -> dict[str, Any]:
    name, kind = source["name"], source["type"]
    if kind in ("choice", "multichoice"):
        keys = list(source["choices"])
        if rng.random() < 0.5:
            return {name: rng.choice(keys)}
        return {name: rng.sample(keys, k=min(2, len(keys)))}
    if kind == "boolean":
        return {name: rng.random() < 0.5}
    if kind == "integer":
        return {name: {"gte": 5}}
    return {name: {"lt": 50.5}}


def synthetic_form(rng: random.Random, number: int) -> dict[str, Any]:
    """One generated form with 20 to 40 fields and some ``when`` conditions."""
    count = rng.randint(20, 40)
    fields: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    for index in range(count):
        kind = rng.choice(CONDITION_SOURCES) if rng.random() < 0.35 else rng.choice(OTHER_TYPES)
        field = _field(rng, index, kind)
        if sources and rng.random() < 0.3:
            first = _condition(rng, rng.choice(sources))
            if rng.random() < 0.25 and len(sources) > 1:
                field["when"] = {
                    rng.choice(("any", "all")): [first, _condition(rng, rng.choice(sources))]
                }
            else:
                field["when"] = first
        fields.append(field)
        if kind in CONDITION_SOURCES:
            sources.append(field)
    form: dict[str, Any] = {
        "form": f"synthetic-{number:03d}",
        "title": _text(rng, f"synthetic form {number}"),
        "description": _text(rng, "a generated form for the load benchmark"),
        "locales": list(LOCALES),
        "reference_prefix": f"S{number:03d}",
        "summary": " ".join(f"{{{f['name']}}}" for f in fields[:3]),
        "fields": fields,
    }
    if rng.random() < 0.5:
        form["deliver"] = [{"email": {"to": [f"team{number}@example.com"], "locale": "fi"}}]
    else:
        form["deliver"] = [{"webhook": {"url": "https://example.com/hook", "secret_env": "HOOK"}}]
    return form


def write_forms(folder: Path, copies: int = CAR_COPIES, synthetic: int = SYNTHETIC) -> list[Path]:
    """Write the form files (200 by default: ``copies`` of the car-service
    form and ``synthetic`` generated ones) into ``folder``; return their paths."""
    rng = random.Random(SEED)
    paths: list[Path] = []
    example = EXAMPLE.read_text(encoding="utf-8")
    assert "\nform: car-service\n" in example
    for i in range(copies):
        path = folder / f"car-service-{i:03d}.yaml"
        path.write_text(
            example.replace("\nform: car-service\n", f"\nform: car-service-{i:03d}\n"),
            encoding="utf-8",
        )
        paths.append(path)
    for i in range(synthetic):
        path = folder / f"synthetic-{i:03d}.yaml"
        text = yaml.safe_dump(synthetic_form(rng, i), sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


# -- the contenders ----------------------------------------------------------


def ours(folder: Path) -> Callable[[], object]:
    def run() -> object:
        forms = load_forms([folder])
        return [form.json_schema() for form in forms]

    return run


def naive(folder: Path, load: Callable[[str], Any]) -> Callable[[], object]:
    def run() -> object:
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
        return [FormDefinition.model_validate(load(p.read_text("utf-8"))) for p in files]

    return run


def _safe_load(text: str) -> Any:
    return yaml.safe_load(text)


def _c_safe_load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


# -- report ------------------------------------------------------------------


def print_table(timings: list[Timing], forms: int) -> None:
    header = f"  {'contender':<40} {'median ms':>9} {'best ms':>9} {'ms/form':>8} {'spread':>7}"
    print(header)
    for t in timings:
        print(
            f"  {t.name:<40} {t.median_ns / 1e6:9.1f} {t.best_ns / 1e6:9.1f} "
            f"{t.median_ns / 1e6 / forms:8.3f} {t.spread * 100:6.1f}%"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser, rounds=7, sample_s=0.0)
    parser.add_argument("--keep", type=Path, help="write the forms to this folder and keep them")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds

    with tempfile.TemporaryDirectory(prefix="intakeforms-bench-") as scratch:
        folder: Path = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        paths = write_forms(folder)
        total = len(paths)
        fields = sum(
            len(FormDefinition.model_validate(_c_safe_load(p.read_text("utf-8"))).fields)
            for p in paths
        )
        conditions = sum(p.read_text("utf-8").count("when:") for p in paths)
        size = sum(p.stat().st_size for p in paths)

        # Check that every contender really loads all the forms.
        ours_forms = load_forms([folder])
        assert len(ours_forms) == total, len(ours_forms)
        for run in (naive(folder, _safe_load), naive(folder, _c_safe_load)):
            loaded = run()
            assert isinstance(loaded, list)
            assert len(loaded) == total, len(loaded)

        print("bench_load: load + compile 200 form files")
        print(describe_machine())
        print(
            f"{total} files ({CAR_COPIES} car-service copies, {SYNTHETIC} synthetic), "
            f"{fields} fields, {conditions} when conditions, {size / 1024:.0f} KiB in {folder}"
        )
        print(
            f"median of {rounds} interleaved rounds (best also shown), one full load of all "
            f"{total} forms per round and contender, after a warm-up"
        )
        timings = measure(
            [
                ("intakeforms  load_forms + json_schema", ours(folder)),
                ("naive        yaml.safe_load + model", naive(folder, _safe_load)),
                ("naive        CSafeLoader + model", naive(folder, _c_safe_load)),
            ],
            rounds=rounds,
            min_sample_s=0.0,
            warmup_s=0.0,
            max_calls=1,
        )
        print_table(timings, total)
        print(f"  ours / naive (yaml.safe_load)   {ratio_text(timings[0], timings[1])}")
        print(f"  ours / naive (CSafeLoader)      {ratio_text(timings[0], timings[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
