"""Scaling up feeds the new workers: the gateway exports the work waiting and running (the
autoscaler's signal), and a running `map` re-reads the capacity, so a worker that joins the
gateway's DNS name mid-batch runs items of that batch at once, each item once.

The name is real: the gateway runs in a private mount namespace (`unshare -m`) with its own
/etc/hosts bound over the system's, edited mid-batch as a cluster's DNS would change."""

from __future__ import annotations

import collections
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from blender_http import Blender
from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN, _needs_module_mode

pytestmark = pytest.mark.timeout(300)

NAME = "workers.scaling.test"
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
# A queue bound of 4 gives a capacity of one item in flight per worker (a quarter), so the
# batch can only run on three workers at once if it has re-read the capacity.
WORKER_ENV = {"BLENDER_HTTP_TOKEN": WORKER_TOKEN, "BLENDER_HTTP_MAX_QUEUE": "4"}
ITEMS = 40
# Each run appends "pid item" to a log all workers share: it tells who ran what, and how often.
CODE = ("import os, time\nstart = time.time()\ntime.sleep(0.5)\n"
        "with open(args['log'], 'a') as f:\n    f.write(f\"{os.getpid()} {args['n']}\\n\")\n"
        "[args['n'] * 2, os.getpid(), start, time.time()]\n")
DEADLINE_S = 60.0


def _port_free_on_all(addresses: tuple[str, ...]) -> int:
    """A port no one listens on at any of addresses: the name has one port for all workers."""
    for _ in range(50):
        port = gateways.free_port()
        try:
            for address in addresses:
                with socket.socket() as sock:
                    sock.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every address")


def _worker(folder: Path, address: str, port: int) -> servers.Running:
    ready = folder / "ready-module.json"
    return servers.start("module", folder, env=WORKER_ENV, cmd=[
        sys.executable, "-m", "blender_http", "serve", "--host", address, "--port", str(port),
        "--ready-file", str(ready)])


def _write_hosts(hosts: Path, addresses: tuple[str, ...]) -> None:
    # In place: the bind mount holds this file's inode, a rename would leave it behind.
    with open(hosts, "w") as out:
        out.write("127.0.0.1 localhost\n" + "".join(f"{a} {NAME}\n" for a in addresses))


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[int, list[servers.Running]]]:
    _needs_module_mode()
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.fail("unshare -m is needed: the gateway resolves a private /etc/hosts")
    port = _port_free_on_all(ADDRESSES)
    started: list[servers.Running] = []
    try:
        for i, address in enumerate(ADDRESSES):
            started.append(_worker(tmp_path / f"worker{i}", address, port))
        yield port, started
    finally:
        for running in started:
            running.stop()


def test_a_worker_added_mid_batch_runs_items_of_it(workers: tuple[int, list[servers.Running]],
                                                    tmp_path: Path) -> None:
    port, running = workers
    hosts = tmp_path / "hosts"
    _write_hosts(hosts, ADDRESSES[:2])
    gateway = _named_gateway(tmp_path, hosts, port)
    log = tmp_path / "runs.log"
    log.touch()
    try:
        with gateway.client() as client:
            health = client.get("/health").json()
            assert sorted(b["url"] for b in health["backends"]) == [
                f"http://{a}:{port}" for a in ADDRESSES[:2]]
        results = {}
        added_at = None
        with Blender(gateway.url, token=KEY) as blender:
            for outcome in blender.map(CODE, [{"n": n, "log": str(log)} for n in range(ITEMS)],
                                       ordered=False):
                results[outcome.index] = outcome.value
                if len(results) == 4:  # the batch runs: scale up
                    _write_hosts(hosts, ADDRESSES)
                    added_at = time.time()
        assert added_at is not None
    finally:
        gateway.stop()

    pids = {r.proc.pid: r for r in running}
    newcomer = running[2].proc.pid
    assert sorted(results) == list(range(ITEMS))
    assert all(value[0] == n * 2 and value[1] in pids for n, value in results.items())
    # Nothing ran twice: one line per item in the runs' log, by the worker that answered it.
    runs = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    assert sorted(n for _, n in runs) == list(range(ITEMS))
    assert {n: pid for pid, n in runs} == {n: value[1] for n, value in results.items()}
    # The newcomer ran items of this batch, all of them started after it joined.
    theirs = {n: value for n, value in results.items() if value[1] == newcomer}
    assert theirs, f"the added worker ran nothing: {collections.Counter(v[1] for v in results.values())}"
    assert all(value[2] > added_at for value in theirs.values())
    # It added capacity rather than taking a share of the old one: at some moment the three
    # workers each ran an item, and never more than the capacity (3) ran at once.
    assert _most_at_once(results.values()) == 3


def test_a_worker_leaving_dns_mid_request_finishes_it(workers: tuple[int, list[servers.Running]],
                                                      tmp_path: Path) -> None:
    port, running = workers
    hosts = tmp_path / "hosts"
    _write_hosts(hosts, ADDRESSES)
    gateway = _named_gateway(tmp_path, hosts, port)
    try:
        with gateway.client() as client:
            outcome: dict[str, httpx.Response] = {}
            code = "import os, time\ntime.sleep(4)\nos.getpid()"
            thread = threading.Thread(
                target=lambda: outcome.update(answer=client.post("/exec", content=code)))
            thread.start()
            health = _wait_for(client, lambda h: h["running"] == 1)
            busy = next(b["url"] for b in health["backends"] if b["inflight"])
            _write_hosts(hosts, tuple(a for a in ADDRESSES if a not in busy))  # scaled in
            health = _wait_for(client, lambda h: any(b["url"] == busy and not b["healthy"]
                                                     for b in h["backends"]))
            # Nothing new goes to it meanwhile.
            others = {client.post("/exec", content="import os\nos.getpid()").json()["result"]
                      for _ in range(6)}
            thread.join(DEADLINE_S)
            answer = outcome["answer"]
            assert answer.status_code == 200, answer.text
            pid = answer.json()["result"]
            assert pid == {r.url: r.proc.pid for r in running}[busy]
            assert pid not in others and others <= {r.proc.pid for r in running}
            # Once its request has ended, the next look-up drops it.
            _wait_for(client, lambda h: busy not in [b["url"] for b in h["backends"]])
    finally:
        gateway.stop()


def _named_gateway(tmp_path: Path, hosts: Path, port: int) -> gateways.Gateway:
    """A gateway whose one backend is NAME, resolved from hosts in a mount namespace of its own."""
    mount = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return gateways.start(
        tmp_path / "gateway", "--backend", f"http://{NAME}:{port}", key=KEY,
        env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN, "BLENDER_HTTP_GATEWAY_DNS_INTERVAL": "0.5"},
        command=("unshare", "-m", "sh", "-c", mount, str(hosts), *gateways.GATEWAY_COMMAND))


def _most_at_once(values: object) -> int:
    """The most items whose runs overlapped in time, from each run's start and end."""
    edges = sorted(edge for _, _, start, end in values  # type: ignore[attr-defined]
                   for edge in ((start, 1), (end, -1)))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _wait_for(client: httpx.Client, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        health = client.get("/health").json()
        if condition(health):
            return dict(health)
        assert time.monotonic() < deadline, health
        time.sleep(0.05)


def test_work_waiting_and_running_are_exported(tmp_path: Path) -> None:
    _needs_module_mode()
    running = servers.start("module", tmp_path / "worker", env=WORKER_ENV)
    gateway = gateways.start(tmp_path / "gateway", "--backend", running.url, key=KEY,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    try:
        with gateway.client() as client:
            release = tmp_path / "release"
            hold = f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.05)\n1"
            threads = [threading.Thread(target=client.post, args=("/exec",), kwargs={"content": hold})
                       for _ in range(3)]
            for thread in threads:
                thread.start()
            health = _wait_for(client, lambda h: h["waiting"] == 2)
            assert (health["running"], health["waiting"]) == (1, 2)
            assert [(b["running"], b["waiting"]) for b in health["backends"]] == [(1, 2)]
            metrics = client.get("/metrics").text
            assert f'blender_http_gateway_work_running{{worker="{running.url}"}} 1.0' in metrics
            assert f'blender_http_gateway_work_waiting{{worker="{running.url}"}} 2.0' in metrics
            release.touch()
            for thread in threads:
                thread.join(DEADLINE_S)
            # The worker's busy and queued come with its next health check.
            _wait_for(client, lambda h: (h["running"], h["waiting"]) == (0, 0))
            metrics = client.get("/metrics").text
            assert f'blender_http_gateway_work_running{{worker="{running.url}"}} 0.0' in metrics
            assert f'blender_http_gateway_work_waiting{{worker="{running.url}"}} 0.0' in metrics
    finally:
        gateway.stop()
        running.stop()
