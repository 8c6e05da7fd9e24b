"""Prometheus metrics of the gateway, in a registry of its own (several apps per process in tests)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from blender_http_addon.protocol import MCP

# Exec round trips are sub-millisecond to minutes: buckets span both.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                   30, 60, 300)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def route_label(scope: Mapping[str, Any]) -> str:
    """The route a request matched, as its template (/files/{path:path}), read from the ASGI
    scope where the router put it: one series per route, never one per URL."""
    template = getattr(scope.get("route"), "path", None)
    if template:
        return str(template)
    # Unmatched paths would make one series per probe URL: fold them into one label.
    return MCP if str(scope.get("path", "")).startswith(MCP) else "(unmatched)"


class Tally:
    """A counter of answers by labels and status, and a histogram of their seconds by labels,
    both counted in one call per answer and shown as Counter and Histogram would show them.

    prometheus_client's labelled metrics take a lock per value, and a histogram walks its
    buckets in Python: two of each on every request were a tenth of the gateway's CPU per
    proxied exec. The event loop is the only writer (and /metrics is read on it): no lock."""

    def __init__(self, counter: tuple[str, str], histogram: tuple[str, str],
                 labels: tuple[str, str]) -> None:
        self.counter = counter
        self.histogram = histogram
        self.labels = labels
        # (label values..., status) -> [answers, created]; label values -> [bucket counts
        # (the last is +Inf), sum of seconds, created].
        self._counts: dict[tuple[str, str, int], list[float]] = {}
        self._latency: dict[tuple[str, str], list[Any]] = {}

    def add(self, first: str, second: str, status: int, seconds: float) -> None:
        counted = self._counts.get((first, second, status))
        if counted is None:
            counted = self._counts[(first, second, status)] = [0, time.time()]
        counted[0] += 1
        timed = self._latency.get((first, second))
        if timed is None:
            timed = self._latency[(first, second)] = [[0] * (len(LATENCY_BUCKETS) + 1), 0.0, time.time()]
        timed[0][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        timed[1] += seconds

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self.counter[0], self.counter[1], labels=(*self.labels, "status")),
                HistogramMetricFamily(self.histogram[0], self.histogram[1], labels=self.labels)]

    def collect(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(self.counter[0], self.counter[1], labels=(*self.labels, "status"))
        for (first, second, status), (count, created) in list(self._counts.items()):
            counter.add_metric([first, second, str(status)], count, created=created)
        yield counter
        histogram = HistogramMetricFamily(self.histogram[0], self.histogram[1], labels=self.labels)
        for values, (counts, total, created) in list(self._latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            histogram.add_metric(list(values), buckets, total)
            histogram.samples.append(Sample(self.histogram[0] + "_created",
                                            dict(zip(self.labels, values, strict=True)), created))
        yield histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Tally(("blender_http_gateway_requests", "Requests answered by the gateway"),
                              ("blender_http_gateway_request_seconds",
                               "Time from request to response headers, by route"), ("route", "method"))
        self.backend_requests = Tally(("blender_http_gateway_backend_requests",
                                       "Requests forwarded to a backend"),
                                      ("blender_http_gateway_backend_seconds",
                                       "Time a backend took to answer (headers), by route"),
                                      ("route", "backend"))
        self.registry.register(self.requests)
        self.registry.register(self.backend_requests)
        self.inflight_gauge = Gauge("blender_http_gateway_backend_inflight",
                                    "Requests this gateway has open to a backend", ("backend",),
                                    registry=self.registry)
        self.queue_depth = Gauge("blender_http_gateway_backend_queue_depth",
                                 "Jobs queued on a backend (busy counts one), from its /health",
                                 ("backend",), registry=self.registry)
        self.healthy = Gauge("blender_http_gateway_backend_healthy", "1 while a backend is healthy",
                             ("backend",), registry=self.registry)
        # What an autoscaler scales on (KEDA, HPA): work each worker runs and has waiting,
        # read from the pool when scraped; the total is their sum().
        self.work_waiting = Gauge("blender_http_gateway_work_waiting",
                                  "Requests waiting for a worker's main thread (queued there or sent to it)",
                                  ("worker",), registry=self.registry)
        self.work_running = Gauge("blender_http_gateway_work_running",
                                  "Jobs a worker runs now (0 or 1: one main thread)", ("worker",),
                                  registry=self.registry)
        self.restarts = Counter("blender_http_gateway_worker_restarts",
                                "Spawned workers restarted after they died", ("worker",),
                                registry=self.registry)

    def observe(self, route: str, backend: str, status: int, seconds: float) -> None:
        self.backend_requests.add(route, backend, status, seconds)

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.add(route, method, status, seconds)

    def track_inflight(self, backend: str, count: Callable[[], float]) -> None:
        """The in-flight gauge of backend reads count() when scraped: nothing to do per request."""
        self.inflight_gauge.labels(backend).set_function(count)

    def track_work(self, worker: str, waiting: Callable[[], float], running: Callable[[], float]) -> None:
        """The work gauges of worker read waiting() and running() when scraped."""
        self.work_waiting.labels(worker).set_function(waiting)
        self.work_running.labels(worker).set_function(running)

    def backend_state(self, backend: str, healthy: bool, queued: int, busy: bool) -> None:
        self.healthy.labels(backend).set(1 if healthy else 0)
        self.queue_depth.labels(backend).set(queued + int(busy))

    def forget(self, backend: str) -> None:
        """Drop the series of a backend that left (DNS), so dashboards do not show ghosts."""
        for gauge in (self.inflight_gauge, self.queue_depth, self.healthy, self.work_waiting,
                      self.work_running):
            try:
                gauge.remove(backend)
            except KeyError:
                pass

    def render(self) -> bytes:
        return generate_latest(self.registry)
