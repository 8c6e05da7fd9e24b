"""Workers the gateway did not spawn, leaving or stuck: a graceful stop finishes what it has
and gets nothing new; a worker whose job will not stop is routed around."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gateway.workers.jobids import decode_key
from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN, _needs_module_mode

DEADLINE_S = 30.0
TOKEN = {"BLENDER_HTTP_TOKEN": WORKER_TOKEN}


def backend_of(client: httpx.Client) -> dict[str, Any]:
    return dict(client.get("/health").json()["backends"][0])


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def test_a_stopping_worker_finishes_its_requests_and_gets_no_new_ones(tmp_path: Path) -> None:
    _needs_module_mode()
    worker = servers.start("module", tmp_path / "worker", env=TOKEN)
    gateway = gateways.start(tmp_path / "gateway", "--backend", worker.url, key=KEY, env=TOKEN)
    try:
        with gateway.client() as client:
            outcome: dict[str, httpx.Response] = {}

            def long_exec() -> None:
                outcome["answer"] = client.post("/exec", content="import time\ntime.sleep(5)\n'done'")

            thread = threading.Thread(target=long_exec)
            thread.start()
            wait_for(lambda: backend_of(client)["inflight"] == 1, "the exec reached the worker")
            time.sleep(0.3)
            worker.proc.send_signal(signal.SIGTERM)  # `docker stop`, a rolling update
            wait_for(lambda: backend_of(client)["stopping"], "the gateway saw the worker stopping")
            refused = client.post("/exec", content="1")
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["type"] == "NoBackend"
            thread.join(DEADLINE_S)
            answer = outcome["answer"]
            assert answer.status_code == 200, answer.text
            assert answer.json()["result"] == "done"
    finally:
        gateway.stop()
        worker.stop()


def test_a_stuck_worker_not_spawned_here_is_routed_around(tmp_path: Path) -> None:
    _needs_module_mode()
    workers = [servers.start("module", tmp_path / f"worker{i}", env=TOKEN) for i in range(2)]
    gateway = gateways.start(tmp_path / "gateway", "--backend", workers[0].url, "--backend",
                             workers[1].url, "--kill-after", "1", key=KEY, env=TOKEN)
    try:
        with gateway.client() as client:
            # One C call that never looks at signals (about 25 s of pbkdf2, the GIL released)
            # ignores the interrupt sent at the timeout.
            code = "import hashlib\nhashlib.pbkdf2_hmac('sha256', b'x', b'y', 110_000_000)"
            job = client.post("/jobs", json={"code": code, "timeout": 1}).json()
            stuck = job["backend"]

            def routed_around() -> bool:
                views = client.get("/health").json()["backends"]
                return any(not b["healthy"] and "past its timeout" in (b["error"] or "") for b in views)

            wait_for(routed_around, "the stuck worker is marked unavailable")
            for _ in range(6):
                answer = client.post("/exec", content="6 * 7")
                assert answer.status_code == 200, answer.text
                assert answer.headers["x-blender-backend"] != stuck
            # Not ours to kill: both workers still run.
            assert all(w.proc.poll() is None for w in workers)
    finally:
        gateway.stop()
        for worker in workers:
            worker.stop()


def test_a_worker_answering_503_is_asked_at_once_whether_it_is_stopping(tmp_path: Path) -> None:
    """Health checks come every minute here: the 503 itself has the gateway look, and from
    then on the stopping worker gets nothing new (its port may close any moment; a request
    caught there reads as a crash)."""
    _needs_module_mode()
    workers = [servers.start("module", tmp_path / f"worker{i}", env=TOKEN) for i in range(2)]
    gateway = gateways.start(tmp_path / "gateway", "--backend", workers[0].url, "--backend",
                             workers[1].url, key=KEY,
                             env={**TOKEN, "BLENDER_HTTP_GATEWAY_HEALTH_INTERVAL": "60"})
    try:
        with gateway.client() as client:
            job = client.post("/jobs", content="import time\ntime.sleep(10)")
            assert job.status_code == 202, job.text
            pin = {"X-Blender-Backend": job.headers["x-blender-backend"]}
            by_url = {worker.url: worker for worker in workers}
            leaving = by_url.pop(decode_key(pin["X-Blender-Backend"]))
            (staying,) = by_url.values()
            leaving.proc.send_signal(signal.SIGTERM)  # it runs its job to the end, then goes
            wait_for(lambda: httpx.get(leaving.url + "/health").json()["status"] == "stopping",
                     "the worker is stopping")
            refused = client.post("/exec", content="'late'", headers=pin)
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] == {"type": "Unavailable",
                                               "message": "the server is shutting down"}
            wait_for(lambda: {b["url"]: b["stopping"] for b in client.get("/health").json()["backends"]}
                     == {leaving.url: True, staying.url: False}, "the gateway saw the worker stopping")
            for n in range(6):
                answer = client.post("/exec", json={"code": f"{n} * 7"})
                assert answer.status_code == 200, answer.text
                assert (answer.json()["result"], decode_key(answer.headers["x-blender-backend"])) == (
                    n * 7, staying.url), answer.text
    finally:
        gateway.stop()
        for worker in workers:
            worker.stop()
