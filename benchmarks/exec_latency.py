"""Exec round trip: blender-http in each mode against the floor, side by side in one run.

The floor is a stdlib ThreadingHTTPServer (TCP_NODELAY, one write per answer) that runs
the same code in its own request thread: no main-thread hop, no Blender. Every target
gets the same client: one kept-alive http.client connection, sequential requests. All
targets run at once and are measured in interleaved rounds, so a noisy moment of a
shared machine falls on all of them alike.

    .venv/bin/python benchmarks/exec_latency.py [--requests 1000] [--rounds 5] [--modes module,background,gui]

Writes benchmarks/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from blender_http.launcher import launch_script

CODE = b"1 + 1"
HERE = Path(__file__).resolve().parent


class _FloorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        code = self.rfile.read(int(self.headers["Content-Length"])).decode()
        namespace: dict[str, object] = {}
        result = eval(compile(code, "<exec>", "eval"), namespace)
        body = json.dumps({"ok": True, "result": result, "stdout": "", "stderr": ""}).encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))

    def log_message(self, *args: object) -> None:
        pass


def serve_floor(ready: str) -> None:
    """The floor server's process (a process of its own, like every target's)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FloorHandler)
    server.daemon_threads = True
    Path(ready).write_text(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}))
    server.serve_forever()


def _command(mode: str, ready: Path) -> list[str]:
    if mode == "floor":
        return [sys.executable, __file__, "--serve-floor", str(ready)]
    if mode == "module":
        return [sys.executable, "-m", "blender_http", "serve", "--port", "0", "--ready-file", str(ready)]
    blender = ["blender", "--factory-startup", "--python", str(launch_script())]
    if mode == "background":
        return [blender[0], "--background", *blender[1:]]
    return ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", *blender]


@contextmanager
def server_process(mode: str) -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    ready = folder / "ready.json"
    env = {**os.environ, "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_READY_FILE": str(ready)}
    proc = subprocess.Popen(_command(mode, ready), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{mode} server did not start")
            time.sleep(0.02)
        url = json.loads(ready.read_text())["url"]
        _get(url, "/health")
        yield url
    finally:
        try:
            _post(url, "/shutdown", b"")
        except Exception:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def _get(url: str, path: str) -> bytes:
    conn = _connection(url)
    conn.request("GET", path)
    return conn.getresponse().read()


def _post(url: str, path: str, body: bytes) -> bytes:
    conn = _connection(url)
    conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
    return conn.getresponse().read()


def latencies(conn: http.client.HTTPConnection, url: str, requests: int, warmup: int = 50) -> list[float]:
    """Milliseconds per POST /exec of CODE over one kept-alive connection."""
    headers = {"Content-Type": "text/plain"}
    out = []
    for i in range(warmup + requests):
        start = time.perf_counter()
        conn.request("POST", "/exec", body=CODE, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000.0
        if response.status != 200 or json.loads(body)["result"] != 2:
            raise RuntimeError(f"bad answer from {url}: {response.status} {body[:200]!r}")
        if i >= warmup:
            out.append(elapsed)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(targets: dict[str, str], requests: int, rounds: int) -> list[dict[str, float | str]]:
    """Every target, round after round; statistics over all rounds' samples."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    connections = {name: _connection(url) for name, url in targets.items()}
    per_round = max(1, requests // rounds)
    for _ in range(rounds):
        for name, url in targets.items():
            samples[name] += latencies(connections[name], url, per_round, warmup=20)
    for conn in connections.values():
        conn.close()
    return [{"target": name, "p50": statistics.median(values), "p99": percentile(values, 0.99),
             "mean": statistics.fmean(values)} for name, values in samples.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="per target, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default="module,background,gui")
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args()
    modes = [m for m in options.modes.split(",") if m]
    # A GUI Blender keeps a core busy with its event loop, which changes how fast every
    # other process on this small machine wakes up: it gets a group (and a floor) of its own.
    groups = [[m for m in modes if m != "gui"], [m for m in modes if m == "gui"]]
    lines = ["| target | p50 ms | p99 ms | mean ms | p50 / floor |", "|---|---:|---:|---:|---:|"]
    for group in [g for g in groups if g]:
        with contextlib.ExitStack() as stack:
            targets = {"floor (stdlib http.server, in-thread)": stack.enter_context(server_process("floor"))}
            for mode in group:
                targets[f"blender-http {mode}"] = stack.enter_context(server_process(mode))
            rows = measure(targets, options.requests, options.rounds)
        floor = float(rows[0]["p50"])
        for row in rows:
            lines.append(f"| {row['target']} | {row['p50']:.3f} | {row['p99']:.3f} | {row['mean']:.3f} | "
                         f"{float(row['p50']) / floor:.2f} |")
    table = "\n".join(lines)
    print(table)
    if not options.no_write:
        _write_results(table, options)


def _write_results(table: str, options: argparse.Namespace) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = (
        "# Benchmark results\n\n"
        "## Exec round trip (sequential, one kept-alive connection)\n\n"
        f"`POST /exec` of `{CODE.decode()}`: {options.requests} requests per target in "
        f"{options.rounds} interleaved rounds (20 warm-up requests each).\n"
        f"Date: {datetime.date.today().isoformat()}. Machine: {machine}.\n"
        f"Command: `.venv/bin/python benchmarks/exec_latency.py --requests {options.requests} "
        f"--rounds {options.rounds} --modes {options.modes}`\n\n"
        f"{table}\n\n"
        "The floor is a stdlib `ThreadingHTTPServer` in a process of its own, doing the same work\n"
        "in its request thread: no hop to a main thread, no Blender. The GUI row is measured in a\n"
        "second group with its own floor: a desktop Blender's event loop keeps a core busy, which\n"
        "on a 2-core machine makes every other process wake faster. Targets (SPEC 7):\n"
        "module/background p50 <= 1.25 x floor; GUI p50 <= 6 ms. In the GUI, jobs run from a\n"
        "timer on Blender's event loop, which sleeps 5 ms per idle turn; while jobs keep coming\n"
        "the pump keeps the loop from sleeping, so this sequential run sees sub-millisecond\n"
        "answers, and only the first request after 0.25 s without jobs waits up to 5 ms.\n"
    )
    (HERE / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-floor"]:
        serve_floor(sys.argv[2])
    else:
        main()
