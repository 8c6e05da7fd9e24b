"""main_loop: kept-alive connections served by the pump thread itself, and handed back
to threads whenever that thread is busy or the request is not one it answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import RawConnection, RunningServer


def _exec(code: bytes, host: str) -> bytes:
    return (b"POST /exec HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: text/plain\r\n"
            b"Content-Length: " + str(len(code)).encode() + b"\r\n\r\n" + code)


def test_kept_alive_execs_run_inline_on_the_pump_thread(server: RunningServer) -> None:
    with server.client() as http:
        answers = [http.post("/exec", content=b"import threading\nthreading.get_ident()").json()
                   for _ in range(20)]
    assert {a["result"] for a in answers} == {server.pump.ident}
    # The first request of a connection comes through its thread; the rest, once parked,
    # are answered by the pump thread without a hand-off.
    assert server.loop.served_inline >= 15


def test_other_routes_on_a_parked_connection_go_to_a_thread(server: RunningServer) -> None:
    with server.client() as http:
        assert http.post("/exec", content=b"1").json()["result"] == 1
        submitted = http.post("/jobs", content=b"6 * 7")
        assert submitted.status_code == 202
        view = http.get(submitted.headers["location"], params={"wait": 30}).json()
        assert view["envelope"]["result"] == 42
        assert http.put("/files/x.txt", content=iter([b"chunk", b"ed"])).status_code == 201
        assert http.get("/files/x.txt").content == b"chunked"
        assert http.get("/health").status_code == 200


def test_health_answers_on_a_parked_connection_while_a_job_runs(
        server: RunningServer, wait_until: Callable[..., None]) -> None:
    with server.client() as waiting, server.client() as other:
        assert waiting.get("/health").status_code == 200  # now parked with the pump
        blocked: dict[str, Any] = {}
        runner = threading.Thread(target=lambda: blocked.update(
            response=other.post("/exec", content=b"gate.wait(30)\n'released'")))
        runner.start()
        server.wait_busy()
        health = waiting.get("/health")  # answered by a thread though the pump is busy
        assert health.status_code == 200
        assert health.json()["busy"] is True
        server.gate.set()
        runner.join(30)
    assert blocked["response"].json()["result"] == "released"


def test_pipelined_requests_are_answered_in_order(
        server: RunningServer, raw: Callable[[int], RawConnection]) -> None:
    connection = raw(server.port)
    connection.send(_exec(b"'warm'", server.host_header))
    assert connection.read_response().status == 200
    connection.send(_exec(b"'first'", server.host_header) + _exec(b"'second'", server.host_header))
    first, second = connection.read_response(), connection.read_response()
    assert b'"first"' in first.body and b'"second"' in second.body


def test_a_request_split_across_writes_is_completed_by_a_thread(
        server: RunningServer, raw: Callable[[int], RawConnection]) -> None:
    connection = raw(server.port)
    connection.send(_exec(b"'warm'", server.host_header))
    assert connection.read_response().status == 200
    request = _exec(b"'in two parts'", server.host_header)
    connection.send(request[:30])
    time.sleep(0.2)  # let the pump see a partial request
    connection.send(request[30:])
    answer = connection.read_response()
    assert answer.status == 200 and b"in two parts" in answer.body


def test_idle_parked_connections_are_closed(make_server: Callable[..., RunningServer],
                                            raw: Callable[[int], RawConnection]) -> None:
    server = make_server(idle_timeout=0.3)
    connection = raw(server.port)
    connection.send(_exec(b"1", server.host_header))
    assert connection.read_response().status == 200
    connection.sock.settimeout(30)
    assert connection.reader.read(1) == b""  # closed by the server, not left open forever
    server.assert_healthy()


def test_parked_connections_get_503_after_shutdown(server: RunningServer) -> None:
    with server.client() as http:
        assert http.post("/exec", content=b"1").status_code == 200
        assert http.post("/shutdown").status_code == 202
        try:
            refused = http.post("/exec", content=b"1")
        except httpx.TransportError:  # closed by stop(): also a clean answer
            return
        assert refused.status_code == 503
        assert refused.json()["error"]["type"] == "Unavailable"


def test_many_clients_each_get_their_own_answers(server: RunningServer) -> None:
    errors: list[str] = []

    def client(index: int) -> None:
        try:
            with server.client() as http:
                for n in range(50):
                    body = http.post("/exec", json={"code": "args['n'] * 1000 + args['i']",
                                                    "args": {"n": n, "i": index}}).json()
                    if body.get("result") != n * 1000 + index:
                        errors.append(f"client {index} request {n}: {body}")
        except Exception as exc:
            errors.append(f"client {index}: {exc!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    server.assert_healthy()


def test_a_failure_while_serving_inline_costs_one_connection(
        server: RunningServer, raw: Callable[[int], RawConnection],
        monkeypatch: pytest.MonkeyPatch) -> None:
    connection = raw(server.port)
    connection.send(_exec(b"1", server.host_header))
    assert connection.read_response().status == 200  # parked with the main loop now

    def broken(*args: object) -> bool:
        raise RuntimeError("a bug")

    monkeypatch.setattr(server.service.server, "serve_inline", broken)
    connection.send(_exec(b"2", server.host_header))
    connection.sock.settimeout(30)
    assert connection.reader.read(1) == b""  # that connection is closed...
    monkeypatch.undo()
    with server.client() as http:  # ...and the server goes on
        assert http.post("/exec", content=b"3").json()["result"] == 3
        assert http.post("/exec", content=b"4").json()["result"] == 4
