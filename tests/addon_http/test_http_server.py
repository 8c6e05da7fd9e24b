"""The server as a whole in-process: health, keep-alive, HEAD/OPTIONS, CORS, shutdown."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

import httpx

ErrorOf = Callable[..., dict[str, Any]]


def test_health(server: Any, client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert (health["mode"], health["blender"], health["busy"], health["queued"]) == (
        "module", "test", False, 0)
    assert isinstance(health["addon"], str) and health["uptime_s"] >= 0
    assert server.service.port != 0  # port 0 was bound and read back


def test_health_answers_while_a_job_runs(server: Any, client: httpx.Client) -> None:
    client.post("/jobs", content=b"gate.wait(30)")
    server.wait_busy()
    health = client.get("/health").json()
    assert (health["status"], health["busy"]) == ("ok", True)
    server.gate.set()


def test_keep_alive_serves_several_requests_on_one_connection(server: Any,
                                                              raw: Callable[..., Any]) -> None:
    connection = raw(server.port)
    host = f"Host: {server.host_header}\r\n"
    requests = [
        f"GET /health HTTP/1.1\r\n{host}\r\n",
        f"POST /exec HTTP/1.1\r\n{host}Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n40+2\n",
        f"GET /nope HTTP/1.1\r\n{host}\r\n",
        f"POST /exec HTTP/1.1\r\n{host}Content-Type: application/xml\r\nContent-Length: 1\r\n\r\n1",
        f"PUT /files/k.txt HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        f"GET /files/k.txt HTTP/1.1\r\n{host}\r\n",
        f"DELETE /files/k.txt HTTP/1.1\r\n{host}\r\n",
        f"GET /health HTTP/1.1\r\n{host}\r\n",
    ]
    statuses = []
    for text in requests:
        connection.send(text.encode())
        response = connection.read_response()
        assert response.headers.get("connection") != "close", text
        statuses.append(response.status)
        if text.startswith("GET /files"):
            assert response.body == b"abc"
    assert statuses == [200, 200, 404, 415, 201, 200, 204, 200]


def test_pipelined_requests_are_answered_in_order(server: Any, raw: Callable[..., Any]) -> None:
    connection = raw(server.port)
    host = f"Host: {server.host_header}\r\n"
    connection.send("".join(
        f"POST /exec HTTP/1.1\r\n{host}Content-Length: 1\r\n\r\n{n}" for n in range(3)).encode())
    assert [connection.read_response().body.count(b'"result":%d' % n) for n in range(3)] == [1, 1, 1]


def test_head_and_options(client: httpx.Client) -> None:
    head = client.head("/health")
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["Content-Length"]) > 0
    options = client.options("/exec")
    assert options.status_code == 204
    assert [m.strip() for m in options.headers["Allow"].split(",")] == ["OPTIONS", "POST"]
    assert "Access-Control-Allow-Origin" not in options.headers


def test_cors_for_an_allowed_origin(make_server: Callable[..., Any]) -> None:
    server = make_server(allowed_origins=("http://app.example",))
    with server.client() as http:
        origin = {"Origin": "http://app.example"}
        response = http.post("/exec", content=b"1", headers=origin)
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "http://app.example"
        preflight = http.options("/exec", headers={**origin, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_shutdown_then_new_execs_get_503(server: Any, client: httpx.Client, error_of: ErrorOf,
                                         wait_until: Callable[..., None]) -> None:
    response = client.post("/shutdown")
    assert response.status_code == 202
    assert response.json()["ok"] is True
    for refused in (client.post("/exec", content=b"1"), client.post("/jobs", content=b"1")):
        assert error_of(refused, 503)["type"] == "Unavailable"
        assert int(refused.headers["Retry-After"]) >= 1
    health = client.get("/health")
    assert (health.status_code, health.json()["status"]) == (200, "stopping")
    wait_until(lambda: not server.pump.is_alive(), "the pump to return")


def test_shutdown_finishes_the_running_job_and_refuses_the_queued(
        server: Any, client: httpx.Client, error_of: ErrorOf, wait_until: Callable[..., None]) -> None:
    running = client.post("/jobs", content=b"gate.wait(30)\n'finished'").json()["id"]
    server.wait_busy()
    with server.client() as other, concurrent.futures.ThreadPoolExecutor(1) as pool:
        queued_exec = pool.submit(other.post, "/exec", content=b"'never runs'")
        wait_until(lambda: client.get("/health").json()["queued"] == 1, "the /exec to be queued")
        assert client.post("/shutdown").status_code == 202
        refused = queued_exec.result(30)
        assert error_of(refused, 503)["type"] == "Unavailable"
        assert "Retry-After" in refused.headers
    server.gate.set()
    view = client.get(f"/jobs/{running}", params={"wait": 30}).json()
    assert (view["status"], view["envelope"]["result"]) == ("succeeded", "finished")
    wait_until(lambda: not server.pump.is_alive(), "the pump to return")


def test_shutdown_needs_the_token(make_server: Callable[..., Any], error_of: ErrorOf) -> None:
    server = make_server(token="s3cret")
    with server.client() as http:
        error_of(http.post("/shutdown"), 401)
        assert http.get("/health").json()["status"] == "ok"
        ok = http.post("/shutdown", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 202


def test_stop_closes_idle_keep_alive_connections(make_server: Callable[..., Any],
                                                 raw: Callable[..., Any],
                                                 wait_until: Callable[..., None]) -> None:
    server = make_server()
    connection = raw(server.port)
    connection.send(f"GET /health HTTP/1.1\r\nHost: {server.host_header}\r\n\r\n".encode())
    assert connection.read_response().status == 200
    server.service.stop(grace=1.0)
    assert server.service.stopped.is_set()
    assert connection.reader.read() == b""  # the server closed its end
    wait_until(lambda: not server.pump.is_alive(), "the pump to return")
