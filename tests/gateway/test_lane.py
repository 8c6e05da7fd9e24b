"""The lane (serving/): `POST /exec` and `/jobs` answered beneath ASGI, in front of a real
worker, by the gateway's own protocol in uvicorn, served in this process so the test sees
which requests the lane answered. Every answer is checked for its own value; requests the
lane must leave to ASGI (chunked, Expect: 100-continue, forwarded-for, pipelined behind an
ASGI request) are answered alike."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import h11
import httpx
import pytest
import uvicorn

from blender_http_gateway.app import GatewayApp, create_app
from blender_http_gateway.serving.lane import Lane
from blender_http_gateway.serving.protocol import GatewayProtocol
from blender_http_gateway.settings import load_settings
from tests.blender import servers
from tests.gateway.conftest import KEY, WORKER_TOKEN
from tests.gateway.gateways import free_port


class Served:
    """A gateway app served by uvicorn with GatewayProtocol in a thread; `lane` lists the
    (path, query) of each request its lane answered."""

    def __init__(self, worker_url: str, keep_alive_s: int = 5) -> None:
        settings = load_settings(backends=[worker_url], api_keys=[KEY], token=WORKER_TOKEN,
                                 auth_failures=1000000, log_level="warning")
        self.app = create_app(settings)
        assert isinstance(self.app, GatewayApp)
        self.lane: list[tuple[str, bytes]] = []
        lane = self.app.lane
        assert isinstance(lane, Lane)
        answer = lane.answer

        async def spied(route: Any, scope: dict[str, Any], body: bytes, write: Any) -> None:
            self.lane.append((scope["path"], scope["query_string"]))
            await answer(route, scope, body, write)

        lane.answer = spied  # type: ignore[method-assign]
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, http=GatewayProtocol, host="127.0.0.1", port=self.port, lifespan="on",
            log_level="warning", access_log=False, timeout_keep_alive=keep_alive_s))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.02)
        with self.client() as client:
            while client.get("/health").json().get("status") != "ok":
                assert time.monotonic() < deadline, "the worker is not healthy through the gateway"
                time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, trust_env=False)


@pytest.fixture(scope="module")
def served(worker: servers.Running) -> Iterator[Served]:
    with Served(worker.url) as running:
        yield running


def request(target: str, body: bytes, *headers: tuple[str, str], key: bool = True) -> bytes:
    """One request's bytes, with a Content-Length unless a Transfer-Encoding is given."""
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1"]
    if key:
        lines.append(f"Authorization: Bearer {KEY}")
    lines += [f"{name}: {value}" for name, value in headers]
    if not any(name.lower() == "transfer-encoding" for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_answers(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """count answers read off sock, in order: status, headers, body (h11 parses them; the
    requests it is told of only set its state: they were sent already)."""
    parser = h11.Connection(h11.CLIENT)
    answers: list[tuple[int, dict[str, str], bytes]] = []
    sock.settimeout(60)
    for _ in range(count):
        parser.send(h11.Request(method="POST", target="/", headers=[("Host", "x"), ("Content-Length", "0")]))
        parser.send(h11.EndOfMessage())
        status, headers, body = 0, {}, b""
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                assert data, f"the connection closed after {len(answers)} answers"
                parser.receive_data(data)
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        answers.append((status, headers, body))
        if parser.our_state is h11.DONE and parser.their_state is h11.DONE:
            parser.start_next_cycle()
    return answers


def test_small_execs_are_answered_by_the_lane_each_with_its_own_value(served: Served) -> None:
    served.lane.clear()
    with served.client() as client:
        for n in range(20):
            answer = client.post("/exec", content=f"{n} * 7", headers={"X-Request-ID": f"lane-{n}"})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["result"] == n * 7
            assert answer.headers["x-request-id"] == f"lane-{n}"
            tag = answer.headers["x-blender-backend"]
            assert body["job"].startswith(tag + "."), body  # the worker's id made the gateway's
            assert int(answer.headers["content-length"]) == len(answer.content)
            assert answer.headers["server"] == "uvicorn" and answer.headers["date"]
        job = client.post("/jobs", json={"code": "'queued'"})
        assert job.status_code == 202, job.text
        done = client.get(f"/jobs/{job.json()['id']}", params={"wait": 30}).json()
        assert done["status"] == "succeeded" and done["envelope"]["result"] == "queued"
    assert served.lane == [("/exec", b"")] * 20 + [("/jobs", b"")]


def test_pipelined_requests_through_the_lane_and_asgi_come_back_in_order(served: Served) -> None:
    served.lane.clear()
    chunked = b"5\r\n2 + 2\r\n0\r\n\r\n"
    sent = b"".join([
        request("/exec", b"1 + 1"),                                       # lane
        request("/exec", chunked, ("Transfer-Encoding", "chunked")),       # ASGI: chunked
        request("/exec?timeout=5", b"3 + 3"),                             # lane, pipelined
        request("/exec", b"4 + 4", ("X-Forwarded-For", "10.1.2.3")),       # ASGI: forwarded
        request("/jobs", b"'j'"),                                         # lane
        request("/exec", b"import time; time.sleep(0.2); 6"),              # lane
    ])
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(sent)
        answers = read_answers(sock, 6)
    assert [status for status, _, _ in answers] == [200, 200, 200, 200, 202, 200]
    results = [json.loads(body).get("result") for _, _, body in answers]
    assert results[:4] == [2, 4, 6, 8] and results[5] == 6
    assert json.loads(answers[4][2])["status"] in ("queued", "running", "succeeded")
    assert served.lane == [("/exec", b""), ("/exec", b"timeout=5"), ("/jobs", b""), ("/exec", b"")]


def test_a_body_that_arrives_in_pieces_is_read_whole(served: Served) -> None:
    served.lane.clear()
    whole = request("/exec", b"'piece' + 'wise'")
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        for part in (whole[:20], whole[20:-6], whole[-6:-2], whole[-2:]):
            sock.sendall(part)
            time.sleep(0.05)
        [(status, _, body)] = read_answers(sock, 1)
    assert status == 200 and json.loads(body)["result"] == "piecewise"
    assert served.lane == [("/exec", b"")]


def test_connection_close_ends_the_connection_after_the_answer(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(request("/exec", b"'last'", ("Connection", "close")))
        [(status, headers, body)] = read_answers(sock, 1)
        assert status == 200 and json.loads(body)["result"] == "last"
        assert headers["connection"] == "close"
        sock.settimeout(10)
        assert sock.recv(100) == b""  # closed by the gateway


def test_large_answers_stream_through_the_lane_whole(served: Served) -> None:
    served.lane.clear()
    with served.client() as client:
        raw = client.post("/exec", content="bytes(range(256)) * 4096",
                          headers={"Accept": "application/octet-stream"})
        assert raw.status_code == 200, raw.text[:300]
        assert raw.content == bytes(range(256)) * 4096
        text = client.post("/exec", content="'ab' * 300000")
        assert text.status_code == 200
        assert text.json()["result"] == "ab" * 300000
    assert served.lane == [("/exec", b""), ("/exec", b"")]


def test_the_lane_refuses_as_the_edge_does(served: Served) -> None:
    served.lane.clear()
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(request("/exec", b"1", key=False)
                     + request("/exec", b"1\r\n1\r\n0\r\n\r\n", ("Transfer-Encoding", "chunked"), key=False)
                     + request("/exec", b"1", ("Authorization", "Bearer wrong-key-000000000000"), key=False))
        (lane_status, lane_headers, lane_body), (asgi_status, asgi_headers, asgi_body), wrong = \
            read_answers(sock, 3)
    assert lane_status == asgi_status == 401
    assert json.loads(lane_body) == json.loads(asgi_body)
    assert json.loads(lane_body)["error"]["type"] == "Unauthorized"
    assert lane_headers["www-authenticate"] == asgi_headers["www-authenticate"]
    assert 'error="invalid_request"' in lane_headers["www-authenticate"]
    assert wrong[0] == 401 and 'error="invalid_token"' in wrong[1]["www-authenticate"]
    assert lane_headers["x-request-id"] and lane_headers["x-request-id"] != asgi_headers["x-request-id"]
    assert served.lane == [("/exec", b""), ("/exec", b"")]


def test_expect_100_continue_is_left_to_uvicorn(served: Served) -> None:
    served.lane.clear()
    head, _, body = request("/exec", b"'continued'", ("Expect", "100-continue")).partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(head + b"\r\n\r\n")
        sock.settimeout(10)
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        [(status, _, answer)] = read_answers(sock, 1)
    assert status == 200 and json.loads(answer)["result"] == "continued"
    assert served.lane == []


def test_a_client_gone_mid_exec_leaves_the_gateway_serving(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(request("/exec", b"import time; time.sleep(0.5); 'unread'"))
        time.sleep(0.1)
    with served.client() as client:
        assert client.post("/exec", content="'still here'").json()["result"] == "still here"
        time.sleep(0.6)  # the abandoned answer arrives and is dropped
        assert client.post("/exec", content="'and after'").json()["result"] == "and after"


def test_a_stopping_gateway_finishes_the_lane_request_it_runs(worker: servers.Running) -> None:
    running = Served(worker.url).__enter__()
    try:
        with socket.create_connection(("127.0.0.1", running.port)) as sock:
            sock.sendall(request("/exec", b"import time; time.sleep(1); 'finished'"))
            time.sleep(0.3)
            running.server.should_exit = True  # as SIGTERM does
            [(status, headers, body)] = read_answers(sock, 1)
        assert status == 200 and json.loads(body)["result"] == "finished"
        assert headers.get("connection") == "close"
    finally:
        running.__exit__()
    assert not running.thread.is_alive()


def test_kept_alive_connections_close_once_idle_for_the_timeout_and_only_then(
        worker: servers.Running) -> None:
    with Served(worker.url, keep_alive_s=1) as running:
        with socket.create_connection(("127.0.0.1", running.port)) as busy, \
                socket.create_connection(("127.0.0.1", running.port)) as idle:
            idle.sendall(request("/exec", b"'idle'"))
            assert json.loads(read_answers(idle, 1)[0][2])["result"] == "idle"
            for n in range(6):  # 2.4 s of requests 0.4 s apart: never idle for 1 s
                busy.sendall(request("/exec", f"{n} + 100".encode()))
                assert json.loads(read_answers(busy, 1)[0][2])["result"] == n + 100
                time.sleep(0.4)
            idle.settimeout(5)
            assert idle.recv(100) == b""  # closed after its second of idleness
            head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"  # through ASGI as well
            busy.sendall(head)
            started = time.monotonic()
            busy.settimeout(5)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                answer += busy.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
            assert busy.recv(100) == b""
            assert 0.8 < time.monotonic() - started < 4


def test_an_answer_header_that_would_break_the_framing_is_refused() -> None:
    from starlette.responses import Response

    from blender_http_gateway.serving.protocol import InvalidHeader, LaneAnswer, LaneCycle

    class Server:
        default_headers = [(b"server", b"uvicorn")]

    class Protocol:
        server_state = Server()

    cycle = LaneCycle({}, True, lambda: None)
    answer = LaneAnswer(Protocol(), cycle)  # type: ignore[arg-type]
    good = Response(b"{}", media_type="application/json")
    head, length = answer._head(good)
    assert head.startswith(b"HTTP/1.1 200 OK\r\nserver: uvicorn\r\n") and head.endswith(b"\r\n\r\n")
    assert length == 2 and b"connection: close" not in head
    Server.default_headers = []
    bare = Response(b"", status_code=204)
    assert answer._head(bare) == (b"HTTP/1.1 204 No Content\r\n\r\n", None)  # no header at all
    Server.default_headers = [(b"server", b"uvicorn")]
    for value in (b"a\r\nforged: 1", b"a\nb", b"a\rb", b"a\x00b", b"a\x1bb"):
        bad = Response(b"{}")
        bad.raw_headers.append((b"x-bad", value))
        with pytest.raises(InvalidHeader):
            answer._head(bad)
