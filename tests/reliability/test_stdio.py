"""User code that closes fds 0-2 (`os.close(1); os.close(2)`) must not turn later
client sockets into the process's stdout: another job's prints (from its own thread
too) would land in unrelated clients' answers. After each job the server puts 0-2
back where they pointed, and never leaves a client socket on them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.blender import servers

from .conftest import Raw, assert_healthy

Connect = Callable[..., Raw]
MARK = "stray-print-" * 8
PRINTS = f"""
import sys, threading
def chatter():
    for _ in range(20):
        print({MARK!r}, flush=True)
        print({MARK!r}, file=sys.stderr, flush=True)
worker = threading.Thread(target=chatter)
worker.start(); worker.join()
chatter()
'printed'
"""


# Closes 0-2, then (while_running) holds on until the test has connected its bystanders:
# connections accepted while the job runs find the numbers free.
CLOSE = """
import os, time
os.close(1); os.close(2)
if args.get("hold"):
    deadline = time.monotonic() + 30
    while not os.path.exists(os.path.join(WORKDIR, "go")) and time.monotonic() < deadline:
        time.sleep(0.05)
'closed'
"""


@pytest.mark.parametrize("while_running", [False, True], ids=["after the job", "while it runs"])
def test_closed_stdio_never_reaches_another_client(own_server: Callable[..., servers.Running],
                                                    raw: Connect, while_running: bool) -> None:
    server = own_server("module")
    with server.client() as http:
        job = http.post("/jobs", json={"code": CLOSE, "args": {"hold": while_running}}).json()["id"]
        if not while_running:
            assert http.get(f"/jobs/{job}", params={"wait": 30}).json()["status"] == "succeeded"
        # New kept-alive connections: on the old code these took fds 1 and 2.
        bystanders = [raw(server.url) for _ in range(4)]
        for conn in bystanders:
            conn.send(conn.request("GET", "/health"))
            first = conn.read_answer()
            assert first is not None and first.status == 200
        if while_running:
            http.put("/files/go", content=b"")
        assert http.get(f"/jobs/{job}", params={"wait": 30}).json()["status"] == "succeeded"
    with server.client() as http:
        assert http.post("/exec", content=PRINTS.encode()).json()["result"] == "printed"
    for conn in bystanders:
        conn.send(conn.request("POST", "/exec", body=b"'still mine'"))
        answer = conn.read_answer()
        assert answer is not None and answer.status == 200, answer
        assert answer.json()["result"] == "still mine"
        assert MARK.encode() not in conn._buffer
    assert_healthy(server)
    # The other thread's prints went where stdout pointed before: the server's log.
    assert MARK in server.log_text()
