"""Rate limiting and the time trap, without the app around them."""

from __future__ import annotations

from pathlib import Path

import anyio

from intakeforms.store import SqliteStore
from intakeforms.web.limits import RateLimiter, shared
from intakeforms.web.spam import SpamJudge


def test_rate_limiter_allows_the_limit_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(3, 60)
    assert [limiter.hit("a", now=0.0) for _ in range(3)] == [0, 0, 0]
    wait = limiter.hit("a", now=1.0)
    assert 1 <= wait <= 60
    assert limiter.hit("b", now=1.0) == 0  # other clients are not affected
    # The previous window's weight fades through the next one.
    assert limiter.hit("a", now=61.0) > 0
    assert limiter.hit("a", now=100.0) == 0


def test_rate_limiter_forgets_old_keys_first() -> None:
    limiter = RateLimiter(1, 60, max_keys=2)
    for key in ("a", "b", "c"):
        limiter.hit(key, now=0.0)
    assert limiter.hit("a", now=0.0) == 0  # "a" was forgotten
    assert limiter.hit("c", now=0.0) > 0


def test_rate_limiter_keeps_no_client_that_no_longer_counts() -> None:
    """A busy site sees new addresses all day: those idle for two windows
    are forgotten, so memory follows the clients of the last minutes, not
    every client since the start (found growing in bench_memory)."""
    limiter = RateLimiter(2, 60)
    for n in range(1000):
        limiter.hit(f"client-{n}", now=float(n % 60))
    assert len(limiter._windows) == 1000  # all of this minute still count
    limiter.hit("late", now=95.0)  # the next minute: the first minute's weigh in
    assert len(limiter._windows) == 1001
    limiter.hit("later", now=130.0)  # two minutes on: they count for nothing
    assert set(limiter._windows) == {"late", "later"}
    # A client forgotten that way is as if new: its old requests never counted.
    assert limiter.hit("client-0", now=130.0) == 0


def judge(require: bool = False) -> SpamJudge:
    return SpamJudge("secret", min_seconds=3, max_age_seconds=3600, require_token=require)


def test_time_trap() -> None:
    token = judge().issue("car-service", now=1000.0)
    verdict = judge().judge("car-service", token=token, honeypot=None, browser=True, now=1001.0)
    assert verdict.spam and "after the page" in verdict.reason
    assert not judge().judge("car-service", token=token, honeypot="", browser=True, now=1010.0).spam
    # A page left open for days is still a person.
    assert not judge().judge("car-service", token=token, honeypot="", browser=True, now=10**7).spam


def test_forged_and_foreign_tokens_are_spam() -> None:
    token = judge().issue("billing", now=0.0)
    assert judge().judge("car-service", token=token, honeypot=None, browser=True, now=60.0).spam
    other = SpamJudge("other", min_seconds=3, max_age_seconds=3600, require_token=False)
    forged = other.issue("car-service", now=0.0)
    assert judge().judge("car-service", token=forged, honeypot=None, browser=True, now=60.0).spam
    assert judge().judge("car-service", token="junk", honeypot=None, browser=True, now=60.0).spam


def test_honeypot_and_missing_tokens() -> None:
    token = judge().issue("f", now=0.0)
    assert judge().judge("f", token=token, honeypot="http://spam", browser=True, now=60.0).spam
    assert judge().judge("f", token=None, honeypot=None, browser=True).spam
    assert not judge().judge("f", token=None, honeypot=None, browser=False).spam
    assert judge(require=True).judge("f", token=None, honeypot=None, browser=False).spam


def test_a_shared_limit_counts_for_every_store_on_one_file(tmp_path: Path) -> None:
    """As ``serve --workers N`` counts on SQLite: the limit is the service's,
    not each process's."""

    async def counts() -> list[float]:
        first = SqliteStore(str(tmp_path / "intake.db"))
        second = SqliteStore(str(tmp_path / "intake.db"))
        await first.open()
        await second.open()
        try:
            limiter = RateLimiter(3, 60)
            one, other = shared(limiter, first, "secret"), shared(limiter, second, "secret")
            assert shared(one, second, "secret") is one
            return [await counter.take("a") for counter in (one, other, one, other)]
        finally:
            await first.close()
            await second.close()

    waits = anyio.run(counts)
    assert waits[:3] == [0, 0, 0]
    assert waits[3] >= 1
