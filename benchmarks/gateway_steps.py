"""The gateway's own work per proxied exec, without sockets, side by side with a commit's.

    .venv/bin/python -m benchmarks.gateway_steps                    # this gateway
    .venv/bin/python -m benchmarks.gateway_steps --baseline 9ad0368 # ... and the one at a commit

The gateway's CPU per exec on this machine (benchmarks.gateway) is mostly the machine's:
the kernel's loopback sends and, costly in a virtual machine, the wake-ups of three
processes taking turns on two cores, with every cache cold after each. A change of a few
microseconds of the gateway's own work drowns in that. Here the same request goes through
the same code, in one process, with nothing else running: the gateway app as the command
line builds it (access log on), its HTTP protocol fed a client's request, and its
connection to a worker fed the answer a worker gives on the loop's next turn. What is left
is the Python the gateway runs per request, with warm caches: compare it between commits,
not with the CPU figures of benchmarks.gateway. A commit is measured in a child process with
its gateway package first on the path; it must have serving/ (its lane) and the
forwarding/wire client this drives."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import latency
from .gateway import gateway_at
from .report import table

# What http.client sends for latency.round_trips (benchmarks.gateway's sequential client),
# and what a module-mode worker answers.
REQUEST = latency.request_bytes("127.0.0.1:8000")
ANSWER_BODY = b'{"ok":true,"result":2,"stdout":"","stderr":"","duration_ms":0.206,"job":"47deadf4e6158b11"}'
ANSWER = (b"HTTP/1.1 200 OK\r\nServer: blender-http\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n%b" % (len(ANSWER_BODY), ANSWER_BODY))
# Where the measured gateway thinks its worker is (nothing listens: its connection is fed).
WORKER = "http://127.0.0.1:9"


class _Transport:
    """What asyncio's transports offer the gateway's protocols, writing nowhere."""

    def __init__(self) -> None:
        self.closing = False

    def writelines(self, parts: Any) -> None:
        self.write(b"".join(parts))

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, *_: Any, **__: Any) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


class _Worker(_Transport):
    """The gateway's connection to its worker: each request answered on the loop's next turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connection: Any) -> None:
        super().__init__()
        self.loop = loop
        self.connection = connection

    def write(self, data: bytes) -> None:
        self.loop.call_soon(self.connection.data_received, ANSWER)


class _Client(_Transport):
    """A client on one kept-alive connection: the next request once an answer is written,
    until `left` are answered."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.protocol: Any = None
        self.left = 0
        self.done: asyncio.Future[None] = loop.create_future()

    def send(self, requests: int) -> asyncio.Future[None]:
        self.left = requests
        self.done = self.loop.create_future()
        self.protocol.data_received(REQUEST)
        return self.done

    def write(self, data: bytes) -> None:
        if not (data.startswith(b"HTTP/1.1 200 ") and b'"result":2,' in data):
            self.done.set_exception(RuntimeError(f"bad answer: {data[:300]!r}"))
            return
        self.left -= 1
        if self.left:
            self.loop.call_soon(self.protocol.data_received, REQUEST)
        else:
            self.done.set_result(None)


async def _measure(requests: int, rounds: int) -> list[float]:
    """µs of process time per exec in each round, after a round to warm up."""
    import uvicorn
    from uvicorn.server import ServerState

    from blender_http_gateway.app import create_app
    from blender_http_gateway.forwarding.wire.connection import Connection
    from blender_http_gateway.serving.protocol import GatewayProtocol
    from blender_http_gateway.settings import load_settings

    loop = asyncio.get_running_loop()
    settings = load_settings(backends=[WORKER], log_level="info")
    settings.configure_logging()
    # The log's one handler, as the command line sets it up, writing nowhere.
    handler = logging.root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # open for the process's life
    app = create_app(settings)
    gateway = app.state.gateway
    await gateway.start()
    await gateway.pool.stop()  # no health checks: the worker is declared healthy
    for backend in gateway.pool.all():
        backend.healthy = True

    async def fed(_: Any, where: Any, timeout: float) -> Connection:
        connection = Connection()
        connection.connection_made(_Worker(loop, connection))  # type: ignore[arg-type]
        return connection

    gateway.client._connect = fed.__get__(gateway.client)
    config = uvicorn.Config(app, http=GatewayProtocol, lifespan="off", log_level="warning")
    config.load()
    protocol = GatewayProtocol(config, ServerState(), {}, loop)
    client = _Client(loop)
    client.protocol = protocol
    protocol.connection_made(client)  # type: ignore[arg-type]
    await client.send(max(requests // 4, 100))
    out = []
    for _ in range(rounds):
        started = time.process_time()
        await client.send(requests)
        out.append((time.process_time() - started) * 1e6 / requests)
    return out


def _run_here(requests: int, rounds: int) -> list[float]:
    with contextlib.suppress(ImportError):
        import uvloop
        return uvloop.run(_measure(requests, rounds))
    return asyncio.run(_measure(requests, rounds))


def _run_at(folder: Path | None, requests: int, rounds: int) -> list[float]:
    """_run_here() in a child process, with folder's gateway package first on the path."""
    env = {**os.environ, **({"PYTHONPATH": str(folder)} if folder else {})}
    output = subprocess.run([sys.executable, "-m", "benchmarks.gateway_steps", "--inner",
                             "--requests", str(requests), "--rounds", str(rounds)],
                            check=True, capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parent.parent).stdout
    return [float(value) for value in output.split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also measure the gateway as it was at this commit")
    parser.add_argument("--requests", type=int, default=30000, help="execs per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per process")
    parser.add_argument("--processes", type=int, default=5,
                        help="fresh processes per target, taking turns")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmark runs")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.quick:
        options.requests, options.rounds, options.processes = 300, 1, 1
    if options.inner:
        print(" ".join(f"{value:.3f}" for value in _run_here(options.requests, options.rounds)))
        return 0
    found: dict[str, list[float]] = {"gateway": []}
    with contextlib.ExitStack() as stack:
        folders: dict[str, Path | None] = {"gateway": None}
        if options.baseline:
            name = f"gateway at {options.baseline}"
            folders[name] = stack.enter_context(gateway_at(options.baseline))
            found[name] = []
        for _ in range(options.processes):
            for name, folder in folders.items():
                found[name] += _run_at(folder, options.requests, options.rounds)
    # The least of the rounds: the gateway's own cost, the rest is what else ran meanwhile.
    least = {name: min(values) for name, values in found.items()}
    print(table(["target", "µs per exec (least of rounds)", "median of rounds", "rounds"],
                [[name, f"{least[name]:.2f}", f"{sorted(values)[len(values) // 2]:.2f}", str(len(values))]
                 for name, values in found.items()]))
    if options.baseline:
        ratio = least["gateway"] / least[f"gateway at {options.baseline}"]
        print(f"\nagainst {options.baseline}: x{ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
