"""The gateway finds its workers by DNS through the real resolver: three module-mode workers
on 127.0.0.2, .3 and .4 (one port), one name for them in a private /etc/hosts (a mount
namespace of the gateway's own, `unshare -m`, with a file bound over /etc/hosts), edited
while a batch runs. glibc reads /etc/hosts anew on every look-up (no nscd here), so the
gateway's own look-ups every DNS interval see each edit.

The name lists one worker, then three mid-batch (the added ones take items, the first
keeps what it runs); then the first leaves as on Kubernetes (SIGTERM: it
drains and exits, then its address leaves DNS, as the headless Service of docker/k8s does
with publishNotReadyAddresses). The batch completes, every item ran exactly once, and each
result names the worker that ran it."""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN, _needs_module_mode

pytestmark = pytest.mark.timeout(600)

NAME = "blender-workers.test"
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
ITEMS = 400
DEADLINE_S = 300.0
# Re-resolve often: the test waits on each edit being seen.
DNS_INTERVAL_S = "0.5"
# Each run notes its item and its worker's address in a log all workers share (it counts
# the runs), and answers with both.
SCRIPT = ("import os, time\nworker = os.environ['BLENDER_HTTP_HOST']\n"
          "with open(args['log'], 'a') as f:\n    f.write(f\"{args['n']} {worker}\\n\")\n"
          "time.sleep(0.02)\n{'double': args['n'] * 2, 'worker': worker}\n")
# Runs the gateway in a mount namespace of its own, with $0 bound over /etc/hosts there;
# `exec` keeps one pid from unshare to the gateway, so stopping it by that pid works.
PRIVATE_HOSTS = 'mount --bind "$0" /etc/hosts && exec "$@"'


def port_free_on_every_address() -> int:
    """A port no address of ADDRESSES is using: every worker listens on the same one."""
    for _ in range(50):
        port = gateways.free_port()
        try:
            for address in ADDRESSES:
                with socket.socket() as sock:
                    sock.bind((address, port))
        except OSError:
            continue
        return port
    raise AssertionError("no port free on every address")


def start_worker(folder: Path, address: str, port: int) -> servers.Running:
    ready = folder / "ready-module.json"
    command = [sys.executable, "-m", "blender_http", "serve", "--port", str(port),
               "--ready-file", str(ready), "--no-record"]
    return servers.start("module", folder, cmd=command,
                         env={"BLENDER_HTTP_HOST": address, "BLENDER_HTTP_TOKEN": WORKER_TOKEN})


class Hosts:
    """The private /etc/hosts: this machine's, plus NAME for each listed address. Edited in
    place (a bind mount shows the file it was made on: a new file renamed over it would not
    be seen)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = Path("/etc/hosts").read_text()

    def list(self, *addresses: str) -> None:
        with open(self.path, "r+") as f:
            f.truncate(0)
            f.write(self.base + "".join(f"{a} {NAME}\n" for a in addresses))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[dict[str, servers.Running], Hosts, int]]:
    _needs_module_mode()
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        missing("a private /etc/hosts needs root and unshare (util-linux)")
    port = port_free_on_every_address()
    workers: dict[str, servers.Running] = {}
    try:
        for address in ADDRESSES:
            workers[address] = start_worker(tmp_path / address, address, port)
        hosts = Hosts(tmp_path / "hosts")
        hosts.path.write_text("")
        yield workers, hosts, port
    finally:
        for worker in workers.values():
            worker.stop()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def records(out: Path) -> list[dict[str, Any]]:
    found = []
    for line in out.read_text().splitlines() if out.exists() else []:
        try:
            found.append(json.loads(line))
        except ValueError:  # a line being written
            continue
    return found


def healthy_backends(gateway: gateways.Gateway) -> set[str]:
    with gateway.client() as client:
        return {b["key"] for b in client.get("/health").json()["backends"] if b["healthy"]}


def backends(gateway: gateways.Gateway) -> set[str]:
    with gateway.client() as client:
        return {b["key"] for b in client.get("/health").json()["backends"]}


def test_the_gateway_follows_etc_hosts_through_a_batch(
        cluster: tuple[dict[str, servers.Running], Hosts, int], tmp_path: Path) -> None:
    workers, hosts, port = cluster
    first, second, added = ADDRESSES  # added: the last to come
    url = {a: f"http://{a}:{port}" for a in ADDRESSES}
    hosts.list(first)
    gateway = gateways.start(
        tmp_path / "gateway", "--backend", f"http://{NAME}:{port}", key=KEY,
        env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN, "BLENDER_HTTP_GATEWAY_DNS_INTERVAL": DNS_INTERVAL_S},
        command=("unshare", "--mount", "--propagation", "private", "sh", "-c", PRIVATE_HOSTS,
                 str(hosts.path), *gateways.GATEWAY_COMMAND))
    batch: subprocess.Popen[str] | None = None
    try:
        # One name, one address: one worker, known by its address (so that when more
        # addresses come, it stays the same worker, with what it has open).
        wait_for(lambda: healthy_backends(gateway) == {url[first]}, "the listed worker")
        runs_log = tmp_path / "runs.log"
        items = tmp_path / "items.jsonl"
        items.write_text("".join(json.dumps({"n": n, "log": str(runs_log)}) + "\n" for n in range(ITEMS)))
        (tmp_path / "s.py").write_text(SCRIPT)
        out = tmp_path / "out.jsonl"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
        batch = subprocess.Popen(
            [sys.executable, "-m", "blender_http", "batch", str(tmp_path / "s.py"), "--items", str(items),
             "--out", str(out), "--url", gateway.url, "--token", KEY],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

        wait_for(lambda: len(records(out)) >= ITEMS // 5 or batch.poll() is not None, "a fifth done")
        assert batch.poll() is None, "the batch ended before a worker could be added"
        hosts.list(first, second, added)
        wait_for(lambda: healthy_backends(gateway) == set(url.values()), "the added workers in use")

        wait_for(lambda: len(records(out)) >= ITEMS // 2 or batch.poll() is not None, "half done")
        assert batch.poll() is None, "the batch ended before a worker could leave"
        # Leaving as a Kubernetes pod does: SIGTERM (it finishes its running job, answers its
        # queued ones 503, which the batch sends again), it exits, then its address leaves DNS.
        leaving = workers[first]
        leaving.proc.send_signal(signal.SIGTERM)
        assert leaving.proc.wait(DEADLINE_S) == 0, leaving.log_text()
        hosts.list(second, added)
        wait_for(lambda: backends(gateway) == {url[second], url[added]}, "the left worker dropped")

        _, err = batch.communicate(timeout=DEADLINE_S)
        assert batch.returncode == 0, err
    finally:
        if batch is not None and batch.poll() is None:
            batch.kill()
            batch.wait()
        gateway.stop()

    found = records(out)
    assert sorted(r["index"] for r in found) == list(range(ITEMS))
    assert all(r["ok"] and r["result"]["double"] == r["item"]["n"] * 2 for r in found), \
        [r for r in found if not r["ok"]][:3]
    ran = [line.split() for line in runs_log.read_text().splitlines()]
    runs = collections.Counter(int(n) for n, _ in ran)
    assert runs == collections.Counter(range(ITEMS)), "every item ran exactly once"
    ran_on = {int(n): worker for n, worker in ran}
    assert {r["item"]["n"]: r["result"]["worker"] for r in found} == ran_on
    per_worker = collections.Counter(ran_on.values())
    assert set(per_worker) == set(ADDRESSES), per_worker  # the added workers took items too
