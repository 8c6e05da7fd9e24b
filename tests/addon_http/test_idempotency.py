"""Idempotency-Key on POST /exec and POST /jobs: a repeated key answers with its first job
and never runs the code again (a line appended to a file in the work folder counts runs);
the same key with another request is 422 and runs nothing."""

from __future__ import annotations

import concurrent.futures
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from blender_http_addon.api.app import PREFLIGHT_HEADERS
from blender_http_addon.jobs import job as jobs
from blender_http_addon.jobs.idempotency import IdempotencyKeys, KeyReused
from blender_http_addon.jobs.store import JobStore
from blender_http_addon.jobs.work import code_job
from blender_http_addon.protocol import IDEMPOTENCY_KEY_REUSED

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
    again = client.post("/jobs", json={"code": COUNTING}, headers={"Idempotency-Key": "job-a"})
    assert again.json()["id"] == job_id and again.json()["envelope"]["result"] == 1
    assert runs(server) == 1


# -- the same key with another request -------------------------------------------------

def assert_reused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["ok"] is False and "job" not in error  # the error shape, not an envelope
    assert error["error"]["type"] == IDEMPOTENCY_KEY_REUSED
    assert "another request" in error["error"]["message"]


def test_a_key_reused_with_other_code_is_422_and_runs_nothing(server: Any, client: httpx.Client) -> None:
    first = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "k1"})
    assert first.json()["result"] == 1
    other = client.post("/exec", json={"code": "'other code'"}, headers={"Idempotency-Key": "k1"})
    assert_reused(other)
    # The key still names its first request, which still answers with its job.
    again = client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "k1"})
    assert again.json()["result"] == 1 and again.json()["job"] == first.json()["job"]
    assert runs(server) == 1


@pytest.mark.parametrize("change", [
    {"args": {"n": 2}}, {"args": {}}, {"session": "other"}, {"timeout": 20}, {"timeout": None},
    {"path": "/jobs"},
])
def test_every_part_of_the_request_counts(server: Any, client: httpx.Client,
                                          change: dict[str, Any]) -> None:
    body = {"code": COUNTING, "args": {"n": 1}, "session": "s", "timeout": 10}
    assert client.post("/exec", json=body, headers={"Idempotency-Key": "parts"}).json()["result"] == 1
    path = change.pop("path", "/exec")
    assert_reused(client.post(path, json={**body, **change}, headers={"Idempotency-Key": "parts"}))
    assert runs(server) == 1


def test_a_key_from_jobs_on_exec_is_another_request(server: Any, client: httpx.Client) -> None:
    submitted = client.post("/jobs", json={"code": COUNTING}, headers={"Idempotency-Key": "route"})
    client.get(f"/jobs/{submitted.json()['id']}", params={"wait": 30})
    assert_reused(client.post("/exec", json={"code": COUNTING}, headers={"Idempotency-Key": "route"}))
    assert runs(server) == 1


def test_the_same_request_sent_another_way_is_the_same(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "forms"}
    first = client.post("/exec", json={"code": COUNTING, "session": "f", "timeout": 5}, headers=headers)
    as_text = client.post("/exec?session=f&timeout=5.0", content=COUNTING,
                          headers={**headers, "Content-Type": "text/plain"})
    as_form = client.post("/exec", files=[("code", (None, COUNTING.encode(), "text/plain"))],
                          params={"session": "f", "timeout": "5"}, headers=headers)
    assert first.json()["result"] == 1
    assert {first.json()["job"], as_text.json()["job"], as_form.json()["job"]} == {first.json()["job"]}


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def form(blob: bytes, points: np.ndarray) -> list[tuple[str, Any]]:
    request = json.dumps({"code": COUNTING, "args": {"n": 1}}).encode()
    return [("request", (None, request, "application/json")),
            ("blob", (None, blob, "application/octet-stream")),
            ("points", ("points.npy", npy(points), "application/x-npy"))]


def test_binary_arguments_count_by_their_bytes(server: Any, client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "binary"}
    points = np.arange(6, dtype=np.float32).reshape(2, 3)
    first = client.post("/exec", files=form(b"\x00\x01", points), headers=headers)
    assert first.status_code == 200, first.text
    # httpx draws a new boundary for each form: the same arguments are the same request.
    same = client.post("/exec", files=form(b"\x00\x01", points), headers=headers)
    assert same.json()["job"] == first.json()["job"]
    assert_reused(client.post("/exec", files=form(b"\x00\x02", points), headers=headers))
    changed = points.copy()
    changed[1, 2] = -1
    assert_reused(client.post("/exec", files=form(b"\x00\x01", changed), headers=headers))
    # The same bytes as another dtype or shape are another array.
    assert_reused(client.post("/exec", files=form(b"\x00\x01", points.view(np.int32)), headers=headers))
    assert_reused(client.post("/exec", files=form(b"\x00\x01", points.reshape(3, 2)), headers=headers))
    assert runs(server) == 1


def test_a_reused_key_is_refused_while_the_first_runs(server: Any, client: httpx.Client,
                                                      gate: threading.Event) -> None:
    headers = {"Idempotency-Key": "busy"}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/exec", json={"code": "gate.wait(30)\n" + COUNTING},
                            headers=headers)
        server.wait_busy()
        try:
            assert_reused(client.post("/exec", json={"code": "'other'"}, headers=headers))
        finally:
            gate.set()
        assert first.result(30).json()["result"] == 1
    assert runs(server) == 1


def test_a_refused_request_reserves_no_session(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "no-session"}
    client.post("/exec", json={"code": "1"}, headers=headers)
    assert_reused(client.post("/exec", json={"code": "1", "session": "never-made"}, headers=headers))
    names = [s["name"] for s in client.get("/sessions").json()["sessions"]]
    assert "never-made" not in names


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


@pytest.mark.parametrize("path", ["/exec", "/jobs"])
def test_a_bad_key_is_refused_before_the_body_is_sent(server: Any, raw: Callable[..., Any],
                                                      path: str) -> None:
    # A client about to send a large body learns at once that its key is wrong: the answer
    # comes while the body is still unsent (a server reading it first would wait for it).
    connection = raw(server.port)
    connection.sock.settimeout(10)
    connection.send(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                    "Content-Type: text/plain\r\nContent-Length: 1000000\r\n"
                    f"Idempotency-Key: {'k' * 256}\r\n\r\n".encode())
    answer = connection.read_response()
    assert answer.status == 400, answer.body
    assert json.loads(answer.body)["error"]["message"] == "Idempotency-Key must be 1-255 characters"


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
    assert keys.claim("a", first, "f1") is first
    assert keys.claim("a", code_job("1"), "f1") is first
    finished(store), finished(store)  # the store drops `first`
    newer = code_job("1")
    assert keys.claim("a", newer, "f2") is newer  # a forgotten key takes any request


def test_another_fingerprint_is_refused_and_takes_nothing() -> None:
    keys = IdempotencyKeys(JobStore(retention=2))
    first = code_job("1")
    keys.claim("a", first, "f1")
    with pytest.raises(KeyReused):
        keys.claim("a", code_job("2"), "f2")
    assert keys.claim("a", code_job("1"), "f1") is first


def test_the_map_stays_bounded_by_the_retention() -> None:
    store = JobStore(retention=3)
    keys = IdempotencyKeys(store)
    for i in range(50):
        keys.claim(f"k{i}", finished(store), "f")
    assert len(keys) == 3


def test_racing_claims_give_one_winner() -> None:
    racers = 8
    keys = IdempotencyKeys(JobStore(retention=10))
    candidates = [code_job("1") for _ in range(racers)]
    with concurrent.futures.ThreadPoolExecutor(racers) as pool:
        winners = set(map(id, pool.map(lambda job: keys.claim("same", job, "f"), candidates)))
    assert len(winners) == 1
