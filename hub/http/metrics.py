"""Prometheus metrics at ``/metrics``, for a scrape that sends the ``metrics_token``.

Two kinds of figure. What passes through this process's HTTP layer (requests by route
template and status, their latency) is counted in :class:`HttpMetrics`. The hub's state
(envelopes by agency and status, the oldest unacknowledged envelope, push attempts, the
log and its newest signed head, held disclosures, open alerts) is read from the database
once per scrape (:func:`hub.app.metrics.hub_figures`), so it is the same whichever process
answers and is never summed across processes.

With ``marac-hub serve --workers N`` the serve command gives its workers a private
``PROMETHEUS_MULTIPROC_DIR``: each worker writes its counters there and a scrape, whichever
worker it reaches, adds them up (prometheus_client's multiprocess mode). Process metrics
then carry a ``pid`` label, one series per live worker, sampled every few seconds.

No ``metrics_token`` set: there is no ``/metrics`` route (404). See docs/monitoring.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
from collections.abc import AsyncIterator, Iterable, Iterator

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from hub.app.metrics import HubFigures, hub_figures
from hub.http.appkeys import RUNTIME, SETTINGS
from hub.protocol.errors import PROBLEM_CONTENT_TYPE, HubError, problem

__all__ = ["HTTP_METRICS", "METRICS_PATH", "HttpMetrics", "multiprocess_dir", "setup_metrics"]

METRICS_PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PROCESS_SAMPLE_SECONDS = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> str | None:
    """The multiprocess directory this process writes its metrics to, if any."""
    return os.environ.get(MULTIPROC_ENV) or None


class HttpMetrics:
    """Counters of this process's HTTP layer. Labels: the method, the route's template
    (``/api/v1/cases/{ref}``; ``unmatched`` for no route) and the status, never a
    concrete path."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "marac_hub_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "marac_hub_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


HTTP_METRICS = web.AppKey("http_metrics", HttpMetrics)
_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


class _Registered(Collector):
    """What another registry holds (this process's counters, in one-process mode)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class _Figures(Collector):
    """The database's figures read for this scrape."""

    def __init__(self, figures: HubFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        envelopes = GaugeMetricFamily(
            "marac_hub_envelopes",
            "Envelopes in the outbox by agency and status (queued, sent, delivered, expired, "
            "undelivered: dead-lettered)",
            labels=["agency", "status"],
        )
        for (agency, status), count in sorted(f.envelopes.items()):
            envelopes.add_metric([agency, status], count)
        yield envelopes
        oldest = GaugeMetricFamily(
            "marac_hub_oldest_unacknowledged_envelope_age_seconds",
            "Seconds since the agency's oldest envelope without a receipt was queued",
            labels=["agency"],
        )
        for agency, age in sorted(f.oldest_unacknowledged.items()):
            oldest.add_metric([agency], age)
        yield oldest
        attempts = CounterMetricFamily(
            "marac_hub_push_attempts",
            "Push delivery attempts by agency, transport and outcome "
            "(sending, delivered, failed, dead)",
            labels=["agency", "transport", "outcome"],
        )
        for (agency, transport, outcome), count in sorted(f.push_attempts.items()):
            attempts.add_metric([agency, transport, outcome], count)
        yield attempts
        retries = CounterMetricFamily(
            "marac_hub_push_retries",
            "Push delivery attempts after an envelope's first, by agency",
            labels=["agency"],
        )
        for agency, count in sorted(f.push_retries.items()):
            retries.add_metric([agency], count)
        yield retries
        alerts = GaugeMetricFamily(
            "marac_hub_open_alerts",
            "Unresolved coordinators' alerts by kind (expired, delivery-failed, ...)",
            labels=["kind"],
        )
        for kind, count in sorted(f.open_alerts.items()):
            alerts.add_metric([kind], count)
        yield alerts
        yield GaugeMetricFamily(
            "marac_hub_log_entries", "Entries in the disclosure log", value=f.log_size
        )
        yield GaugeMetricFamily(
            "marac_hub_log_unsigned_entries",
            "Log entries not yet covered by a signed tree head",
            value=f.log_size - (f.head_size or 0),
        )
        if f.head_size is not None and f.head_age is not None:
            yield GaugeMetricFamily(
                "marac_hub_log_signed_head_size",
                "Entries covered by the newest signed tree head",
                value=f.head_size,
            )
            yield GaugeMetricFamily(
                "marac_hub_log_signed_head_age_seconds",
                "Seconds since the newest tree head was signed",
                value=f.head_age,
            )
        yield GaugeMetricFamily(
            "marac_hub_held_disclosures",
            "Disclosures held for review, waiting for a decision",
            value=f.held,
        )
        if f.oldest_held is not None:
            yield GaugeMetricFamily(
                "marac_hub_oldest_held_disclosure_age_seconds",
                "Seconds the oldest held disclosure has waited",
                value=f.oldest_held,
            )
        yield GaugeMetricFamily(
            "marac_hub_scrape_timestamp_seconds",
            "When the database was read for this scrape (Unix time)",
            value=f.now.timestamp(),
        )


def _unauthorised(request: web.Request) -> web.Response:
    doc = problem(
        HubError("the metrics scrape token is required", code="unauthorized"),
        instance=request.path,
    )
    return web.Response(
        status=doc["status"],
        text=json.dumps(doc),
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )


async def _scrape(request: web.Request) -> web.Response:
    """The metrics in Prometheus's text format, or OpenMetrics if the scrape asks for it
    (a scrape must send the token)."""
    token = request.app[SETTINGS].metrics_token
    assert token is not None  # the route exists only with a token
    expected = f"Bearer {token.get_secret_value()}".encode()
    sent = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(sent, expected):
        return _unauthorised(request)
    figures = await hub_figures(request.app[RUNTIME])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(figures))
    if multiprocess_dir() is not None:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # every worker's counters and process gauges
    else:
        registry.register(_Registered(request.app[_REGISTRY]))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = await asyncio.to_thread(encode, registry)
    return web.Response(body=body, headers={"Content-Type": content_type})


class _ProcessGauges:
    """This worker's process figures as multiprocess gauges (one series per live pid),
    since a scrape reaches one worker and cannot read its siblings' /proc."""

    def __init__(self) -> None:
        self.source = ProcessCollector(registry=None)
        self.gauges: dict[str, Gauge] = {}

    def sample(self) -> None:
        for family in self.source.collect():
            for sample in family.samples:
                gauge = self.gauges.get(sample.name)
                if gauge is None:
                    gauge = Gauge(
                        sample.name,
                        family.documentation,
                        registry=None,
                        multiprocess_mode="liveall",
                    )
                    self.gauges[sample.name] = gauge
                gauge.set(sample.value)


async def _process_sampler(_app: web.Application) -> AsyncIterator[None]:
    """In multiprocess mode, sample this worker's process figures every few seconds."""
    gauges = _ProcessGauges()
    gauges.sample()

    async def loop() -> None:
        while True:
            await asyncio.sleep(PROCESS_SAMPLE_SECONDS)
            gauges.sample()

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup_metrics(app: web.Application) -> None:
    """Count requests (``observe_requests`` reads ``app[HTTP_METRICS]``); serve
    ``/metrics`` if the settings name a scrape token."""
    if multiprocess_dir() is not None:
        app[HTTP_METRICS] = HttpMetrics(None)  # written to the multiprocess directory
        app.cleanup_ctx.append(_process_sampler)
    else:
        app[_REGISTRY] = registry = CollectorRegistry(auto_describe=True)
        app[HTTP_METRICS] = HttpMetrics(registry)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    if app[SETTINGS].metrics_token is not None:
        app.router.add_get(METRICS_PATH, _scrape, allow_head=False)
