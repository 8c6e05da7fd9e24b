"""Prometheus metrics of the gateway, in a registry of its own (several apps per process in tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

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


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("blender_http_gateway_requests", "Requests answered by the gateway",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("blender_http_gateway_request_seconds",
                                 "Time from request to response headers, by route",
                                 ("route", "method"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.backend_requests = Counter("blender_http_gateway_backend_requests",
                                        "Requests forwarded to a backend", ("route", "backend", "status"),
                                        registry=self.registry)
        self.backend_latency = Histogram("blender_http_gateway_backend_seconds",
                                         "Time a backend took to answer (headers), by route",
                                         ("route", "backend"), buckets=LATENCY_BUCKETS,
                                         registry=self.registry)
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

        # Labelled series by their labels: labels() validates and locks on every call, and
        # these are counted on every request.
        self._series: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._series.get(key)
        if child is None:
            child = self._series[key] = metric.labels(*labels)
        return child

    def observe(self, route: str, backend: str, status: int, seconds: float) -> None:
        self._child(self.backend_requests, route, backend, str(status)).inc()
        self._child(self.backend_latency, route, backend).observe(seconds)

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        self._child(self.requests, route, method, str(status)).inc()
        self._child(self.latency, route, method).observe(seconds)

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
