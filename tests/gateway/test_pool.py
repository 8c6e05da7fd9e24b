"""Several real workers behind one gateway: least busy, sticky sessions, dead backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN


@pytest.fixture(scope="module")
def pair(worker: servers.Running, second_worker: servers.Running,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    running = gateways.start(tmp_path_factory.mktemp("pair"), "--backend", worker.url,
                             "--backend", second_worker.url, key=KEY,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


def test_sessions_stick_to_one_backend_each(pair: gateways.Gateway) -> None:
    with pair.client() as client:
        owners = {}
        for i in range(20):
            first = client.post("/exec", json={"code": f"mine = {i}", "session": f"sticky-{i}"})
            assert first.status_code == 200, first.text
            owners[i] = first.headers["x-blender-backend"]
        for i in range(20):
            again = client.post(f"/exec?session=sticky-{i}", content="mine")
            assert again.json()["result"] == i
            assert again.headers["x-blender-backend"] == owners[i]
        assert len(set(owners.values())) == 2
        listed = {s["name"] for s in client.get("/sessions").json()["sessions"]}
        assert {f"sticky-{i}" for i in range(20)} <= listed


def test_least_busy_routes_around_a_busy_backend(pair: gateways.Gateway) -> None:
    with pair.client() as client:
        def slow() -> None:
            holder["answer"] = client.post("/exec", content="import time\ntime.sleep(2)\n'slow'")

        holder: dict[str, httpx.Response] = {}
        thread = threading.Thread(target=slow)
        thread.start()
        busy_seen = False
        while thread.is_alive() and not busy_seen:
            backends = client.get("/health").json()["backends"]
            busy_seen = any(b["inflight"] for b in backends)
            time.sleep(0.01)
        quick = [client.post("/exec", content="1").headers["x-blender-backend"] for _ in range(5)]
        thread.join()
        assert holder["answer"].json()["result"] == "slow"
        slow_backend = holder["answer"].headers["x-blender-backend"]
        assert busy_seen
        assert slow_backend not in quick


def test_jobs_are_found_on_their_backend_through_any_gateway(pair: gateways.Gateway,
                                                              gateway: gateways.Gateway) -> None:
    with pair.client() as client, gateway.client() as other:
        # Sessions spread the jobs over both workers (least busy could pick one for all).
        ids = [client.post(f"/jobs?session=spread-{i}", content=f"{i} * 10").json()["id"]
               for i in range(20)]
        for i, job in enumerate(ids):
            assert client.get(f"/jobs/{job}", params={"wait": 10}).json()["envelope"]["result"] == i * 10
        listed = {j["id"] for j in client.get("/jobs", params={"limit": 1000}).json()["jobs"]}
        assert set(ids) <= listed
        # A second gateway that knows the same worker routes the ids the first one issued.
        answers = {job: other.get(f"/jobs/{job}") for job in ids}
        here = [job for job, answer in answers.items() if answer.status_code == 200]
        assert here and len(here) < len(ids), {j: a.text for j, a in answers.items()}


def test_dead_backends_degrade_then_refuse(worker: servers.Running, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{gateways.free_port()}"
    mixed = gateways.start(tmp_path / "mixed", "--backend", worker.url, "--backend", dead, key=KEY,
                           env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    try:
        with mixed.client() as client:
            health = client.get("/health").json()
            assert health["status"] == "degraded"
            assert [b["healthy"] for b in health["backends"] if b["url"] == dead] == [False]
            for _ in range(5):
                assert client.post("/exec", content="7").json()["result"] == 7
            # A session owned by the dead backend is refused with a clear error, never moved.
            refused = [client.post(f"/exec?session=s{i}", content="1") for i in range(12)]
            down = [r for r in refused if r.status_code != 200]
            assert down and all(r.status_code == 503 for r in down)
            assert down[0].json()["error"]["type"] == "BackendDown"
            assert dead in down[0].json()["error"]["message"]
    finally:
        mixed.stop()
    alone = gateways.start(tmp_path / "alone", "--backend", dead, key=KEY, healthy=False)
    try:
        with alone.client() as client:
            assert client.get("/health").status_code == 503
            assert client.get("/health").json()["status"] == "down"
            answer = client.post("/exec", content="1")
            assert answer.status_code == 503
            assert answer.json()["error"]["type"] == "NoBackend"
            assert answer.headers["retry-after"]
    finally:
        alone.stop()


def test_workers_n_serves_one_port_from_n_processes(worker: servers.Running, tmp_path: Path) -> None:
    several = gateways.start(tmp_path / "several", "--backend", worker.url, "--workers", "2", key=KEY,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    try:
        children = [stat for stat in Path("/proc").glob("[0-9]*/stat")
                    if _parent(stat) == several.proc.pid]
        assert len(children) >= 2, children
        for i in range(8):
            with several.client() as client:  # a new connection each time
                answer = client.post("/exec", content="6 * 7", headers={"X-Request-ID": f"several-{i}"})
                assert answer.status_code == 200, answer.text
                assert answer.json()["result"] == 42
                assert client.post("/exec", content="1", headers={"Authorization": "Bearer x" * 3}
                                   ).status_code == 401
    finally:
        assert several.stop() in (0, -15)
    # Each process writes the access log: every request has its line.
    assert all(f"id=several-{i}" in several.log_text() for i in range(8)), several.log_text()[-2000:]


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
