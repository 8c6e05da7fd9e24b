"""The least a gateway written in Python can spend per request: a relay that forwards bytes
both ways between each client connection and a connection of its own to the worker, on
uvloop (the gateway's loop), without reading a byte of HTTP. Side by side with the gateway,
the difference is what the gateway's HTTP, keys, routing and logging cost; what the relay
spends itself is the loop's and the kernel's (wake-ups, loopback sends), which no gateway
on this machine can spend less than.

    python -m benchmarks.relay_floor PORT UPSTREAM_URL
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import uvloop


class _Upstream(asyncio.Protocol):
    """The relay's connection to the worker: what comes goes to the client."""

    def __init__(self, client: asyncio.Transport) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.close()


class _Client(asyncio.Protocol):
    """A client's connection: what comes before its own connection to the worker is open
    waits for it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.upstream: asyncio.Transport | None = None
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are alike, not subclasses
        # Held: the loop keeps only a weak reference to a task.
        self.task = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        upstream, _ = await asyncio.get_running_loop().create_connection(
            lambda: _Upstream(self.transport), self.host, self.port)
        self.upstream = upstream
        upstream.write(b"".join(self.early))

    def data_received(self, data: bytes) -> None:
        if self.upstream is None:
            self.early.append(data)
        else:
            self.upstream.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()


async def _serve(port: int, upstream: str) -> None:
    host, upstream_port = upstream.removeprefix("http://").rstrip("/").split(":")
    server = await asyncio.get_running_loop().create_server(
        lambda: _Client(host, int(upstream_port)), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    uvloop.run(_serve(int(argv[0]), argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
