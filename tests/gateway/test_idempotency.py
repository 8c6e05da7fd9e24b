"""Idempotency-Key through the gateway: the key goes to one worker, which runs the code once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN

# Appends one line per run to a file named after the key in the worker's work folder.
COUNTING = ("name = WORKDIR + '/runs-' + args['key']\nwith open(name, 'a') as f:\n    f.write('ran\\n')\n"
            "len(open(name).readlines())")


@pytest.fixture(scope="module")
def pair(worker: servers.Running, second_worker: servers.Running,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    running = gateways.start(tmp_path_factory.mktemp("keyed"), "--backend", worker.url,
                             "--backend", second_worker.url, key=KEY,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


def test_one_key_runs_once_on_one_worker(pair: gateways.Gateway) -> None:
    with pair.client() as client:
        backends: set[str] = set()
        # Keys hash to workers at random (their ports are): try keys until both workers have
        # had some, at least four (forty on one worker would be a 1 in 2**39 chance).
        for i in range(40):
            if i >= 4 and len(backends) == 2:
                break
            key = f"gw-{i}"
            body = {"code": COUNTING, "args": {"key": key}}
            answers = [client.post("/exec", json=body, headers={"Idempotency-Key": key})
                       for _ in range(2)]
            answers.append(client.post("/jobs", json=body, headers={"Idempotency-Key": key}))
            assert [a.status_code for a in answers] == [200, 200, 202], answers[-1].text
            assert answers[0].json()["result"] == answers[1].json()["result"] == 1
            assert len({a.headers["x-blender-backend"] for a in answers}) == 1
            assert answers[0].json()["job"] == answers[1].json()["job"] == answers[2].json()["id"]
            backend = answers[0].headers["x-blender-backend"]
            backends.add(backend)
            count = client.post("/exec", json={"code": f"len(open(WORKDIR + '/runs-{key}').readlines())"},
                                headers={"X-Blender-Backend": backend})
            assert count.json()["result"] == 1
        assert len(backends) == 2, f"{i} keys, all on one worker"


def test_health_reports_each_workers_queue_bound(pair: gateways.Gateway) -> None:
    with pair.client() as client:
        backends = client.get("/health").json()["backends"]
    assert [b["max_queue"] for b in backends] == [64, 64]
