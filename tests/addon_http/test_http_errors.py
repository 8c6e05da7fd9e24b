"""Every caller-side status of SPEC 3.2, in the one JSON error shape; /health stays 200."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

ErrorOf = Callable[..., dict[str, Any]]
JSON = {"Content-Type": "application/json"}


def request_line(server: Any, method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {server.host_header}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize(("body", "headers"), [
    (b"{", JSON),
    (b"[]", JSON),
    (b"{}", JSON),
    (b'{"code": 5}', JSON),
    (b'{"code": "1", "extra": 1}', JSON),
    (b'{"code": "\xff"}', JSON),
    (b"", {"Content-Type": "text/plain"}),
])
def test_400_for_malformed_exec_bodies(server: Any, client: httpx.Client, error_of: ErrorOf,
                                       body: bytes, headers: dict[str, str]) -> None:
    error = error_of(client.post("/exec", content=body, headers=headers), 400)
    assert error["type"] == "BadRequest"
    server.assert_healthy()


@pytest.mark.parametrize("query", ["timeout=abc", "timeout=-1", "session=a%20b"])
def test_400_for_bad_query_values(server: Any, client: httpx.Client, error_of: ErrorOf,
                                  query: str) -> None:
    error_of(client.post(f"/exec?{query}", content=b"1"), 400)
    server.assert_healthy()


@pytest.mark.parametrize("line", [b"GARBAGE\r\n\r\n", b"GET / NOT-HTTP\r\n\r\n",
                                  b"GET /a b c HTTP/1.1\r\n\r\n"])
def test_400_for_a_garbage_request_line(server: Any, raw: Callable[..., Any], error_of: ErrorOf,
                                        line: bytes) -> None:
    connection = raw(server.port)
    connection.send(line)
    response = connection.read_response()
    error_of(response, 400)
    assert response.headers.get("connection") == "close"
    server.assert_healthy()


@pytest.mark.parametrize(("header", "status"), [
    ("Content-Length: abc", 400), ("Content-Length: -1", 400), ("Transfer-Encoding: gzip", 501),
])
def test_bad_framing_headers_get_a_json_answer(server: Any, raw: Callable[..., Any], error_of: ErrorOf,
                                               header: str, status: int) -> None:
    connection = raw(server.port)
    connection.send(request_line(server, "POST", "/exec", header))
    response = connection.read_response()
    error_of(response, status)
    assert response.headers.get("connection") == "close"
    server.assert_healthy()


def test_401_without_or_with_a_wrong_token(make_server: Callable[..., Any], error_of: ErrorOf) -> None:
    server = make_server(token="s3cret")
    with server.client(keepalive=False) as http:
        missing = http.post("/exec", content=b"1")
        assert error_of(missing, 401)["type"] == "Unauthorized"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = http.get("/jobs", headers={"Authorization": "Bearer nope"})
        error_of(wrong, 401)
        assert "WWW-Authenticate" in wrong.headers
        right = http.post("/exec", content=b"40 + 2", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and right.json()["result"] == 42
        assert http.get("/health").status_code == 200  # probes need no token


def test_403_for_a_foreign_host(server: Any, error_of: ErrorOf) -> None:
    with server.client(keepalive=False) as http:
        for host in ("evil.example", f"evil.example:{server.port}", "localhost:1"):
            error = error_of(http.post("/exec", content=b"1", headers={"Host": host}), 403)
            assert error["type"] == "Forbidden"
        assert http.get("/health", headers={"Host": "probe.internal"}).status_code == 200
        assert http.get("/sessions", headers={"Host": f"localhost:{server.port}"}).status_code == 200
    server.assert_healthy()


def test_403_for_a_foreign_origin_and_the_code_does_not_run(server: Any, error_of: ErrorOf) -> None:
    code = b"open(WORKDIR + '/pwned', 'w').close()"
    with server.client(keepalive=False) as http:
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                        {"Sec-Fetch-Site": "cross-site"}):
            response = http.post("/exec", content=code, headers={"Content-Type": "text/plain", **headers})
            error_of(response, 403)
            assert "Access-Control-Allow-Origin" not in response.headers
    assert not (server.service.files.root / "pwned").exists()
    server.assert_healthy()


def test_404(server: Any, client: httpx.Client, error_of: ErrorOf) -> None:
    assert error_of(client.get("/nope"), 404)["type"] == "NotFound"
    error_of(client.get("/jobs/0123456789abcdef"), 404)
    error_of(client.delete("/jobs/0123456789abcdef"), 404)
    error_of(client.get("/files/missing.txt"), 404)
    error_of(client.delete("/sessions/never"), 404)
    server.assert_healthy()


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/exec", "POST"), ("PUT", "/health", "GET"), ("PATCH", "/files/x", "PUT"),
    ("POST", "/sessions", "GET"), ("DELETE", "/jobs", "POST"),
])
def test_405_with_allow(server: Any, client: httpx.Client, error_of: ErrorOf,
                        method: str, path: str, allowed: str) -> None:
    response = client.request(method, path)
    assert error_of(response, 405)["type"] == "MethodNotAllowed"
    allow = [m.strip() for m in response.headers["Allow"].split(",")]
    assert allowed in allow and method not in allow
    server.assert_healthy()


def test_408_when_the_body_is_not_sent_in_time(make_server: Callable[..., Any],
                                               raw: Callable[..., Any], error_of: ErrorOf) -> None:
    server = make_server(request_timeout=0.5)
    connection = raw(server.port)
    connection.send(request_line(server, "POST", "/exec", "Content-Type: text/plain",
                                 "Content-Length: 100") + b"print(1)\n\n")
    response = connection.read_response()  # the server gives up on the other 90 bytes
    assert error_of(response, 408)["type"] == "RequestTimeout"
    assert response.headers.get("connection") == "close"
    server.assert_healthy()


def test_413_when_the_body_is_over_the_limit(make_server: Callable[..., Any], error_of: ErrorOf) -> None:
    server = make_server(max_body_bytes=64, max_file_bytes=64)
    with server.client() as http:
        error = error_of(http.post("/exec", content=b"x = 1\n" * 20), 413)
        assert error["type"] == "PayloadTooLarge"
        error_of(http.post("/jobs", json={"code": "1" * 100}), 413)
        error_of(http.put("/files/big.bin", content=b"x" * 65), 413)
        error_of(http.put("/files/big.bin", content=iter([b"x" * 40, b"x" * 40])), 413)  # chunked
        assert http.post("/exec", content=b"1 + 1").json()["result"] == 2
        assert http.get("/files").json()["files"] == []
    server.assert_healthy()


@pytest.mark.parametrize("content_type", ["application/xml", "image/png", "text/plain; charset=latin-1"])
def test_415_for_other_content_types(server: Any, client: httpx.Client, error_of: ErrorOf,
                                     content_type: str) -> None:
    error = error_of(client.post("/exec", content=b"1", headers={"Content-Type": content_type}), 415)
    assert error["type"] == "UnsupportedMediaType"
    error_of(client.post("/jobs", content=b"1", headers={"Content-Type": content_type}), 415)
    server.assert_healthy()


def test_503_with_retry_after_when_the_queue_is_full(make_server: Callable[..., Any],
                                                     error_of: ErrorOf) -> None:
    server = make_server(max_queue=1)
    with server.client() as http:
        blocker = http.post("/jobs", content=b"gate.wait(30)")
        assert blocker.status_code == 202
        server.wait_busy()
        queued = http.post("/jobs", content=b"'queued'")
        assert queued.status_code == 202
        for response in (http.post("/exec", content=b"1"), http.post("/jobs", content=b"1")):
            assert error_of(response, 503)["type"] == "Unavailable"
            assert int(response.headers["Retry-After"]) >= 1
        health = http.get("/health").json()
        assert (health["busy"], health["queued"]) == (True, 1)
        server.gate.set()
        done = http.get(queued.headers["Location"], params={"wait": 30}).json()
        assert done["status"] == "succeeded" and done["envelope"]["result"] == "queued"
        assert http.post("/exec", content=b"1").status_code == 200


def test_422_and_504_carry_the_exec_envelope(server: Any, client: httpx.Client, error_of: ErrorOf) -> None:
    failed = client.post("/exec", content=b"1 / 0")
    assert error_of(failed, 422)["type"] == "ZeroDivisionError"
    timed_out = client.post("/exec?timeout=0.5", content=b"while True:\n    pass")
    error = error_of(timed_out, 504)
    assert error["type"] == "Timeout"
    assert timed_out.json()["job"]
    assert client.post("/exec", content=b"'next'").json()["result"] == "next"


def test_bad_query_on_jobs_routes(server: Any, client: httpx.Client, error_of: ErrorOf) -> None:
    job = client.post("/jobs", content=b"1").json()["id"]
    for path in (f"/jobs/{job}?wait=abc", f"/jobs/{job}?wait=-1", f"/jobs/{job}?wait=nan",
                 "/jobs?limit=0", "/jobs?limit=x", "/jobs?status=bogus"):
        error_of(client.get(path), 400)
    server.assert_healthy()



@pytest.mark.parametrize(("config", "method", "path", "headers"), [
    ({"token": "s3cret"}, "POST", "/exec", ()),
    ({}, "POST", "/exec", ("Origin: http://evil.example",)),
    ({}, "POST", "/exec", ("Sec-Fetch-Site: cross-site",)),
    ({}, "POST", "/nope", ()),
    ({}, "PUT", "/health", ()),
    ({}, "PUT", "/files/a%5Cb", ()),
])
def test_an_error_with_an_unread_body_keeps_or_announces_closing_the_connection(
        make_server: Callable[..., Any], raw: Callable[..., Any], config: dict[str, Any],
        method: str, path: str, headers: tuple[str, ...]) -> None:
    server = make_server(**config)
    connection = raw(server.port)
    connection.send(request_line(server, method, path, *headers, "Content-Length: 5") + b"1 + 1")
    first = connection.read_response()
    assert first.status >= 400
    if first.headers.get("connection") != "close":
        connection.send(request_line(server, "GET", "/health"))
        assert connection.read_response().status == 200
