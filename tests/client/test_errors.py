"""How answers and transport failures become exceptions, and what each request carries:
httpx.MockTransport stands in for the server here (the real server is in the twin tests)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

import blender_http
from blender_http import (
    AsyncBlender,
    AuthError,
    BadRequest,
    Blender,
    BlenderError,
    Conflict,
    ConnectError,
    ExecCancelled,
    ExecError,
    ExecTimeout,
    NotFound,
    RequestTimeout,
    ServerError,
    StatusError,
    TransportError,
    Unavailable,
)
from blender_http.calls import EXEC_HEADROOM_S

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> Blender:
    return Blender("http://blender.test", token="t", transport=httpx.MockTransport(handler))


def _error(status: int, type: str, **extra: object) -> Handler:
    return lambda request: httpx.Response(status, json={"ok": False, "error": {
        "type": type, "message": f"{type} happened", **extra}}, headers={"Retry-After": "5"})


@pytest.mark.parametrize(("status", "kind", "cls"), [
    (400, "BadRequest", BadRequest), (413, "PayloadTooLarge", BadRequest),
    (401, "Unauthorized", AuthError), (403, "Forbidden", AuthError), (404, "NotFound", NotFound),
    (409, "Conflict", Conflict), (503, "Unavailable", Unavailable), (500, "InternalError", ServerError),
    (502, "BadGateway", ServerError),
])
def test_error_statuses_map_to_their_class(status: int, kind: str, cls: type[StatusError]) -> None:
    with _client(_error(status, kind, close_matches=["Cube"])) as blender, pytest.raises(cls) as caught:
        blender.health()
    error = caught.value
    assert (error.status, error.type, error.message) == (status, kind, f"{kind} happened")
    assert error.body["error"]["close_matches"] == ["Cube"]
    if isinstance(error, Unavailable):
        assert error.retry_after == 5.0


@pytest.mark.parametrize(("status", "kind", "cls"), [
    (422, "ZeroDivisionError", ExecError), (504, "Timeout", ExecTimeout),
    (409, "Cancelled", ExecCancelled), (503, "Unavailable", ExecCancelled),
])
def test_failed_exec_envelopes_raise_exec_errors(status: int, kind: str, cls: type[ExecError]) -> None:
    envelope = {"ok": False, "result": None, "stdout": "out", "stderr": "err", "duration_ms": 1.0,
                "job": "j1", "error": {"type": kind, "message": "m", "line": 2, "traceback": "tb"}}
    with _client(lambda r: httpx.Response(status, json=envelope)) as blender:
        with pytest.raises(cls) as caught:
            blender.exec("x")
    error = caught.value
    assert type(error) is cls
    assert (error.type, error.message, error.line, error.traceback, error.stdout, error.stderr,
            error.job, error.status) == (kind, "m", 2, "tb", "out", "err", "j1", status)


def test_a_non_json_error_still_raises_by_status() -> None:
    with _client(lambda r: httpx.Response(502, text="<html>bad gateway</html>")) as blender:
        with pytest.raises(ServerError) as caught:
            blender.health()
    assert caught.value.type == "BadGateway" and "bad gateway" in caught.value.message


def test_a_closed_port_raises_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Blender(f"http://127.0.0.1:{port}") as blender, pytest.raises(ConnectError) as caught:
        blender.health()
    assert isinstance(caught.value, TransportError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_a_read_timeout_raises_request_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with _client(slow) as blender, pytest.raises(RequestTimeout):
        blender.exec("1")


def test_exec_timeout_gives_the_read_timeout_headroom() -> None:
    seen: dict[str, object] = {}

    def record(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"], auth=request.headers.get("authorization"))
        seen["body"] = request.content
        return httpx.Response(200, json={"ok": True, "result": 1, "stdout": "", "stderr": "",
                                         "duration_ms": 0.1, "job": "j"})

    with _client(record) as blender:
        blender.exec("1", timeout=5)
        assert seen["read"] == 5 + EXEC_HEADROOM_S
        assert seen["auth"] == "Bearer t"
        assert seen["body"] == b'{"code":"1","timeout":5}'
        blender.exec("1")
        assert seen["read"] is None  # no deadline on the server: wait as long as the code runs
        blender.health()
        assert seen["read"] == 30.0


@pytest.mark.anyio
async def test_the_async_twin_translates_the_same_way() -> None:
    transport = httpx.MockTransport(_error(404, "NotFound"))
    async with AsyncBlender("http://blender.test", transport=transport) as blender:
        with pytest.raises(NotFound):
            await blender.health()


def test_every_exception_derives_from_blender_error() -> None:
    for name in blender_http.__all__:
        value = getattr(blender_http, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, BlenderError), name


def test_all_names_what_the_package_exports() -> None:
    public = {name for name in dir(blender_http) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(blender_http, name)).__name__ == "module"}
    assert set(blender_http.__all__) - {"__version__"} == public - modules
