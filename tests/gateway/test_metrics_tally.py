"""The gateway's request tallies show exactly what prometheus_client's Counter and Histogram
would show for the same answers (values, buckets, sums), creation times aside."""

from __future__ import annotations

import random
import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from blender_http_gateway.metrics import LATENCY_BUCKETS, Metrics

CREATED = re.compile(r"(_created\{.*\}) \S+$")


def test_the_tallies_expose_what_counter_and_histogram_would() -> None:
    rng = random.Random(7)
    answers = [(rng.choice(["/exec", "/jobs", "/files/{path:path}"]), rng.choice(["GET", "POST"]),
                rng.choice([200, 202, 404, 502]), rng.random() * rng.choice([0.001, 1.0, 100.0]))
               for _ in range(3000)]
    # On the bounds, past the last one, and zero.
    answers += [("/exec", "POST", 200, bound) for bound in LATENCY_BUCKETS]
    answers += [("/exec", "POST", 200, 1000.0), ("/exec", "POST", 200, 0.0)]

    metrics = Metrics()
    reference = CollectorRegistry()
    requests = Counter("blender_http_gateway_requests", "Requests answered by the gateway",
                       ("route", "method", "status"), registry=reference)
    latency = Histogram("blender_http_gateway_request_seconds",
                        "Time from request to response headers, by route", ("route", "method"),
                        buckets=LATENCY_BUCKETS, registry=reference)
    for route, method, status, seconds in answers:
        metrics.answered(route, method, status, seconds)
        requests.labels(route, method, str(status)).inc()
        latency.labels(route, method).observe(seconds)

    ours = _families(metrics.render().decode(), ("blender_http_gateway_request_seconds",
                                                  "blender_http_gateway_requests"))
    theirs = _families(generate_latest(reference).decode(), ("blender_http_gateway_request_seconds",
                                                              "blender_http_gateway_requests"))
    assert ours == theirs
    total = sum(1 for a in answers if a[:2] == ("/exec", "POST"))
    series = 'blender_http_gateway_request_seconds_count{method="POST",route="/exec"}'
    count = next(line for line in ours if line.startswith(series))
    assert float(count.rsplit(" ", 1)[1]) == total


def _families(text: str, names: tuple[str, ...]) -> list[str]:
    """The sorted lines of the named families, creation times blanked."""
    return sorted(CREATED.sub(r"\1 T", line) for line in text.splitlines()
                  if line.split("{")[0].split(" ")[-1].startswith(names) or
                  any(line.startswith(f"# {kind} {name}") for kind in ("HELP", "TYPE") for name in names))
