"""Prometheus metrics for operators, through ``prometheus-client``.

Off unless ``INTAKE_METRICS`` is set: ``true`` serves ``GET /metrics`` on the
service's own port, ``HOST:PORT`` serves it on a port of its own (the only
way for ``intakeforms worker``, which has no HTTP port). Each app or worker
has its own :class:`Metrics` with its own registry, never the process-wide
default one, so several apps in one process (tests, a host app mounting two
services) count apart.

What is counted (docs/operations.md, "Metrics and alerts")::

    intakeforms_submissions_total{form, outcome}          accepted | spam
    intakeforms_http_responses_total{route, status, code}
    intakeforms_delivery_attempts_total{kind}             email, webhook, zendesk, autoreply…
    intakeforms_delivery_failures_total{kind}
    intakeforms_delivery_seconds{kind}                    a histogram
    intakeforms_outbox_jobs{state}                        read from the store at scrape time
    intakeforms_outbox_oldest_pending_age_seconds
    intakeforms_store_up

No label holds personal data: forms, route templates, statuses, error codes
and target kinds only; never a client address, a reference or an answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from intakeforms.errors import StoreUnavailable
from intakeforms.intake import JobTarget
from intakeforms.settings import MetricsPlan, SettingsError, metrics_plan
from intakeforms.store.base import JOB_STATUSES, Store

__all__ = [
    "DELIVERY_BUCKETS",
    "Metrics",
    "MetricsPlan",
    "metrics_plan",
    "serve_metrics",
    "target_kind",
]

logger = logging.getLogger("intakeforms.metrics")

#: Seconds; from a local .eml file (milliseconds) to a slow helpdesk or a
#: mail server that greylists (the SMTP timeout is 30 s).
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: How long a scrape waits for the store before reporting it down.
STORE_TIMEOUT = 5.0


def target_kind(target: str) -> str:
    """The kind of an outbox job's target: ``email:0`` → ``email``."""
    named = JobTarget.parse(target)
    return named.kind if named is not None else target


class _Outbox(Collector):
    """The outbox gauges, read from the store when Prometheus scrapes.

    ``collect`` is synchronous and the store is async. On the service's own
    port the ``/metrics`` endpoint awaits :meth:`refresh` before generating
    the text, so ``collect`` reports fresh values from memory. On a port of
    its own the scrape runs in prometheus-client's server thread, which asks
    the event loop that owns the store for fresh values first.
    """

    def __init__(self) -> None:
        self.store: Store | None = None
        self.ready: Callable[[], Awaitable[None]] | None = None
        self._counts: dict[str, int] = {}
        self._oldest: dt.datetime | None = None
        self._up: bool | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._loop_thread: int | None = None

    def attach_loop(self) -> None:
        """Let scrapes from other threads read the store in this event loop."""
        self._token = anyio.lowlevel.current_token()
        self._loop_thread = threading.get_ident()

    def detach_loop(self) -> None:
        """The loop is going away: scrapes report the last values read."""
        self._token = None

    async def refresh(self) -> None:
        """Read the job counts and the oldest pending job from the store."""
        if self.store is None:
            return
        try:
            with anyio.fail_after(STORE_TIMEOUT):
                if self.ready is not None:
                    await self.ready()
                counts = await self.store.counts()
                oldest = await self.store.oldest_pending()
        except (StoreUnavailable, TimeoutError) as exc:
            # The reason names the database, never a customer's data.
            logger.warning("metrics: cannot read the outbox: %s", exc or "timed out")
            self._up = False
            return
        self._counts, self._oldest, self._up = counts, oldest, True

    def collect(self) -> Iterable[Metric]:
        token = self._token
        if token is not None and threading.get_ident() != self._loop_thread:
            # The event loop stops only after the metrics server has been
            # shut down, so this does not wait on a loop that is gone.
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run(self.refresh, token=token)
        if self._up is None:
            return
        yield GaugeMetricFamily(
            "intakeforms_store_up",
            "1 when the store answered the last scrape, 0 when it did not",
            value=1 if self._up else 0,
        )
        if not self._up:
            return
        jobs = GaugeMetricFamily(
            "intakeforms_outbox_jobs", "Outbox jobs in each state", labels=["state"]
        )
        for state in JOB_STATUSES:
            jobs.add_metric([state], self._counts.get(state, 0))
        yield jobs
        age = 0.0
        if self._oldest is not None:
            age = max(0.0, (dt.datetime.now(dt.UTC) - self._oldest).total_seconds())
        yield GaugeMetricFamily(
            "intakeforms_outbox_oldest_pending_age_seconds",
            "Seconds since the oldest pending job was created; 0 when none is pending",
            value=age,
        )


class Metrics:
    """The metrics of one app or worker, in a registry of their own."""

    def __init__(self, forms: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.submissions = Counter(
            "intakeforms_submissions",
            "Submissions stored, by form and outcome (accepted or spam)",
            ["form", "outcome"],
            registry=self.registry,
        )
        self.responses = Counter(
            "intakeforms_http_responses",
            "HTTP responses by route template, status and error code",
            ["route", "status", "code"],
            registry=self.registry,
        )
        self.attempts = Counter(
            "intakeforms_delivery_attempts",
            "Delivery attempts, by target kind",
            ["kind"],
            registry=self.registry,
        )
        self.failures = Counter(
            "intakeforms_delivery_failures",
            "Delivery attempts that failed (to be retried, or dead), by target kind",
            ["kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "intakeforms_delivery_seconds",
            "How long one delivery attempt took, by target kind",
            ["kind"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self._responded: dict[tuple[str, int, str], Counter] = {}
        self._outbox = _Outbox()
        self.registry.register(self._outbox)
        # Series that exist from the start, so rate() and alerts see a 0
        # rather than nothing before the first submission.
        for form in forms:
            for outcome in ("accepted", "spam"):
                self.submissions.labels(form, outcome)

    def watch(self, store: Store, ready: Callable[[], Awaitable[None]] | None = None) -> None:
        """Report the outbox of ``store`` (the gauges are read at scrape time);
        ``ready`` is awaited before each read (it opens the store if need be)."""
        self._outbox.store = store
        self._outbox.ready = ready

    def submitted(self, form: str, *, spam: bool) -> None:
        """Count one stored submission."""
        self.submissions.labels(form, "spam" if spam else "accepted").inc()

    def responded(self, route: str, status: int, code: str) -> None:
        """Count one HTTP response."""
        key = (route, status, code)
        counter = self._responded.get(key)
        if counter is None:
            # labels() checks and locks on every call: once per series is enough.
            counter = self._responded[key] = self.responses.labels(route, str(status), code)
        counter.inc()

    @contextlib.contextmanager
    def delivery(self, target: str) -> Iterator[None]:
        """Count and time one delivery attempt to ``target`` (``email:0``);
        an exception leaving the block counts as a failure."""
        kind = target_kind(target)
        started = time.perf_counter()
        self.attempts.labels(kind).inc()
        try:
            yield
        except BaseException:
            self.failures.labels(kind).inc()
            raise
        finally:
            self.latency.labels(kind).observe(time.perf_counter() - started)

    async def exposition(self) -> bytes:
        """The Prometheus text of every metric, the outbox read just now."""
        await self._outbox.refresh()
        return generate_latest(self.registry)

    async def serve(
        self,
        address: tuple[str, int],
        stop: anyio.Event,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve the metrics on ``address`` until ``stop`` is set.

        Start it with ``await task_group.start(...)``: it reports started
        once the port is bound, and an address that cannot be bound fails
        the start with :class:`~intakeforms.settings.SettingsError`.
        """
        from prometheus_client import start_http_server

        host, port = address
        try:
            server, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise SettingsError(
                f"INTAKE_METRICS={host}:{port}: cannot listen there ({exc.strerror or exc}); "
                "choose a free port, or an address of this host"
            ) from None
        self._outbox.attach_loop()
        logger.info("metrics: serving /metrics on %s:%s", host, port)
        task_status.started()
        try:
            await stop.wait()
        finally:
            with anyio.CancelScope(shield=True):
                self._outbox.detach_loop()
                # shutdown() waits for a scrape in progress, which may be
                # waiting for this loop: run it in a thread, not here.
                await anyio.to_thread.run_sync(server.shutdown)
                server.server_close()
                await anyio.to_thread.run_sync(thread.join, 5.0)


async def serve_metrics(
    metrics: Metrics,
    plan: MetricsPlan,
    stop: anyio.Event,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``metrics`` on the plan's own port until ``stop`` is set; on the
    service's port there is nothing to run (the app's route serves them)."""
    if plan.address is None:
        task_status.started()
        return
    await metrics.serve(plan.address, stop, task_status=task_status)
