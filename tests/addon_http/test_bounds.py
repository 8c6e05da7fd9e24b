"""Bounded by default: sessions (a cap, an idle expiry, a paged list), the bytes of kept
job results, connections (silent ones, then idle kept-alive ones make room; a first-bytes
deadline), and /health answering even when every connection is a long stream."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from blender_http_addon.config import Config, ConfigError

WAIT_S = 30.0
ErrorOf = Callable[..., dict[str, Any]]


def test_a_session_past_the_cap_is_refused_with_503_and_nothing_is_evicted(
        make_server: Callable[..., Any], error_of: ErrorOf) -> None:
    server = make_server(max_sessions=2)
    with server.client() as http:
        for name in ("a", "b"):
            assert http.post("/exec", json={"code": f"x = {name!r}", "session": name}).status_code == 200
        error = error_of(http.post("/exec", json={"code": "1", "session": "c"}), 503)
        assert "BLENDER_HTTP_MAX_SESSIONS" in error["message"] and "DELETE /sessions" in error["message"]
        error_of(http.post("/jobs", json={"code": "1", "session": "c"}), 503)
        # The sessions that exist keep their variables and still run.
        assert http.post("/exec", json={"code": "x", "session": "a"}).json()["result"] == "a"
        assert http.delete("/sessions/b").status_code == 204
        assert http.post("/exec", json={"code": "1", "session": "c"}).status_code == 200


def test_a_session_unused_past_its_ttl_is_forgotten(make_server: Callable[..., Any],
                                                     wait_until: Callable[..., None]) -> None:
    server = make_server(session_ttl=0.2, max_sessions=1)
    with server.client() as http:
        assert http.post("/exec", json={"code": "x = 1", "session": "old"}).status_code == 200
        wait_until(lambda: http.get("/sessions").json()["total"] == 0, "the idle session to expire")
        # Its place is free again.
        assert http.post("/exec", json={"code": "1", "session": "new"}).status_code == 200


def test_a_session_in_use_does_not_expire(make_server: Callable[..., Any]) -> None:
    server = make_server(session_ttl=0.2)
    with server.client() as http:
        code = "import time\nx = 7\ntime.sleep(0.6)\nx"
        assert http.post("/exec", json={"code": code, "session": "busy"}).json()["result"] == 7
        assert http.post("/exec", json={"code": "x", "session": "busy"}).json()["result"] == 7


def test_sessions_are_listed_a_page_at_a_time(make_server: Callable[..., Any],
                                              error_of: ErrorOf) -> None:
    server = make_server()
    with server.client() as http:
        for name in ("e", "c", "a", "d", "b"):
            http.post("/exec", json={"code": "1", "session": name})
        page = http.get("/sessions", params={"limit": 2, "offset": 1}).json()
        assert [s["name"] for s in page["sessions"]] == ["b", "c"]
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
        assert [s["name"] for s in http.get("/sessions").json()["sessions"]] == list("abcde")
        error_of(http.get("/sessions", params={"limit": 0}), 400)
        error_of(http.get("/sessions", params={"offset": -1}), 400)


def test_kept_results_are_bounded_by_bytes_and_a_dropped_one_says_so(
        make_server: Callable[..., Any]) -> None:
    server = make_server(job_retention_bytes=3_000_000)
    with server.client() as http:
        ids = []
        for n in range(4):
            answer = http.post("/jobs", json={"code": f"print('{n}' * 1_000_000); {n}"})
            ids.append(answer.json()["id"])
            assert http.get(f"/jobs/{ids[-1]}", params={"wait": WAIT_S}).json()["status"] == "succeeded"
        # A job's result is counted just after its waiters wake; the pump runs one job
        # at a time, so once a later job has run, every earlier one was counted.
        assert http.post("/exec", content=b"'next'").status_code == 200
        assert server.service.store.held_bytes <= 3_000_000
        oldest = http.get(f"/jobs/{ids[0]}").json()
        assert oldest["status"] == "succeeded"
        envelope = oldest["envelope"]
        assert envelope["ok"] is True and "stdout" not in envelope
        assert "BLENDER_HTTP_JOB_RETENTION_BYTES" in envelope["result_dropped"]
        newest = http.get(f"/jobs/{ids[-1]}").json()["envelope"]
        assert newest["result"] == 3 and len(newest["stdout"]) == 1_000_001
        assert "result_dropped" not in newest


def silent(port: int) -> socket.socket:
    """A connection that never sends a byte."""
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_at_the_cap_a_newcomer_takes_the_place_of_the_oldest_silent_connection(
        make_server: Callable[..., Any]) -> None:
    server = make_server(max_connections=4, first_byte_timeout=WAIT_S * 4)
    socks = [silent(server.port) for _ in range(4)]
    clients = [server.client() for _ in range(3)]
    try:
        for http in clients:  # each newcomer, kept open, closes one more silent socket, oldest first
            assert http.post("/exec", content=b"'in'").json()["result"] == "in"
        assert all(closed_by_server(s) for s in socks[:3])
        socks[3].settimeout(0.2)
        try:
            socks[3].recv(1)
            raise AssertionError("the newest silent connection was closed")
        except TimeoutError:
            pass
    finally:
        for sock in socks:
            sock.close()
        for http in clients:
            http.close()


def idle_after_one_request(raw: Callable[[int], Any], server: Any) -> Any:
    """A kept-alive connection that made one request and now waits for the next."""
    connection = raw(server.port)
    connection.send(f"POST /exec HTTP/1.1\r\nHost: {server.host_header}\r\n"
                    "Content-Length: 1\r\n\r\n1".encode())
    assert connection.read_response().status == 200
    return connection


def still_served(connection: Any, server: Any) -> bool:
    connection.send(f"GET /health HTTP/1.1\r\nHost: {server.host_header}\r\n\r\n".encode())
    return bool(connection.read_response().status == 200)


def test_at_the_cap_a_newcomer_takes_the_place_of_the_connection_idle_the_longest(
        make_server: Callable[..., Any], raw: Callable[[int], Any]) -> None:
    # Idle kept-alive connections wait in the main loop here (module and background mode).
    server = make_server(max_connections=3, idle_timeout=WAIT_S * 4)
    idle = [idle_after_one_request(raw, server) for _ in range(3)]
    newcomers = [server.client() for _ in range(2)]
    try:
        for oldest, http in enumerate(newcomers):  # each, kept open, closes the next oldest
            assert http.post("/exec", content=b"'in'").json()["result"] == "in"
            assert closed_by_server(idle[oldest].sock)
        assert still_served(idle[2], server)
    finally:
        for http in newcomers:
            http.close()


def test_idle_connections_waiting_in_threads_make_room_too(
        make_server: Callable[..., Any], raw: Callable[[int], Any],
        wait_until: Callable[..., None]) -> None:
    # While a job runs, idle connections wait in threads of their own (as in the GUI).
    server = make_server(max_connections=3, idle_timeout=WAIT_S * 4)
    idle = [idle_after_one_request(raw, server) for _ in range(2)]
    with server.client(keepalive=False) as http:
        http.post("/jobs", json={"code": "gate.wait()"})
    server.wait_busy()
    wait_until(lambda: not server.loop.waiting, "the parked connections to go to threads")
    third = raw(server.port)
    third.send(f"GET /jobs HTTP/1.1\r\nHost: {server.host_header}\r\n\r\n".encode())
    assert third.read_response().status == 200
    with server.client(keepalive=False) as http:
        assert http.get("/jobs").status_code == 200  # not 503: the oldest idle one made room
    assert closed_by_server(idle[0].sock)
    assert still_served(idle[1], server) and still_served(third, server)
    server.gate.set()


def test_a_new_connection_that_stays_silent_is_closed_after_the_first_bytes_deadline(
        make_server: Callable[..., Any]) -> None:
    server = make_server(first_byte_timeout=0.3, idle_timeout=WAIT_S * 4)
    sock = silent(server.port)
    try:
        assert closed_by_server(sock)  # well before the idle timeout (the socket would time out)
    finally:
        sock.close()
    # One that speaks in time is served as always.
    with server.client() as http:
        assert http.get("/health").status_code == 200


def test_health_answers_while_every_connection_is_an_unread_event_stream(
        make_server: Callable[..., Any], error_of: ErrorOf) -> None:
    server = make_server(max_connections=4)
    streams = []
    # A connection that closes after each request: an idle kept-alive one would make room.
    submitter = server.client(keepalive=False)
    ids = [submitter.post("/jobs", json={"code": "gate.wait()"}).json()["id"] for _ in range(4)]
    for job_id in ids:
        deadline = time.monotonic() + WAIT_S
        while True:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
            sock.sendall(f"GET /jobs/{job_id}/events HTTP/1.1\r\nHost: {server.host_header}\r\n\r\n".encode())
            head = sock.recv(12)
            if not head.startswith(b"HTTP/1.1 503") or time.monotonic() > deadline:
                break
            # "retry shortly": the server has not let go of a submitter's closed connection yet
            # (its thread ends just after the answer; slower under Wine).
            sock.close()
            time.sleep(0.05)
        assert head.startswith(b"HTTP/1.1 200")  # the stream began; never read again
        streams.append(sock)
    try:
        for _ in range(8):  # more than the reserve: each reserved connection is given back
            with httpx.Client(base_url=server.url, timeout=WAIT_S) as http:
                answer = http.get("/health")
                assert answer.status_code == 200 and answer.json()["status"] == "ok"
        with httpx.Client(base_url=server.url, timeout=WAIT_S) as http:
            assert "too many connections" in error_of(http.post("/exec", content=b"1"), 503)["message"]
    finally:
        server.gate.set()
        submitter.close()
        for sock in streams:
            sock.close()


def test_trailer_fields_are_bounded_like_headers(make_server: Callable[..., Any],
                                                 raw: Callable[[int], Any],
                                                 error_of: ErrorOf) -> None:
    server = make_server()
    conn = raw(server.port)
    trailers = b"".join(b"X-T%d: %s\r\n" % (n, b"v" * 1000) for n in range(200))
    conn.send(f"POST /exec HTTP/1.1\r\nHost: {server.host_header}\r\n"
              "Transfer-Encoding: chunked\r\n\r\n".encode() + b"1\r\n1\r\n0\r\n" + trailers + b"\r\n")
    error_of(conn.read_response(), 431)
    server.assert_healthy()


@pytest.mark.parametrize("change", [{"max_sessions": 0}, {"job_retention_bytes": 0},
                                    {"session_ttl": 0.0}, {"first_byte_timeout": float("inf")}])
def test_the_new_bounds_must_be_positive(change: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Config(**change).validate()


def test_the_new_bounds_come_from_the_environment() -> None:
    config = Config.from_env({"BLENDER_HTTP_MAX_SESSIONS": "5", "BLENDER_HTTP_SESSION_TTL": "60",
                              "BLENDER_HTTP_JOB_RETENTION_BYTES": "1024",
                              "BLENDER_HTTP_FIRST_BYTE_TIMEOUT": "2.5"})
    assert (config.max_sessions, config.session_ttl, config.job_retention_bytes,
            config.first_byte_timeout) == (5, 60.0, 1024, 2.5)
    defaults = Config()
    assert (defaults.max_sessions, defaults.job_retention_bytes, defaults.first_byte_timeout) == (
        1000, 256 * 1024 * 1024, 10.0)
