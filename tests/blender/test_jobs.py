"""Jobs: submit, poll, cancel, stream, against a real Blender in every mode."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.blender import servers

WAIT_S = 30.0


def _wait_status(client: httpx.Client, job_id: str, wanted: str) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        view = client.get(f"/jobs/{job_id}").json()
        if view["status"] == wanted:
            return view
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} never reached {wanted}: {view}")


def test_submit_then_long_poll(client: httpx.Client) -> None:
    submitted = client.post("/jobs", json={"code": "len(D.objects)"})
    assert submitted.status_code == 202
    job_id = submitted.json()["id"]
    assert submitted.headers["location"] == f"/jobs/{job_id}"
    view = client.get(f"/jobs/{job_id}", params={"wait": 30}).json()
    assert view["status"] == "succeeded"
    assert view["envelope"]["result"] == 3
    assert view["started_at"] >= view["created_at"]
    listed = client.get("/jobs").json()["jobs"]
    assert job_id in [j["id"] for j in listed]


def test_cancel_a_running_loop(client: httpx.Client) -> None:
    job_id = client.post("/jobs", json={"code": "while True:\n    pass"}).json()["id"]
    _wait_status(client, job_id, "running")
    assert client.get("/health").json()["busy"] is True  # answered while the main thread is busy
    cancelled = client.delete(f"/jobs/{job_id}")
    assert cancelled.status_code == 200
    view = cancelled.json()
    assert view["status"] == "cancelled"
    assert view["envelope"]["error"]["type"] == "Cancelled"
    assert client.post("/exec", content=b"len(D.objects)").json()["result"] == 3
    assert client.delete(f"/jobs/{job_id}").status_code == 409  # already finished


# Blocking calls on the main thread: cut short in module and background mode (a signal to
# the main thread); in the GUI they run to their end first (docs say so).
BLOCKING_CALLS = {  # each blocks for SECONDS unless interrupted
    "sleep": "import time\ntime.sleep({s})",
    "socket read": "import socket\na, b = socket.socketpair()\na.settimeout({s})\na.recv(1)",
    "subprocess wait": "import subprocess\nsubprocess.run(['sleep', '{s}'])",
}


@pytest.mark.parametrize("call", sorted(BLOCKING_CALLS))
def test_cancel_and_timeout_cut_a_blocking_call_short(server: servers.Running, client: httpx.Client,
                                                       call: str) -> None:
    # The GUI cannot cut them short: a short call there, to see it end cancelled all the same.
    code = BLOCKING_CALLS[call].replace("{s}", "2" if server.mode == "gui" else "20")
    job_id = client.post("/jobs", json={"code": code}).json()["id"]
    _wait_status(client, job_id, "running")
    time.sleep(0.1)  # inside the call
    asked = time.monotonic()
    cancelled = client.delete(f"/jobs/{job_id}")
    view = client.get(f"/jobs/{job_id}", params={"wait": 30}).json()
    took = time.monotonic() - asked
    if server.mode == "gui":  # the GUI's main thread is Blender's: the call runs to its end,
        # and the job ends then: cancelled, or failed when the call raised first (the socket's
        # own timeout). It must end, and the pump go on.
        assert cancelled.status_code == 202 and view["status"] in ("cancelled", "failed"), view
        assert client.post("/exec", content=b"len(D.objects)").json()["result"] == 3
        return
    assert cancelled.status_code == 200, cancelled.text
    assert view["status"] == "cancelled" and view["envelope"]["error"]["type"] == "Cancelled"
    assert took < 10, took  # not the 20 s of the call
    timed = client.post("/exec", json={"code": code, "timeout": 0.5})
    assert timed.status_code == 504 and timed.json()["error"]["type"] == "Timeout"
    assert client.post("/exec", content=b"len(D.objects)").json()["result"] == 3


def test_cancel_a_queued_job_before_it_runs(client: httpx.Client) -> None:
    client.delete("/sessions/queue-test")
    blocker = client.post("/jobs", json={"code": "import time\ntime.sleep(1.0)"}).json()["id"]
    _wait_status(client, blocker, "running")
    queued = client.post("/jobs", json={"code": "ran = True", "session": "queue-test"}).json()["id"]
    assert client.get(f"/jobs/{queued}").json()["status"] == "queued"
    assert client.delete(f"/jobs/{queued}").json()["status"] == "cancelled"
    assert client.get(f"/jobs/{blocker}", params={"wait": 30}).json()["status"] == "succeeded"
    probe = client.post("/exec", json={"code": "'ran' in globals()", "session": "queue-test"}).json()
    assert probe["result"] is False


def test_events_stream_output_then_done(client: httpx.Client) -> None:
    code = "import time\nfor i in range(3):\n    print('line', i)\n    time.sleep(0.05)\n'finished'"
    job_id = client.post("/jobs", json={"code": code}).json()["id"]
    events = []
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[len("data: "):])))
    printed = "".join(data["text"] for kind, data in events if kind == "stdout")
    assert printed == "line 0\nline 1\nline 2\n"
    assert events[-1][0] == "done"
    assert events[-1][1]["result"] == "finished"
