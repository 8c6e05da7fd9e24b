"""Load against a real module-mode server: every answer is its own request's, none is
lost, and memory stays flat once warmed up (SPEC 8)."""

from __future__ import annotations

import concurrent.futures
import secrets
import threading
import time
from collections.abc import Callable

import httpx

from tests.blender import servers

from .conftest import rss_kib

SEQUENTIAL = 10_000
CONCURRENT = 2_000
CLIENTS = 16
# More than the job store keeps (1000), so the store is full before RSS is first read.
WARM_UP = 1_500


def _exec_own_token(client: httpx.Client, token: str) -> list[str]:
    """Problems with one exec whose code prints and returns token (empty when none)."""
    response = client.post("/exec", json={"code": "print(args['t'])\nargs['t']", "args": {"t": token}})
    if response.status_code != 200:
        return [f"{token}: status {response.status_code}: {response.text[:200]}"]
    body = response.json()
    if (body["ok"], body["result"], body["stdout"]) != (True, token, token + "\n"):
        return [f"{token}: answered {body}"]
    return []


def _run(count: int, one: Callable[[int], list[str]], clients: int = 1) -> tuple[list[str], float]:
    started = time.perf_counter()
    if clients == 1:
        problems = [p for n in range(count) for p in one(n)]
    else:
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            problems = [p for found in pool.map(one, range(count)) for p in found]
    return problems, time.perf_counter() - started


def test_sequential_and_concurrent_execs_lose_nothing_and_memory_stays_flat(
        own_server: Callable[..., servers.Running]) -> None:
    running = own_server("module")
    pid = running.proc.pid
    with running.client() as client:
        def sequential(n: int) -> list[str]:
            return _exec_own_token(client, f"s{n}-{secrets.token_hex(6)}")

        problems, _ = _run(WARM_UP, sequential)
        assert problems == []
        warm_rss = rss_kib(pid)

        problems, seconds = _run(SEQUENTIAL, sequential)
        assert problems == [], problems[:5]
        print(f"\n{SEQUENTIAL} sequential execs on one connection: {seconds:.1f} s "
              f"({seconds / SEQUENTIAL * 1e3:.2f} ms each)")

    clients: dict[int, httpx.Client] = {}  # one kept-alive connection per client thread

    def concurrent_one(n: int) -> list[str]:
        key = threading.get_ident()
        if key not in clients:
            clients[key] = running.client()
        return _exec_own_token(clients[key], f"c{n}-{secrets.token_hex(6)}")

    try:
        problems, seconds = _run(CONCURRENT, concurrent_one, CLIENTS)
    finally:
        for client in clients.values():
            client.close()
    assert problems == [], problems[:5]
    print(f"{CONCURRENT} execs from {CLIENTS} concurrent clients: {seconds:.1f} s")

    with running.client() as client:
        health = client.get("/health").json()
        assert (health["busy"], health["queued"]) == (False, 0)
    end_rss = rss_kib(pid)
    print(f"server RSS: {warm_rss} KiB after warm-up, {end_rss} KiB after the run "
          f"({(end_rss - warm_rss) / warm_rss:+.1%})")
    assert abs(end_rss - warm_rss) <= warm_rss * 0.2, (warm_rss, end_rss)
