"""/jobs end to end in-process: submit, long-poll, list, cancel, server-sent events."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

ErrorOf = Callable[..., dict[str, Any]]


def submit(client: httpx.Client, code: str, **fields: Any) -> str:
    response = client.post("/jobs", json={"code": code, **fields})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    assert response.headers["Location"] == f"/jobs/{job_id}"
    return job_id


def wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    view: dict[str, Any] = client.get(f"/jobs/{job_id}", params={"wait": 30}).json()
    assert view["status"] not in ("queued", "running"), view
    return view


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse text/event-stream lines into {"id", "event", "data"} dicts."""
    event: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "event" in event:
                event["data"] = json.loads(event["data"])
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def test_submit_then_long_poll(client: httpx.Client) -> None:
    response = client.post("/jobs", content=b"print('x')\n6 * 7")
    assert response.status_code == 202
    view = response.json()
    assert view["status"] in ("queued", "running", "succeeded")
    assert view["created_at"] > 0
    done = client.get(response.headers["Location"], params={"wait": 30}).json()
    assert done["status"] == "succeeded"
    assert done["started_at"] <= done["finished_at"]
    envelope = done["envelope"]
    assert (envelope["ok"], envelope["result"], envelope["stdout"]) == (True, 42, "x\n")
    assert envelope["job"] == done["id"] == view["id"]
    assert client.get(f"/jobs/{done['id']}").json()["envelope"] == envelope  # kept for later reads


def test_failed_job_keeps_its_error(client: httpx.Client) -> None:
    view = wait(client, submit(client, "x = 1\nraise ValueError('bad')"))
    assert view["status"] == "failed"
    assert view["envelope"]["error"]["type"] == "ValueError"
    assert view["envelope"]["error"]["line"] == 2


def test_list_jobs_newest_first_with_filters(client: httpx.Client) -> None:
    first = submit(client, "1")
    wait(client, first)
    second = submit(client, "1 / 0")
    wait(client, second)
    listed = client.get("/jobs").json()["jobs"]
    assert [j["id"] for j in listed][:2] == [second, first]
    assert all("envelope" not in j for j in listed)
    assert [j["id"] for j in client.get("/jobs?status=failed").json()["jobs"]] == [second]
    assert [j["id"] for j in client.get("/jobs?limit=1").json()["jobs"]] == [second]


def test_cancel_a_running_job_then_the_next_request_works(server: Any, client: httpx.Client) -> None:
    job_id = submit(client, "print('looping')\nwhile True:\n    pass")
    server.wait_busy()
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code in (200, 202)  # 202: asked to stop, not stopped within 1 s
    view = wait(client, job_id)
    assert view["status"] == "cancelled"
    assert view["envelope"]["error"]["type"] == "Cancelled"
    assert view["envelope"]["stdout"] == "looping\n"
    assert client.post("/exec", content=b"'next'").json()["result"] == "next"
    assert client.get("/health").json()["busy"] is False


def test_cancel_a_queued_job(server: Any, client: httpx.Client) -> None:
    blocker = submit(client, "gate.wait(30)")
    server.wait_busy()
    queued = submit(client, "'never runs'")
    response = client.delete(f"/jobs/{queued}")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    server.gate.set()
    assert wait(client, blocker)["status"] == "succeeded"
    assert wait(client, queued)["status"] == "cancelled"


def test_cancel_a_finished_job_is_409(client: httpx.Client, error_of: ErrorOf) -> None:
    job_id = submit(client, "1")
    wait(client, job_id)
    assert error_of(client.delete(f"/jobs/{job_id}"), 409)["type"] == "Conflict"


def test_exec_waiting_on_a_job_cancelled_through_jobs_is_409(
        server: Any, client: httpx.Client, error_of: ErrorOf, wait_until: Callable[..., None]) -> None:
    blocker = submit(client, "gate.wait(30)")
    server.wait_busy()
    queued: list[dict[str, Any]] = []

    def exec_is_queued() -> bool:
        queued[:] = client.get("/jobs?status=queued").json()["jobs"]
        return bool(queued)

    with server.client() as other, concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(other.post, "/exec", content=b"'queued exec'")
        wait_until(exec_is_queued, "the /exec job to be queued")
        assert client.delete(f"/jobs/{queued[0]['id']}").status_code == 200
        assert error_of(pending.result(30), 409)["type"] == "Cancelled"
    server.gate.set()
    assert wait(client, blocker)["status"] == "succeeded"


def test_events_stream_stdout_then_done(server: Any, client: httpx.Client) -> None:
    job_id = submit(client, "import sys\nprint('first')\ngate.wait(30)\n"
                            "print('second')\nprint('oops', file=sys.stderr)\n'result'")
    stdout = ""
    kinds: list[str] = []
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        for event in sse_events(response.iter_lines()):
            kinds.append(event["event"])
            if event["event"] == "stdout":
                stdout += event["data"]["text"]
                if stdout == "first\n":
                    server.gate.set()  # the first line arrived while the job still ran
            if event["event"] == "done":
                done = event["data"]
                break
    assert stdout == "first\nsecond\n"
    assert kinds[-1] == "done" and "stderr" in kinds
    assert kinds.index("done") == len(kinds) - 1
    assert (done["ok"], done["result"], done["job"]) == (True, "result", job_id)


def test_events_of_a_finished_job_replay_and_resume(client: httpx.Client) -> None:
    job_id = submit(client, "print('a')\nprint('b')")
    wait(client, job_id)
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        events = list(sse_events(response.iter_lines()))
    assert "".join(e["data"]["text"] for e in events if e["event"] == "stdout") == "a\nb\n"
    assert events[-1]["event"] == "done"
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)
    headers = {"Last-Event-ID": str(ids[-2])}
    with client.stream("GET", f"/jobs/{job_id}/events", headers=headers) as response:
        resumed = list(sse_events(response.iter_lines()))
    assert [e["event"] for e in resumed] == ["done"]
    assert client.get("/health").status_code == 200  # the connection is reusable after a stream


def test_events_of_an_unknown_job_is_404(client: httpx.Client, error_of: ErrorOf) -> None:
    error_of(client.get("/jobs/ffffffffffffffff/events"), 404)
