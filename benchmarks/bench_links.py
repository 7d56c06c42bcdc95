"""Signed links: verifying one against the submit path, and making a campaign's.

Part 1, in the same run and on the car-service form: what opening or posting
a prefilled link adds to a submission.

* ``verify link``: ``read_token`` of a link giving plate, model, name, email
  and service, plate locked, with an expiry and a single-use id: the
  signature (HMAC-SHA256), the JSON, the claims' shape and time.
* ``verify + check values``: the same and its values checked as answers
  (``check_link_values``), as the service does before using them.
* ``verify portal JWT HS256`` / ``RS256``: a portal's JWT with the same
  claims, checked with a shared secret or a 2048-bit RSA public key (pyjwt).
* ``submit path``: ``intakeforms.submit`` of the sample answers into a
  SQLite store in a temporary folder (validate and normalise, one
  transaction with the outbox row, WAL, ``synchronous=FULL``), each call run
  to completion on one asyncio loop, as the service's event loop runs it.

Goal: verifying a link costs under 5 % of the submit path.

Part 2: making the links of a campaign of ``--links`` customers (100,000)
with name, email, plate and model each, the service and the lock given once.

* ``LinkMaker.link`` in this process, one core: every value checked as an
  answer, then signed (one signer for all).
* ``intakeforms link --csv``: the command on a CSV file of the same
  customers, in a new process (interpreter start and form loading
  included), output to a file; it shares rows out among processes when the
  machine has more than one CPU.

Wall time and CPU time are both printed: on a busy machine the wall time
grows, the CPU time much less.

Goal: 100,000 links in under 10 s.

Run: ``.venv/bin/python benchmarks/bench_links.py`` (``--quick`` for a smoke
test: 20,000 links, 3 short rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jwt
from _harness import Timing, add_arguments, describe_machine, measure, ratio_text
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intakeforms import load_form, open_store, read_token, submit
from intakeforms.links import LinkMaker, PortalKey, check_link_values

ROOT = Path(__file__).resolve().parent.parent
FORM_FILE = ROOT / "examples" / "car-service" / "car-service.yaml"
ANSWERS = json.loads((ROOT / "examples" / "car-service" / "answers.json").read_text("utf-8"))
SECRET = "bench-secret-of-the-service-at-least-32-chars"
PORTAL_SECRET = "bench-secret-shared-with-the-portal-32-bytes"
VERIFY_GOAL = 0.05  # verifying a link / the submit path
CAMPAIGN_GOAL_S = 10.0  # for 100,000 links
GIVEN = {
    "plate": "abc123",
    "model": "Toyota Corolla 2018",
    "name": "Matti Meikäläinen",
    "email": "matti.meikalainen@example.com",
    "service": "annual",
}


def _us(ns: float) -> str:
    return f"{ns / 1000:9.2f}"


def print_table(title: str, timings: list[Timing]) -> None:
    print(f"\n{title}")
    print(f"  {'contender':<28} {'median µs':>9} {'best µs':>9} {'spread':>7} {'calls':>7}")
    for t in timings:
        print(
            f"  {t.name:<28} {_us(t.median_ns)} {_us(t.best_ns)} "
            f"{t.spread * 100:6.1f}% {t.calls:7d}"
        )


def portal_claims() -> dict[str, Any]:
    return {
        "form": "car-service",
        "data": {**GIVEN, "plate": "ABC-123"},
        "lock": ["plate"],
        "aud": "intake",
        "iss": "https://portal.example.com",
        "exp": dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        "jti": "order-1234",
    }


def verification(rounds: int, sample_s: float) -> float:
    """Part 1; returns the ratio verify / submit path."""
    form = load_form(FORM_FILE)
    maker = LinkMaker(form, secret=SECRET)
    url = maker.link(GIVEN, lock=["plate"], expires=dt.timedelta(days=30), once=True)
    token = url.split("?t=", 1)[1]
    secrets = (SECRET,)
    hs_portal = PortalKey(PORTAL_SECRET, "intake", "https://portal.example.com")
    hs_token = jwt.encode(portal_claims(), PORTAL_SECRET, algorithm="HS256")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    rs_portal = PortalKey(public_pem, "intake", "https://portal.example.com")
    rs_token = jwt.encode(portal_claims(), private, algorithm="RS256")

    def verify() -> object:
        return read_token(token, "car-service", secrets=secrets)

    def verify_and_check() -> object:
        claims = read_token(token, "car-service", secrets=secrets)
        return check_link_values(form, claims.values)

    def verify_hs() -> object:
        return read_token(hs_token, "car-service", secrets=secrets, portal=hs_portal)

    def verify_rs() -> object:
        return read_token(rs_token, "car-service", secrets=secrets, portal=rs_portal)

    # Every contender's result is checked before timing.
    assert read_token(token, "car-service", secrets=secrets).values["plate"] == "ABC-123"
    assert (
        check_link_values(form, read_token(token, "car-service", secrets=secrets).values)[1] == []
    )
    assert verify_hs() == verify_rs()

    folder = tempfile.TemporaryDirectory(prefix="bench-links-")
    loop = asyncio.new_event_loop()
    store = open_store(f"sqlite:///{folder.name}/bench.db")
    loop.run_until_complete(store.open())

    def submit_path() -> object:
        return loop.run_until_complete(submit(store, form, ANSWERS, channel="api", locale="fi"))

    receipt = submit_path()
    assert getattr(receipt, "reference", "").startswith("CAR-")
    try:
        timings = measure(
            [
                ("verify link", verify),
                ("verify + check values", verify_and_check),
                ("verify portal JWT HS256", verify_hs),
                ("verify portal JWT RS256", verify_rs),
                ("submit path", submit_path),
            ],
            rounds=rounds,
            min_sample_s=sample_s,
        )
    finally:
        loop.run_until_complete(store.close())
        loop.close()
        folder.cleanup()
    print(f"\n1. Verifying a link (token of {len(token)} characters) against the submit path")
    print_table("per call", timings)
    submit_timing = timings[-1]
    print("\n  share of the submit path")
    for timing in timings[:-1]:
        print(
            f"  {timing.name:<28} {ratio_text(timing, submit_timing):>7}"
            f"  ({timing.median_ns / submit_timing.median_ns * 100:.2f} %)"
        )
    return timings[0].median_ns / submit_timing.median_ns


def campaign_rows(count: int) -> list[dict[str, str]]:
    return [
        {
            "name": f"Asiakas {n}",
            "email": f"asiakas{n}@example.com",
            "plate": f"{'ABCDEFGHJK'[n % 10]}{'KLMNPRST'[n // 10 % 8]}-{n % 999 + 1}",
            "model": "Toyota Corolla 2018",
        }
        for n in range(count)
    ]


def campaign(count: int, rounds: int) -> tuple[float, float]:
    """Part 2; returns the median seconds in process and by the command."""
    form = load_form(FORM_FILE)
    rows = campaign_rows(count)
    folder = tempfile.TemporaryDirectory(prefix="bench-links-")
    customers = Path(folder.name) / "customers.csv"
    with customers.open("w", encoding="utf-8") as handle:
        handle.write("name,email,plate,model\n")
        handle.writelines(f"{r['name']},{r['email']},{r['plate']},{r['model']}\n" for r in rows)
    expires = dt.timedelta(days=30)
    env = {**os.environ, "INTAKE_SECRET": SECRET, "INTAKE_PUBLIC_URL": "https://forms.example.com"}
    command = [
        sys.executable, "-m", "intakeforms", "link", str(FORM_FILE), "--csv", str(customers),
        "--set", "service=annual", "--lock", "plate", "--expires", "30d",
    ]  # fmt: skip
    in_process: list[float] = []
    by_command: list[float] = []
    cpu_in_process: list[float] = []
    cpu_by_command: list[float] = []
    try:
        for _ in range(rounds):
            maker = LinkMaker(form, secret=SECRET, base_url="https://forms.example.com")
            start, cpu = time.perf_counter(), time.process_time()
            links = [
                maker.link({**row, "service": "annual"}, lock=("plate",), expires=expires)
                for row in rows
            ]
            in_process.append(time.perf_counter() - start)
            cpu_in_process.append(time.process_time() - cpu)
            assert len(links) == count
            output = Path(folder.name) / "links.txt"
            start, cpu = time.perf_counter(), _children_cpu()
            with output.open("w") as out:
                subprocess.run(command, stdout=out, env=env, check=True)
            by_command.append(time.perf_counter() - start)
            cpu_by_command.append(_children_cpu() - cpu)
            with output.open() as printed:
                assert sum(1 for _ in printed) == count
    finally:
        folder.cleanup()
    scale = 100_000 / count
    print(f"\n2. Making {count:,} campaign links ({rounds} round(s); medians)")
    print(f"  {'contender':<36} {'wall s':>7} {'best s':>7} {'CPU s':>7} {'µs a link':>10}")
    for name, seconds, cpu_seconds in (
        ("LinkMaker.link, one core", in_process, cpu_in_process),
        (f"intakeforms link --csv ({os.cpu_count()} CPUs)", by_command, cpu_by_command),
    ):
        median = statistics.median(seconds)
        print(
            f"  {name:<36} {median:7.2f} {min(seconds):7.2f} "
            f"{statistics.median(cpu_seconds):7.2f} {median / count * 1e6:10.1f}"
        )
    if count != 100_000:
        print(f"  (figures for 100,000 links below are these times {scale:g})")
    return statistics.median(in_process) * scale, statistics.median(by_command) * scale


def _children_cpu() -> float:
    """CPU seconds of the finished child processes and theirs (user + system)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser, rounds=15, sample_s=0.05)
    parser.add_argument("--links", type=int, default=100_000, help="links of the campaign")
    parser.add_argument(
        "--campaign-rounds", type=int, default=3, help="times the campaign is made (default 3)"
    )
    args = parser.parse_args(argv)
    rounds, sample_s = (3, 0.01) if args.quick else (args.rounds, args.sample_seconds)
    count = min(args.links, 20_000) if args.quick else args.links
    campaign_rounds = 1 if args.quick else args.campaign_rounds

    print("bench_links: verifying a prefilled link, and making a campaign's links")
    print(describe_machine())
    share = verification(rounds, sample_s)
    in_process, by_command = campaign(count, campaign_rounds)

    print("\nGoals")
    verdict = "MET" if share < VERIFY_GOAL else "NOT MET"
    print(f"  verify link / submit path under {VERIFY_GOAL:.0%}: {share:.2%}  {verdict}")
    for name, seconds in (("in process", in_process), ("intakeforms link --csv", by_command)):
        verdict = "MET" if seconds < CAMPAIGN_GOAL_S else "NOT MET"
        print(f"  100,000 links under {CAMPAIGN_GOAL_S:.0f} s, {name}: {seconds:.1f} s  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
