"""Slow and silent clients against a real module-mode server: a stalled body gets its
408 after the configured request timeout (once, not twice), and silent connections
never lock others out. The bounds are the documented timeouts themselves, generous."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.blender import servers

from .conftest import Raw, assert_error, assert_healthy

Connect = Callable[..., Raw]
REQUEST_TIMEOUT_S = 4.0
# Once the timeout, plus the main loop's 0.5 s look at a half-sent request, plus slack
# for a loaded machine; still well short of twice the timeout, which the old code took.
BOUND_S = 1.6 * REQUEST_TIMEOUT_S


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    from .conftest import start_server

    running = start_server("module", tmp_path_factory.mktemp("slow"),
                           BLENDER_HTTP_REQUEST_TIMEOUT=f"{REQUEST_TIMEOUT_S:g}",
                           BLENDER_HTTP_IDLE_TIMEOUT="60")
    yield running
    running.stop()


@pytest.mark.parametrize("sent", [b"", b"1"], ids=["no body byte", "one body byte"])
@pytest.mark.parametrize("reuse", [False, True], ids=["new connection", "kept-alive"])
def test_a_stalled_body_gets_408_after_the_request_timeout_not_twice_it(
        slow_server: servers.Running, raw: Connect, sent: bytes, reuse: bool) -> None:
    conn = raw(slow_server.url, BOUND_S)
    if reuse:
        conn.send(conn.request("GET", "/health"))
        assert conn.read_answer() is not None
    head = conn.request("POST", "/exec", body=b"1 + 1 + 1")[:-9]
    conn.send(head + sent)
    try:
        answer = conn.read_answer()
    except TimeoutError:
        pytest.fail(f"no 408 within {BOUND_S:g} s for a request timeout of {REQUEST_TIMEOUT_S:g} s")
    assert "4 s" in assert_error(answer, 408)["message"]
    assert_healthy(slow_server)
