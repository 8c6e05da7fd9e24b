"""Regressions of the main loop's own reading (module and background mode), where a
kept-alive connection waits between requests and Blender's main thread reads it.

The main thread must never block on a client's socket: a client that sends
`Expect: 100-continue` gets its 100 at once, and a malformed or half-sent request on a
kept-alive connection never makes another client wait. Each bound below is the
robustness guarantee itself (an answer "at once", not after a 30-60 s stall), generous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.blender import servers

from .conftest import Raw, assert_error, assert_healthy

Connect = Callable[..., Raw]
# Far below the 30 s request timeout and the 60 s idle timeout a stall would wait out.
PROMPT_S = 10.0


@pytest.fixture(scope="module", params=["module", "background"])
def pumped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[servers.Running]:
    """A server whose main loop parks kept-alive connections between requests."""
    from .conftest import start_server

    running = start_server(request.param, tmp_path_factory.mktemp(request.param))
    yield running
    running.stop()


def kept_alive(raw: Connect, url: str) -> Raw:
    """A connection that has had one answer, so the main loop holds it between requests."""
    conn = raw(url, PROMPT_S)
    conn.send(conn.request("GET", "/health"))
    answer = conn.read_answer()
    assert answer is not None and answer.status == 200
    return conn


def read_interim(conn: Raw) -> int:
    """The status of the next answer's status line (a 1xx has no body), waiting PROMPT_S."""
    while b"\r\n\r\n" not in conn._buffer:
        assert conn._fill(), "the server closed the connection"
    head, _, conn._buffer = conn._buffer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1])


@pytest.mark.parametrize("reuse", [True, False], ids=["kept-alive", "new connection"])
def test_expect_100_continue_gets_its_100_at_once(pumped: servers.Running, raw: Connect,
                                                  reuse: bool) -> None:
    conn = kept_alive(raw, pumped.url) if reuse else raw(pumped.url, PROMPT_S)
    body = b"print('after 100'); 6 * 7"
    head = conn.request("POST", "/exec", "Expect: 100-continue", body=body)[:-len(body)]
    conn.send(head)
    try:
        assert read_interim(conn) == 100
    except TimeoutError:
        pytest.fail(f"no 100 Continue within {PROMPT_S:g} s: the server stalls Expect")
    conn.send(body)
    answer = conn.read_answer()
    assert answer is not None and answer.status == 200
    assert answer.json()["result"] == 42
    # The connection goes on serving.
    conn.send(conn.request("POST", "/exec", body=b"'again'"))
    again = conn.read_answer()
    assert again is not None and again.json()["result"] == "again"


# Heads the quick completeness check of the old main loop read differently from the
# real parser: it saw a whole request, or one waiting for a body, and the main thread
# then blocked reading the socket while every other client waited.
MALFORMED = [
    ("vertical tab before the length", b"Content-Length:\x0b5\r\n"),
    ("no-break space before the length", b"Content-Length:\xa05\r\n"),
    ("a bare LF before the length", b"X-A: a\nContent-Length: 5\r\n"),
    ("a bare LF before chunked", b"X-A: a\nTransfer-Encoding: chunked\r\n"),
    ("a length that is not ASCII digits", b"Content-Length: \xd9\xa5\r\n"),
]


@pytest.mark.parametrize("extra", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_request_on_a_kept_alive_connection_holds_up_nobody(
        pumped: servers.Running, raw: Connect, extra: bytes) -> None:
    conn = kept_alive(raw, pumped.url)
    conn.send(b"POST /exec HTTP/1.1\r\nHost: " + conn.host_header.encode() + b"\r\n" + extra + b"\r\n")
    bystander = raw(pumped.url, PROMPT_S)
    bystander.send(bystander.request("POST", "/exec", body=b"'bystander'"))
    try:
        answer = bystander.read_answer()
    except TimeoutError:
        pytest.fail(f"a bystander's exec waited more than {PROMPT_S:g} s behind a malformed request")
    assert answer is not None and answer.json()["result"] == "bystander"
    try:
        assert_error(conn.read_answer(), 400)
    except TimeoutError:
        pytest.fail("the malformed request got no answer")
    assert_healthy(pumped)


def test_a_request_trickled_a_byte_at_a_time_holds_up_nobody(pumped: servers.Running,
                                                             raw: Connect) -> None:
    conn = kept_alive(raw, pumped.url)
    head = b"POST /exec HTTP/1.1\r\nHost: " + conn.host_header.encode() + b"\r\nContent-Length: 5\r\n\r\n"
    conn.send(head + b"1")
    bystander = raw(pumped.url, PROMPT_S)
    for n in range(3):
        bystander.send(bystander.request("POST", "/exec", body=f"{n}".encode()))
        try:
            answer = bystander.read_answer()
        except TimeoutError:
            pytest.fail(f"a bystander's exec waited more than {PROMPT_S:g} s behind a slow body")
        assert answer is not None and answer.json()["result"] == n
        conn.send(b" ")  # one more byte of the slow body
    conn.send(b"\n")
    answer = conn.read_answer()
    assert answer is not None and answer.json()["result"] == 1
