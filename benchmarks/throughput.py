"""Throughput with N concurrent clients, each a kept-alive connection sending `POST /exec`
back to back. One asyncio process drives every connection, so the load generator costs the
same for each target."""

from __future__ import annotations

import asyncio
import time

from .latency import CODE
from .targets import cpu_seconds

REQUEST = (b"POST /exec HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(CODE), CODE))


async def _client(host: str, port: int, stop_at: float, counts: list[int], index: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"bad answer: {head[:100]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[index] += 1
    finally:
        writer.close()


async def _run(url: str, clients: int, seconds: float) -> float:
    host, port = url.removeprefix("http://").split(":")
    counts = [0] * clients
    start = time.perf_counter()
    stop_at = start + seconds
    await asyncio.gather(*(_client(host, int(port), stop_at, counts, i) for i in range(clients)))
    return sum(counts) / (time.perf_counter() - start)


def requests_per_second(url: str, clients: int, seconds: float) -> float:
    return asyncio.run(_run(url, clients, seconds))


def measure(targets: dict[str, str], clients: int, seconds: float, rounds: int
            ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Requests per second per target (one sample per round, targets interleaved), and the
    serving process's CPU microseconds per request over all rounds."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, float] = {name: 0.0 for name in targets}
    for url in targets.values():
        requests_per_second(url, clients, min(0.2, seconds))  # warm-up: threads, caches
    for _ in range(rounds):
        for name, url in targets.items():
            before = cpu_seconds(url)
            rate = requests_per_second(url, clients, seconds)
            after = cpu_seconds(url)
            samples[name].append(rate)
            if before is not None and after is not None:
                cpu[name] += (after - before) * 1e6 / (rate * seconds)
    return samples, {name: total / rounds for name, total in cpu.items()}
