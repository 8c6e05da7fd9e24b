"""The gateway's own cost, side by side with a direct worker, and with an older gateway.

    .venv/bin/python -m benchmarks.gateway                       # this gateway vs direct
    .venv/bin/python -m benchmarks.gateway --baseline 2850789    # ... and the gateway at a commit
    .venv/bin/python -m benchmarks.gateway --baseline 2850789 --runs 3   # medians of 3 runs
    .venv/bin/python -m benchmarks.gateway --gateway-python /usr/bin/python3.11  # ... and on it

Every target runs at once in front of one module-mode worker and is measured in interleaved
rounds, so the load of a shared machine falls on all alike: compare the ratios more than the
absolute figures. Added latency is the gateway's p50 minus the worker's own p50 (sequential
`POST /exec` on one kept-alive connection); CPU is the gateway process's user + system time
per request, for one client sending `POST /exec` back to back (its health checks of the
worker included) and for 8, and at one client the system part of it (the relay floor makes
the same system calls: what the gateway spends above it is its Python). The one client is
http.client, as in the latency rows, and again a client sending each request in one write
(OneWrite): how a client paces its writes moves the server's CPU per request as much as the
server's own work does. The relay floor (benchmarks/relay_floor.py) forwards the bytes
without reading them, on the gateway's loop: what any gateway written in Python spends here
at least. --gateway-python runs the gateway a second time on another interpreter (one with
the gateway installed): how CPython was built (with profile-guided and link-time
optimization, as python.org's, Docker's and Debian's are, or without, as pyenv builds by
default) moved its CPU per request by about a tenth here."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import latency, throughput
from .report import table
from .targets import connection, cpu_times, gateway, relay, server

# What the gateway runs on, as the reports name it.
INTERPRETER = ("import platform, sys, sysconfig; o = sysconfig.get_config_var('CONFIG_ARGS') or ''; "
               "print(platform.python_version(), sys.executable, "
               "'(configured with PGO or LTO)' if '--enable-optimizations' in o or '--with-lto' in o "
               "else '(its configure flags name no PGO or LTO)')")

DIRECT = "worker, direct"
RELAY = "relay floor (bytes only)"
CURRENT = "gateway"
ADDED_P50_TARGET_MS = 0.3
CPU_TARGET_US = 200.0
RATE_TARGET = 5000


@contextlib.contextmanager
def gateway_at(commit: str) -> Iterator[Path]:
    """A folder holding the gateway package as it was at commit (put it first on PYTHONPATH)."""
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as folder:
        archive = subprocess.run(["git", "archive", commit, "gateway"], check=True, capture_output=True,
                                 cwd=Path(__file__).resolve().parent.parent).stdout
        archive_path = Path(folder) / "gateway.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(folder, filter="data")
        (Path(folder) / "gateway").rename(Path(folder) / "blender_http_gateway")
        yield Path(folder)


class OneWrite:
    """A sequential client that sends each `POST /exec` in one write, head and body together
    (http.client writes the head, then the body: a server woken by the head alone often
    sleeps once more before the body comes), and reads each answer whole."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = latency.request_bytes(f"{host}:{port}")

    def round_trips(self, requests: int) -> int:
        for _ in range(requests):
            self.sock.sendall(self.request)
            received = b""
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed the connection")
                received += chunk
                head, found, body = received.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head) if found else None
                if length and len(body) >= int(length.group(1)):
                    break
            if not head.startswith(b"HTTP/1.1 200 ") or json.loads(body)["result"] != 2:
                raise RuntimeError(f"bad answer: {received[:200]!r}")
        return requests

    def close(self) -> None:
        self.sock.close()


Split = dict[str, tuple[float, float]]  # by target: CPU µs per exec, and the system part of it


def sequential_cpu(targets: dict[str, str], requests: int, rounds: int,
                   one_write: bool = False) -> Split:
    """CPU µs of each target's process per exec while one client sends them back to back, in
    interleaved rounds (the kernel counts CPU in 10 ms ticks: enough requests make it exact),
    and the system part of it. The client is http.client (latency.round_trips), or OneWrite."""
    used = dict.fromkeys(targets, 0.0)
    system = dict.fromkeys(targets, 0.0)
    sent = dict.fromkeys(targets, 0)
    clients: dict[str, Any] = {name: OneWrite(url) if one_write else connection(url)
                               for name, url in targets.items()}

    def send(name: str, count: int) -> int:
        client = clients[name]
        if isinstance(client, OneWrite):
            return client.round_trips(count)
        return len(latency.round_trips(client, count, warmup=0))

    try:
        for name in targets:
            send(name, 20)
        for _ in range(rounds):
            for name, url in targets.items():
                before = cpu_times(url)
                sent[name] += send(name, max(1, requests // rounds))
                after = cpu_times(url)
                if before is not None and after is not None:
                    used[name] += sum(after) - sum(before)
                    system[name] += after[1] - before[1]
    finally:
        for client in clients.values():
            client.close()
    return {name: (used[name] * 1e6 / sent[name], system[name] * 1e6 / sent[name]) for name in targets}


Measured = tuple[dict[str, list[float]], dict[str, list[float]], dict[str, float], Split, Split]


def interpreter(python: str) -> str:
    """python's version and path, and whether its build says it was optimized (a
    distribution's own build may be optimized without saying so)."""
    done = subprocess.run([python, "-c", INTERPRETER], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def measure(baseline: str | None, requests: int, rounds: int, seconds: float, workers: int,
            gateway_python: str | None = None) -> Measured:
    """Latency samples (ms), throughput samples (requests/s) and CPU µs per request at 8
    clients and at one, by target."""
    with contextlib.ExitStack() as stack:
        # Any Host: the relay passes on the client's, which names the relay, not the worker.
        worker = stack.enter_context(server("module", env={"BLENDER_HTTP_ALLOWED_HOSTS": "*"}))
        targets = {DIRECT: worker, RELAY: stack.enter_context(relay(worker)),
                   CURRENT: stack.enter_context(gateway(worker))}
        if baseline:
            folder = stack.enter_context(gateway_at(baseline))
            targets[f"gateway at {baseline}"] = stack.enter_context(
                gateway(worker, env={"PYTHONPATH": str(folder)}))
        if gateway_python:
            targets[f"gateway on {gateway_python}"] = stack.enter_context(
                gateway(worker, python=gateway_python))
        if workers > 1:
            # Its CPU is spread over child processes: only its rate is shown.
            targets[f"gateway --workers {workers}"] = stack.enter_context(
                gateway(worker, "--workers", str(workers)))
        samples = latency.measure(targets, requests, rounds)
        cpu_one = sequential_cpu(targets, requests, rounds)
        cpu_one_write = sequential_cpu(targets, requests, rounds, one_write=True)
        rates, cpu = throughput.measure(targets, 8, seconds, rounds)
    return samples, rates, cpu, cpu_one, cpu_one_write


Figures = dict[str, tuple[float, float, float, float | None, float | None, float | None, float | None]]


def figures(samples: dict[str, list[float]], rates: dict[str, list[float]], cpu: dict[str, float],
            cpu_one: Split, cpu_one_write: Split) -> Figures:
    """By target: exec p50 ms, p50 added to the direct worker's, 8-client rate, CPU µs/exec
    at 8 clients, at one (http.client), at one sending each request in one write, and the
    system part of the one-client (http.client) figure (None for `--workers N`, whose CPU is
    spread over processes; the direct worker's is Blender's own, for scale)."""
    direct = statistics.median(samples[DIRECT])

    def own(value: float, name: str) -> float | None:
        return value if "--workers" not in name else None
    return {name: (statistics.median(values), statistics.median(values) - direct,
                   statistics.median(rates[name]), own(cpu[name], name), own(cpu_one[name][0], name),
                   own(cpu_one_write[name][0], name), own(cpu_one[name][1], name))
            for name, values in samples.items()}


def median_of(runs: list[Figures]) -> Figures:
    """Each figure's median over the runs (they share the targets)."""
    def mid(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None
    return {name: (statistics.median(r[name][0] for r in runs), statistics.median(r[name][1] for r in runs),
                   statistics.median(r[name][2] for r in runs), mid([r[name][3] for r in runs]),
                   mid([r[name][4] for r in runs]), mid([r[name][5] for r in runs]),
                   mid([r[name][6] for r in runs]))
            for name in runs[0]}


def report(found: Figures) -> str:
    def us(value: float | None) -> str:
        return f"{value:.0f}" if value is not None else ""
    rows = [[name, f"{p50:.3f}", f"{added:+.3f}" if name != DIRECT else "", f"{rate:,.0f}", us(one),
             us(system), us(one_write), us(cpu)]
            for name, (p50, added, rate, cpu, one, one_write, system) in found.items()]
    return table(["target", "exec p50 ms", "added p50 ms", "8-client exec/s",
                  "CPU µs/exec, 1 client", "of it system", "1 client, one write per request",
                  "CPU µs/exec, 8 clients"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also measure the gateway as it was at this commit")
    parser.add_argument("--workers", type=int, default=1, help="also measure `--workers N`")
    parser.add_argument("--gateway-python", metavar="PATH",
                        help="also measure the gateway on this interpreter (the gateway installed there)")
    parser.add_argument("--runs", type=int, default=1,
                        help="measure N times, each with fresh processes, and report the medians")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmark runs")
    options = parser.parse_args(argv)
    requests, rounds, seconds = (40, 2, 0.2) if options.quick else (2000, 10, 1.0)
    runs = []
    for run in range(options.runs):
        runs.append(figures(*measure(options.baseline, requests, rounds, seconds, options.workers,
                                     options.gateway_python)))
        if options.runs > 1:
            print(f"run {run + 1} of {options.runs}\n{report(runs[-1])}\n", flush=True)
    found = median_of(runs)
    print((f"median of {options.runs} runs\n" if options.runs > 1 else "") + report(found))
    print(f"\nthe gateway runs on {interpreter(sys.executable)}" + (
        f"; and on {interpreter(options.gateway_python)}" if options.gateway_python else ""))
    _, added, rate, cpu, one, one_write, system = found[CURRENT]
    print(f"\nadded p50 {added:.3f} ms (target ≤ {ADDED_P50_TARGET_MS} ms); gateway CPU "
          f"{one:.0f} µs per exec at 1 client ({one_write:.0f} µs when it sends each request in one "
          f"write), {cpu:.0f} µs at 8 (target ≤ {CPU_TARGET_US:.0f} µs "
          f"each); {rate:,.0f} exec/s with 8 clients (target ≥ {RATE_TARGET:,})")
    _, _, _, floor, floor_one, floor_one_write, floor_system = found[RELAY]
    assert None not in (cpu, one, one_write, system, floor, floor_one, floor_one_write, floor_system)

    def times(value: float | None, base: float | None) -> str:
        return f"x{value / base:.2f}" if value and base else "x?"  # --quick: too few ticks
    print(f"the relay floor (the least a gateway on this loop and kernel can spend): {floor_one:.0f} µs "
          f"per exec at 1 client ({floor_one_write:.0f} µs one write), {floor:.0f} µs at 8; the gateway "
          f"{times(one, floor_one)}, {times(one_write, floor_one_write)} and {times(cpu, floor)} of it")
    assert one is not None and system is not None and floor_one is not None and floor_system is not None
    # Both make the same system calls per exec: what the gateway spends above the floor at one
    # client is its user time, its Python, which runs on caches other processes left cold.
    print(f"at 1 client the gateway's system time {system:.0f} µs per exec (the floor's {floor_system:.0f}), "
          f"its user time {one - system:.0f} µs (the floor's {floor_one - floor_system:.0f}; "
          f"benchmarks.gateway_steps measures the same Python with warm caches)")
    if options.gateway_python:
        other = found[f"gateway on {options.gateway_python}"]
        _, _, other_rate, other_cpu, other_one, other_one_write, _ = other
        assert None not in (other_cpu, other_one, other_one_write)
        print(f"on {options.gateway_python}: {other_one:.0f} µs per exec at 1 client "
              f"({other_one_write:.0f} one write), {other_cpu:.0f} µs at 8, {other_rate:,.0f} exec/s; "
              f"{times(other_one, one)}, "
              f"{times(other_one_write, one_write)} and {times(other_cpu, cpu)} of the gateway on "
              f"{sys.executable}")
    if options.baseline:
        _, old_added, old_rate, old_cpu, _, _, _ = found[f"gateway at {options.baseline}"]
        assert cpu is not None and old_cpu is not None
        print(f"against {options.baseline}: CPU per exec x{cpu / old_cpu:.2f}, added p50 "
              f"x{added / old_added:.2f}, 8-client rate x{rate / old_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
