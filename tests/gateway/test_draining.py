"""Workers the gateway did not spawn, leaving or stuck: a graceful stop finishes what it has
and gets nothing new; a worker whose job will not stop is routed around."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from blender_http_gateway.forwarding.idempotency import caller_key
from blender_http_gateway.workers import choice
from blender_http_gateway.workers.backends import Backend
from blender_http_gateway.workers.jobids import backend_tag, decode_key
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


@contextlib.contextmanager
def one_of_two_stopping(tmp_path: Path) -> Iterator[tuple[httpx.Client, servers.Running, servers.Running]]:
    """A gateway (health checks once a minute) before two workers, one of which got SIGTERM
    while running a 10 s job: (a client of the gateway, the stopping worker, the other)."""
    _needs_module_mode()
    workers = [servers.start("module", tmp_path / f"worker{i}", env=TOKEN) for i in range(2)]
    gateway = gateways.start(tmp_path / "gateway", "--backend", workers[0].url, "--backend",
                             workers[1].url, key=KEY,
                             env={**TOKEN, "BLENDER_HTTP_GATEWAY_HEALTH_INTERVAL": "60"})
    try:
        with gateway.client() as client:
            job = client.post("/jobs", content="import time\ntime.sleep(10)")
            assert job.status_code == 202, job.text
            by_url = {worker.url: worker for worker in workers}
            leaving = by_url.pop(decode_key(job.headers["x-blender-backend"]))
            (staying,) = by_url.values()
            leaving.proc.send_signal(signal.SIGTERM)  # it runs its job to the end, then goes
            wait_for(lambda: httpx.get(leaving.url + "/health").json()["status"] == "stopping",
                     "the worker is stopping")
            yield client, leaving, staying
    finally:
        gateway.stop()
        for worker in workers:
            worker.stop()


def stopping_seen(client: httpx.Client, leaving: servers.Running, staying: servers.Running) -> bool:
    views = client.get("/health").json()["backends"]
    return {b["url"]: b["stopping"] for b in views} == {leaving.url: True, staying.url: False}


def forwarded(key: str) -> str:
    """The Idempotency-Key the gateway sends (and routes by) for key sent with KEY."""
    scope = {"headers": [(b"authorization", f"Bearer {KEY}".encode()), (b"idempotency-key", key.encode())]}
    scoped = caller_key(scope)
    assert scoped is not None
    return scoped.decode()


def test_a_worker_answering_503_is_asked_at_once_whether_it_is_stopping(tmp_path: Path) -> None:
    """Health checks come every minute here: the 503 itself has the gateway look, and from
    then on the stopping worker gets nothing new (its port may close any moment; a request
    caught there reads as a crash). Pinned, the 503 reaches the caller: nothing else may
    answer for that worker."""
    with one_of_two_stopping(tmp_path) as (client, leaving, staying):
        pin = {"X-Blender-Backend": backend_tag(Backend(key=leaving.url, url=leaving.url))}
        refused = client.post("/exec", content="'late'", headers=pin)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == {"type": "Unavailable", "message": "the server is shutting down"}
        wait_for(lambda: stopping_seen(client, leaving, staying), "the gateway saw the worker stopping")
        for n in range(6):
            answer = client.post("/exec", json={"code": f"{n} * 7"})
            assert answer.status_code == 200, answer.text
            assert (answer.json()["result"], decode_key(answer.headers["x-blender-backend"])) == (
                n * 7, staying.url), answer.text


def test_a_keyed_request_the_stopping_worker_refuses_runs_once_on_the_next_owner(tmp_path: Path) -> None:
    """An Idempotency-Key whose worker is stopping (the gateway has not seen it yet): the
    worker's 503 says nothing ran, so the gateway sends it to the key's owner among the
    others, where the caller's retry of the key finds it and it does not run again."""
    with one_of_two_stopping(tmp_path) as (client, leaving, staying):
        both = [Backend(key=leaving.url, url=leaving.url), Backend(key=staying.url, url=staying.url)]
        key = next(k for k in (f"item-{n}" for n in range(1000))
                   if choice.owner(both, forwarded(k)).url == leaving.url)
        code = ("import bpy\nd = bpy.app.driver_namespace\nd['runs'] = d.get('runs', 0) + 1\n"
                "d['runs']")
        for _ in range(2):  # the request, then the caller's retry of it
            answer = client.post("/exec", json={"code": code}, headers={"Idempotency-Key": key})
            assert answer.status_code == 200, answer.text
            assert (answer.json()["result"], decode_key(answer.headers["x-blender-backend"])) == (
                1, staying.url), answer.text
        wait_for(lambda: stopping_seen(client, leaving, staying), "the gateway saw the worker stopping")


def test_a_keyed_request_stays_with_a_full_worker_that_stays_healthy(tmp_path: Path) -> None:
    """A 503 for a full queue: the worker stays the key's owner, so the request is not sent
    elsewhere (the caller's retry would come back to it, which never saw the key, and run it
    again); the caller gets the 503 and sends it again later."""
    _needs_module_mode()
    full, other = (servers.start("module", tmp_path / f"worker{i}", env={**TOKEN, **limit})
                   for i, limit in enumerate([{"BLENDER_HTTP_MAX_QUEUE": "1"}, {}]))
    gateway = gateways.start(tmp_path / "gateway", "--backend", full.url, "--backend", other.url,
                             key=KEY, env=TOKEN)
    try:
        with gateway.client() as client:
            pin = {"X-Blender-Backend": backend_tag(Backend(key=full.url, url=full.url))}
            for _ in range(2):  # one runs, one waits: the queue is full
                job = client.post("/jobs", content="import time\ntime.sleep(8)", headers=pin)
                assert job.status_code == 202, job.text
            wait_for(lambda: httpx.get(full.url + "/health").json()["queued"] == 1, "the queue full")
            both = [Backend(key=full.url, url=full.url), Backend(key=other.url, url=other.url)]
            key = next(k for k in (f"item-{n}" for n in range(1000))
                       if choice.owner(both, forwarded(k)).url == full.url)
            refused = client.post("/exec", json={"code": "6 * 7"}, headers={"Idempotency-Key": key})
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["message"].startswith("the queue is full (1 jobs wait)")
            assert decode_key(refused.headers["x-blender-backend"]) == full.url
    finally:
        gateway.stop()
        full.stop()
        other.stop()
