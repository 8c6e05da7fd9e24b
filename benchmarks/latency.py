"""Exec round trip: sequential `POST /exec` of a trivial expression on one kept-alive connection.

Every target runs at once and is measured in interleaved rounds, so a noisy moment of the
shared machine falls on all of them alike.
"""

from __future__ import annotations

import http.client
import json
import time

from .targets import connection

CODE = b"1 + 1"
HEADERS = {"Content-Type": "text/plain"}


def request_bytes(host: str) -> bytes:
    """The request round_trips sends to host (`name:port`), as http.client writes it (it adds
    Accept-Encoding), in one block."""
    fields = {"Host": host, "Accept-Encoding": "identity", "Content-Length": str(len(CODE)), **HEADERS}
    return ("POST /exec HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields.items())
            + "\r\n").encode() + CODE


def round_trips(conn: http.client.HTTPConnection, requests: int, warmup: int,
                headers: dict[str, str] | None = None) -> list[float]:
    """Milliseconds per POST /exec of CODE, after warmup unmeasured ones."""
    sent = {**HEADERS, **(headers or {})}
    out = []
    for i in range(warmup + requests):
        start = time.perf_counter()
        conn.request("POST", "/exec", body=CODE, headers=sent)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000.0
        if response.status != 200 or json.loads(body)["result"] != 2:
            raise RuntimeError(f"bad answer: {response.status} {body[:200]!r}")
        if i >= warmup:
            out.append(elapsed)
    return out


def measure(targets: dict[str, str], requests: int, rounds: int,
            headers: dict[str, dict[str, str]] | None = None) -> dict[str, list[float]]:
    """Samples per target name, requests per target spread over rounds."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    connections = {name: connection(url) for name, url in targets.items()}
    per_round = max(1, requests // rounds)
    try:
        for _ in range(rounds):
            for name in targets:
                samples[name] += round_trips(connections[name], per_round, warmup=20,
                                             headers=(headers or {}).get(name))
    finally:
        for conn in connections.values():
            conn.close()
    return samples
