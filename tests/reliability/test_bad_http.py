"""Malformed HTTP over raw sockets against a real module-mode server: each request gets
its 4xx (or, where no answer can be framed, a clean close), and /health is 200 after.

tests/addon_http/test_http_errors.py covers the statuses of SPEC 3.2 one by one on an
in-process server; here are the inputs an attacker or a broken client sends.
"""

from __future__ import annotations

import concurrent.futures
import statistics
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.blender import servers

from .conftest import Raw, assert_error, assert_healthy

Connect = Callable[..., Raw]
HOST = "{host}"  # replaced by the server's own host:port


def _bytes(template: bytes, raw: Raw) -> bytes:
    return template.replace(HOST.encode(), raw.host_header.encode())


# (name, bytes sent, status): the whole request is sent, then the answer read.
GARBAGE = [
    ("tls hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", 400),
    ("null bytes", b"\x00" * 200 + b"\r\n\r\n", 400),
    ("one word", b"HELLO\r\n\r\n", 400),
    ("http/0.9", b"GET /health\r\n\r\n", 400),
    ("two words and a version", b"GET / / HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("version not http", b"GET /health FTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("version not a number", b"GET /health HTTP/one.one\r\nHost: {host}\r\n\r\n", 400),
    ("http/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("absolute-form target", b"GET http://evil.example/health HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("CONNECT", b"CONNECT evil.example:443 HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("an empty line first", b"\r\nGET /health HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("space before the colon", b"GET /exec HTTP/1.1\r\nHost : {host}\r\n\r\n", 400),
    ("header without a colon", b"GET /exec HTTP/1.1\r\nHost: {host}\r\nnocolon\r\n\r\n", 400),
    ("obsolete line folding", b"GET /exec HTTP/1.1\r\nHost: {host}\r\nX-A: a\r\n b\r\n\r\n", 400),
    ("two Hosts", b"GET /sessions HTTP/1.1\r\nHost: {host}\r\nHost: evil.example\r\n\r\n", 400),
    ("two Content-Lengths", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1\r\n"
                           b"Content-Length: 2\r\n\r\n1", 400),
    ("Content-Length and chunked", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("negative Content-Length", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: -5\r\n\r\n", 400),
    ("Content-Length beyond any limit", b"POST /exec HTTP/1.1\r\nHost: {host}\r\n"
                                        b"Content-Length: 99999999999999999999999\r\n\r\n1", 413),
    ("bad chunk size", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"zz\r\n1\r\n0\r\n\r\n", 400),
    ("chunk size beyond any limit", b"POST /exec HTTP/1.1\r\nHost: {host}\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n1\r\n", 413),
    ("unknown transfer coding", b"POST /exec HTTP/1.1\r\nHost: {host}\r\n"
                                b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    ("invalid UTF-8 code", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n\r\n"
                           b"\xff\xfe1+", 400),
    ("invalid UTF-8 in JSON", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 13\r\n\r\n{\"code\": \"\xc3\"}", 400),
    ("a NUL in the code", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n\r\n1\x002", 400),
    ("a NUL escaped in JSON", b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 18\r\n\r\n{\"code\": \"1\\u0000\"}", 400),
    ("JSON nested past the recursion limit", b"POST /exec HTTP/1.1\r\nHost: {host}\r\n"
                                             b"Content-Type: application/json\r\n"
                                             b"Content-Length: 200026\r\n\r\n"
                                             b"{\"code\": \"1\", \"args\": {\"a\":" + b"[" * 100_000
                                             + b"]" * 100_000 + b"}}", 400),
    # The request target is visible ASCII only (RFC 9112 3.2, as h11 reads it).
    ("a NUL in the path", b"GET /hea\x00lth HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("a NUL in a header value", b"GET /health HTTP/1.1\r\nHost: {host}\r\nX-A: a\x00b\r\n\r\n", 400),
    ("a bare CR in a header value", b"GET /health HTTP/1.1\r\nHost: {host}\r\nX-A: a\rX-B: b\r\n\r\n", 400),
    ("a lone surrogate escaped in JSON code", b"POST /exec HTTP/1.1\r\nHost: {host}\r\n"
                                              b"Content-Type: application/json\r\nContent-Length: 18\r\n\r\n"
                                              b"{\"code\": \"\\ud800\"}", 422),
    ("invalid UTF-8 escaped in the query", b"POST /exec?session=%ff%fe HTTP/1.1\r\nHost: {host}\r\n"
                                           b"Content-Length: 1\r\n\r\n1", 400),
    ("a request line over 64 KiB", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: {host}\r\n\r\n", 414),
    ("a header line over 64 KiB", b"GET /health HTTP/1.1\r\nHost: {host}\r\nX-Big: " + b"a" * 70_000
                                  + b"\r\n\r\n", 431),
    ("more than 100 header lines", b"GET /health HTTP/1.1\r\nHost: {host}\r\n" + b"X-A: a\r\n" * 120
                                   + b"\r\n", 431),
    ("lower-case method", b"get /health HTTP/1.1\r\nHost: {host}\r\n\r\n", 501),
    ("unknown method", b"TRACE /health HTTP/1.1\r\nHost: {host}\r\n\r\n", 501),
]


@pytest.mark.parametrize(("sent", "status"), [(g[1], g[2]) for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_garbage_gets_its_error_and_the_server_stays_up(module_server: servers.Running, raw: Connect,
                                                        sent: bytes, status: int) -> None:
    connection = raw(module_server.url)
    connection.send(_bytes(sent, connection))
    assert_error(connection.read_answer(), status)
    assert_healthy(module_server)


def test_headers_over_64_kib_in_total_are_refused(module_server: servers.Running, raw: Connect) -> None:
    connection = raw(module_server.url)
    field = b"X-Many: " + b"a" * 1000 + b"\r\n"
    try:
        connection.send(_bytes(b"GET /health HTTP/1.1\r\nHost: {host}\r\n" + field * 70 + b"\r\n",
                               connection))
        answer = connection.read_answer()
    except ConnectionResetError:  # closed with our last lines unread: the answer may be lost
        answer = None
    if answer is not None:
        assert_error(answer, 431)
    assert_healthy(module_server)


@pytest.mark.parametrize("sent", [
    b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n1 + 1",
    b"PUT /files/partial.bin HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000,
    b"POST /exec HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n1 + 1",
], ids=["exec", "file upload", "chunked"])
def test_a_body_shorter_than_announced_gets_408_and_leaves_nothing(
        module_server: servers.Running, raw: Connect, sent: bytes) -> None:
    connection = raw(module_server.url)
    connection.send(_bytes(sent, connection))
    answer = connection.read_answer()  # the server gives up after its request timeout
    assert assert_error(answer, 408)["type"] == "RequestTimeout"
    assert answer is not None and answer.headers.get("connection") == "close"
    assert connection.closed_by_server()
    with module_server.client() as client:
        assert "partial.bin" not in str(client.get("/files").json())
    assert_healthy(module_server)


@pytest.mark.parametrize("sent", [
    b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n1 + 1",
    b"POST /exec HTTP/1.1\r\nHost: {host}\r\nContent-Len",
    b"POST /ex",
], ids=["inside the body", "inside the head", "inside the request line"])
def test_a_client_that_hangs_up_mid_request_costs_nothing(module_server: servers.Running, raw: Connect,
                                                          sent: bytes) -> None:
    connection = raw(module_server.url)
    connection.send(_bytes(sent, connection))
    connection.close()
    assert_healthy(module_server)
    with module_server.client() as client:
        assert client.get("/health").json()["queued"] == 0


@pytest.mark.parametrize("path", [
    "/files/../../../etc/passwd", "/files/..%2f..%2fetc%2fpasswd", "/files/%2e%2e/%2e%2e/etc/passwd",
    "/files/a/./b", "/files//etc/passwd", "/files/%2Fetc%2Fpasswd", "/files/a%00.txt",
    "/files/..%5c..%5cetc", "/files/a/../../b",
])
def test_path_traversal_on_files_is_400(module_server: servers.Running, raw: Connect, path: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        connection = raw(module_server.url)
        body = b"pwned" if method == "PUT" else b""
        connection.send(connection.request(method, path, body=body))
        assert assert_error(connection.read_answer(), 400)["type"] == "BadRequest"
    with module_server.client() as client:
        assert client.get("/files").json()["files"] == []
    assert_healthy(module_server)


def test_a_double_encoded_dot_dot_is_a_plain_name(module_server: servers.Running, raw: Connect) -> None:
    # %252e decodes once, to the three characters "%2e": a file name, never a parent folder.
    connection = raw(module_server.url)
    connection.send(connection.request("GET", "/files/%252e%252e/secret"))
    assert_error(connection.read_answer(), 404)


def test_errors_keep_a_kept_alive_connection_in_step(module_server: servers.Running, raw: Connect) -> None:
    connection = raw(module_server.url)
    for path, status in (("/nope", 404), ("/files/..%2fx", 400), ("/health", 200)):
        connection.send(connection.request("GET", path))
        answer = connection.read_answer()
        assert answer is not None and answer.status == status
    connection.send(connection.request("POST", "/exec", body=b"6 * 7"))
    answer = connection.read_answer()
    assert answer is not None and answer.json()["result"] == 42


SLOW_CLIENTS = 24
NORMAL_REQUESTS = 400


def test_slow_clients_do_not_stall_normal_traffic_and_are_cut_off(
        own_server: Callable[..., servers.Running], raw: Connect) -> None:
    # Slowloris: connections that send a request head a line at a time, never finishing
    # it. The server must keep answering everyone else while they are held, and close
    # each once the request timeout has passed since its first byte.
    running = own_server("module", BLENDER_HTTP_REQUEST_TIMEOUT="5")
    slow = [raw(running.url, timeout=0.5) for _ in range(SLOW_CLIENTS)]
    idle = [raw(running.url) for _ in range(8)]  # connected, never a byte: the idle timeout's
    for connection in slow:
        connection.send(f"POST /exec HTTP/1.1\r\nHost: {connection.host_header}\r\n".encode())
    outcome: dict[int, str] = {}

    def trickle(index: int, connection: Raw) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection.send(b"X-Slow: %d\r\n" % index)
                answer = connection.read_answer()
            except TimeoutError:
                continue  # no answer yet: still held
            except OSError as exc:
                outcome[index] = type(exc).__name__
                return
            outcome[index] = str(answer.status) if answer else "closed"
            return
        outcome[index] = "still open after 30 s"

    trickling = [threading.Thread(target=trickle, args=(i, c)) for i, c in enumerate(slow)]
    for thread in trickling:
        thread.start()
    local = threading.local()
    clients: list[httpx.Client] = []
    answered_while_all_held = []

    def normal(n: int) -> tuple[float, object]:
        if not hasattr(local, "client"):  # one kept-alive connection per client thread
            local.client = running.client()
            clients.append(local.client)
        started = time.perf_counter()
        body = local.client.post("/exec", json={"code": "args['n'] * 2", "args": {"n": n}}).json()
        seconds = time.perf_counter() - started
        if not outcome:
            answered_while_all_held.append(n)
        return seconds, body["result"]

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(normal, range(NORMAL_REQUESTS)))
    finally:
        for client in clients:
            client.close()
        for thread in trickling:
            thread.join(40)
    assert [result for _, result in answers] == [n * 2 for n in range(NORMAL_REQUESTS)]
    assert answered_while_all_held, "no normal request was answered while the slow ones were held"
    latencies = sorted(seconds for seconds, _ in answers)
    print(f"\n{NORMAL_REQUESTS} execs from 8 clients beside {SLOW_CLIENTS} slow and {len(idle)} idle "
          f"connections ({len(answered_while_all_held)} answered while every slow one was held): "
          f"p50 {statistics.median(latencies) * 1e3:.2f} ms, max {latencies[-1] * 1e3:.1f} ms")
    # Each slow head is cut with a 408 once the request timeout has passed.
    assert sorted(set(outcome.values())) == ["408"], outcome
    assert_healthy(running)
