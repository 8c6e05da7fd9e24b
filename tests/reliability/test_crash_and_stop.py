"""Blender killed mid-job, and stopped gracefully, while clients wait (SPEC 3.4, 8).

tests/blender/test_lifecycle.py checks that POST /shutdown answers a queued exec with
503 and that SIGTERM lets a running job finish; here both ways of stopping meet a
running job, queued ones and new arrivals at once, and nothing may be left running.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.blender import servers

from .conftest import processes_in_group

HEADLESS = ("module", "background")
# Long enough that only the kill can end these jobs within the test.
ENDLESS = "import time\nwhile True:\n    time.sleep(0.01)"


def _wait_busy(client: httpx.Client, queued: int = 0) -> None:
    deadline = time.monotonic() + 30
    while True:
        health = client.get("/health").json()
        if health["busy"] and health["queued"] >= queued:
            return
        assert time.monotonic() < deadline, f"never busy with {queued} queued: {health}"
        time.sleep(0.01)


def _no_process_left(running: servers.Running) -> None:
    # The server was started in a session (and process group) of its own.
    deadline = time.monotonic() + 10
    while processes_in_group(running.proc.pid):
        assert time.monotonic() < deadline, f"left running: {processes_in_group(running.proc.pid)}"
        time.sleep(0.05)


@pytest.mark.parametrize("mode", HEADLESS)
def test_sigkill_mid_job_gives_waiting_clients_an_error_not_a_hang(
        mode: str, own_server: Callable[..., servers.Running]) -> None:
    running = own_server(mode)
    outcomes: dict[str, BaseException | httpx.Response] = {}

    def wait_on(name: str, call: Callable[[httpx.Client], httpx.Response]) -> None:
        with running.client() as client:  # its 60 s read timeout tells a hang
            try:
                outcomes[name] = call(client)
            except httpx.HTTPError as exc:
                outcomes[name] = exc

    def stream_events(client: httpx.Client) -> httpx.Response:
        with client.stream("GET", f"/jobs/{job}/events") as response:
            for _ in response.iter_lines():
                pass
        return response

    with running.client() as client:
        job = client.post("/jobs", json={"code": "print('started', flush=True)\n" + ENDLESS}).json()["id"]
        _wait_busy(client)
    waiters = [
        threading.Thread(target=wait_on, args=("exec", lambda c: c.post("/exec", content=b"'queued'"))),
        threading.Thread(target=wait_on, args=("long poll", lambda c: c.get(f"/jobs/{job}?wait=60"))),
        threading.Thread(target=wait_on, args=("events", stream_events)),
    ]
    for waiter in waiters:
        waiter.start()
    with running.client() as client:
        _wait_busy(client, queued=1)
    time.sleep(0.2)  # let the long poll and the event stream reach their waits
    killed = time.monotonic()
    running.proc.send_signal(signal.SIGKILL)
    for waiter in waiters:
        waiter.join(90)
    seconds = time.monotonic() - killed
    print(f"\n{mode}: every waiting client had its error {seconds * 1e3:.0f} ms after SIGKILL")
    assert set(outcomes) == {"exec", "long poll", "events"}
    for name, outcome in outcomes.items():
        assert isinstance(outcome, httpx.TransportError), (name, outcome)
        assert not isinstance(outcome, httpx.TimeoutException), (name, outcome)
    assert running.proc.wait(30) == -signal.SIGKILL
    _no_process_left(running)
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.url + "/health", timeout=5)


def _stop_by(how: str, running: servers.Running, client: httpx.Client) -> None:
    if how == "SIGTERM":
        running.proc.send_signal(signal.SIGTERM)
    else:
        assert client.post("/shutdown").status_code == 202


@pytest.mark.parametrize("how", ["SIGTERM", "POST /shutdown"])
@pytest.mark.parametrize("mode", HEADLESS)
def test_graceful_stop_finishes_the_running_job_refuses_the_rest_and_exits_0(
        mode: str, how: str, own_server: Callable[..., servers.Running]) -> None:
    running = own_server(mode)
    answers: dict[str, httpx.Response | BaseException] = {}

    def call(name: str, code: str) -> None:
        with running.client() as client:
            try:
                answers[name] = client.post("/exec", content=code.encode())
            except httpx.HTTPError as exc:
                answers[name] = exc

    runner = threading.Thread(target=call, args=("running", "import time\ntime.sleep(1.5)\n'finished'"))
    runner.start()
    with running.client() as client:
        _wait_busy(client)
        queued = [threading.Thread(target=call, args=(f"queued {n}", f"'never {n}'")) for n in range(3)]
        for thread in queued:
            thread.start()
        _wait_busy(client, queued=3)
        queued_job = client.post("/jobs", content=b"'never a job'").json()["id"]
        _stop_by(how, running, client)
        # Until it has closed, the server answers, and refuses new work with 503.
        try:
            late = client.post("/exec", content=b"'late'")
            assert late.status_code == 503 and "Retry-After" in late.headers
            stopping = client.get(f"/jobs/{queued_job}").json()
            assert stopping["status"] == "cancelled"
            assert stopping["envelope"]["error"]["type"] == "Unavailable"
        except httpx.TransportError:
            pass  # the running job ended and the server closed before we asked
    for thread in [runner, *queued]:
        thread.join(30)
    finished = answers["running"]
    assert isinstance(finished, httpx.Response), finished
    assert (finished.status_code, finished.json()["result"]) == (200, "finished")
    for n in range(3):
        answer = answers[f"queued {n}"]
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 503
        assert answer.json()["error"]["type"] == "Unavailable"
    assert running.proc.wait(30) == 0
    _no_process_left(running)


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send one request on sock; its answer (head and body) once Content-Length is met."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-answer: {data!r}"
        data += chunk
    return data


def _length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    return int(head.split("content-length:")[1].split("\r\n")[0])


@pytest.mark.parametrize("mode", HEADLESS)
def test_a_request_caught_in_the_closing_of_a_kept_alive_connection_is_answered_503_on_a_new_one(
        mode: str, own_server: Callable[..., servers.Running]) -> None:
    """HTTP/1.1's one race: the server closes an idle kept-alive connection as the client
    sends on it. The client sends again on a new connection (RFC 9112 9.3.1); a server that
    stops must still be listening then and say nothing ran (503), else the retry is refused
    and a gateway cannot tell the stop from a crash that may have run the code."""
    running = own_server(mode)
    host, port = running.url.removeprefix("http://").rsplit(":", 1)
    auth = f"Authorization: Bearer {running.token}\r\n".encode() if running.token else b""
    exec_request = (b"POST /exec HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n" + auth
                    + b"Content-Length: 6\r\n\r\n'done'")
    with socket.create_connection((host, int(port)), timeout=30) as kept:
        first = _exchange(kept, exec_request)
        assert first.startswith(b"HTTP/1.1 200 "), first
        assert json.loads(first.partition(b"\r\n\r\n")[2])["result"] == "done"
        running.proc.send_signal(signal.SIGTERM)
        assert kept.recv(1) == b""  # the idle connection is closed: a request sent now is lost
        with socket.create_connection((host, int(port)), timeout=30) as again:
            answer = _exchange(again, exec_request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 "), answer
    assert b"\r\nconnection: close" in head.lower(), head
    assert json.loads(body)["error"] == {"type": "Unavailable", "message": "the server is shutting down"}
    assert running.proc.wait(30) == 0
    _no_process_left(running)
