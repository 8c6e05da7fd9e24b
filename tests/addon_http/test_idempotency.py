"""Idempotency-Key on POST /exec and POST /jobs: a repeated key answers with its first job
and never runs the code again (a line appended to a file in the work folder counts runs)."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from blender_http_addon.api.app import PREFLIGHT_HEADERS
from blender_http_addon.jobs import job as jobs
from blender_http_addon.jobs.idempotency import IdempotencyKeys
from blender_http_addon.jobs.store import JobStore
from blender_http_addon.jobs.work import code_job

# Appends one line per run to runs.txt in the work folder; the result counts the lines.
COUNTING = ("with open(WORKDIR + '/runs.txt', 'a') as f:\n    f.write('ran\\n')\n"
            "len(open(WORKDIR + '/runs.txt').readlines())")


def runs(server: Any) -> int:
    path = Path(server.service.files.root) / "runs.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_exec_twice_with_one_key_runs_once(server: Any, client: httpx.Client) -> None:
    first = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "item-1"})
    again = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "item-1"})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["result"] == again.json()["result"] == 1
    assert again.json()["job"] == first.json()["job"]
    assert runs(server) == 1
    other = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "item-2"})
    assert other.json()["result"] == 2
    assert client.post("/exec", json={"code": COUNTING}).json()["result"] == 3  # no key: runs


def test_jobs_twice_with_one_key_is_one_job(server: Any, client: httpx.Client) -> None:
    ids = [client.post("/jobs", json={"code": COUNTING}, headers={"Idempotency-Key": "job-a"})
           for _ in range(2)]
    assert [r.status_code for r in ids] == [202, 202]
    job_id = ids[0].json()["id"]
    assert ids[1].json()["id"] == job_id
    done = client.get(f"/jobs/{job_id}", params={"wait": 30}).json()
    assert done["status"] == "succeeded"
    # The same key on /exec answers the finished job's result.
    exec_again = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "job-a"})
    assert exec_again.json()["result"] == 1
    assert runs(server) == 1


def test_a_repeat_waits_for_the_first_while_it_runs(server: Any, client: httpx.Client,
                                                     gate: threading.Event) -> None:
    code = "gate.wait(30)\n" + COUNTING
    headers = {"Idempotency-Key": "slow"}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/exec", json={"code": code}, headers=headers)
        server.wait_busy()
        again = pool.submit(client.post, "/exec", json={"code": code}, headers=headers)
        gate.set()
        answers = [first.result(30), again.result(30)]
    assert [a.json()["result"] for a in answers] == [1, 1]
    assert runs(server) == 1


def test_a_bad_key_is_400(client: httpx.Client) -> None:
    response = client.post("/exec", json={"code": "1"}, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["message"]


def test_a_key_refused_by_a_full_queue_can_run_later(make_server: Callable[..., Any],
                                                     gate: threading.Event) -> None:
    server = make_server(max_queue=1)
    with server.client() as client, concurrent.futures.ThreadPoolExecutor(2) as pool:
        blocker = pool.submit(client.post, "/exec", json={"code": "gate.wait(30)"})
        server.wait_busy()
        client.post("/jobs", json={"code": "1"})  # fills the queue
        refused = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "k"})
        assert refused.status_code == 503
        gate.set()
        blocker.result(30)
        accepted = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "k"})
    assert accepted.status_code == 200, accepted.text
    assert runs(server) == 1


def test_preflight_allows_the_header() -> None:
    assert "Idempotency-Key" in PREFLIGHT_HEADERS


# -- the key map alone ----------------------------------------------------------------

def finished(store: JobStore) -> jobs.Job:
    job = code_job("1")
    job.finish(jobs.SUCCEEDED, {"ok": True})
    store.add(job)
    return job


def test_a_key_lives_as_long_as_its_job_in_the_store() -> None:
    store = JobStore(retention=2)
    keys = IdempotencyKeys(store)
    first = finished(store)
    assert keys.claim("a", first) is first
    assert keys.claim("a", code_job("1")) is first
    finished(store), finished(store)  # the store drops `first`
    newer = code_job("1")
    assert keys.claim("a", newer) is newer


def test_the_map_stays_bounded_by_the_retention() -> None:
    store = JobStore(retention=3)
    keys = IdempotencyKeys(store)
    for i in range(50):
        keys.claim(f"k{i}", finished(store))
    assert len(keys) == 3


def test_racing_claims_give_one_winner() -> None:
    racers = 8
    keys = IdempotencyKeys(JobStore(retention=10))
    candidates = [code_job("1") for _ in range(racers)]
    with concurrent.futures.ThreadPoolExecutor(racers) as pool:
        winners = set(map(id, pool.map(lambda job: keys.claim("same", job), candidates)))
    assert len(winners) == 1
