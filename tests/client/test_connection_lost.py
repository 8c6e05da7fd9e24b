"""A connection lost after the request was sent is not "cannot reach Blender": the code may
have run, so it is ConnectionLost (never retried blindly), not ConnectError (safe to retry).
Each real-server test kills a server of its own: the shared one serves the other tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blender_http import (
    AsyncBlender,
    Blender,
    BlenderError,
    ConnectError,
    ConnectionLost,
    RequestTimeout,
    TransportError,
)
from tests.blender import servers
from tests.client.conftest import TOKEN
from tests.conftest import missing

# Leaves a trace that it ran, then ends the server's process in the middle of the request.
KILLS_THE_SERVER = "open(args['marker'], 'w').write('ran')\nimport os\nos._exit(1)"
LOST = "the connection to Blender was lost after the request was sent; the code may have run"


@pytest.fixture
def doomed(tmp_path: Path) -> Iterator[servers.Running]:
    """A module-mode server of this test's own, which its code kills."""
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path / "doomed", env={"BLENDER_HTTP_TOKEN": TOKEN})
    yield running
    running.stop()  # the process this fixture started, by its pid, if it still runs


@pytest.mark.blender
@pytest.mark.timeout(120)
def test_a_server_dying_mid_request_raises_connection_lost(doomed: servers.Running,
                                                           tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with Blender(doomed.url, token=TOKEN) as blender, pytest.raises(ConnectionLost) as caught:
        blender.exec(KILLS_THE_SERVER, args={"marker": str(marker)})
    assert marker.read_text() == "ran"
    assert not isinstance(caught.value, ConnectError)
    assert LOST in str(caught.value) and "do not retry" in str(caught.value)
    assert doomed.proc.wait(30) == 1


@pytest.mark.blender
@pytest.mark.timeout(120)
@pytest.mark.anyio
async def test_the_async_twin_raises_connection_lost_too(doomed: servers.Running, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    async with AsyncBlender(doomed.url, token=TOKEN) as blender:
        with pytest.raises(ConnectionLost):
            await blender.exec(KILLS_THE_SERVER, args={"marker": str(marker)})
    assert marker.read_text() == "ran"


@pytest.mark.blender
@pytest.mark.timeout(120)
def test_the_cli_says_the_code_may_have_run_and_exits_1(doomed: servers.Running, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env.update(BLENDER_HTTP_URL=doomed.url, BLENDER_HTTP_TOKEN=TOKEN,
               BLENDER_HTTP_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run([sys.executable, "-m", "blender_http", "exec", "--args",
                           f'{{"marker": "{marker}"}}', "-c", KILLS_THE_SERVER],
                          env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 1, done.stderr  # 3 would say "nothing was sent"
    assert LOST in done.stderr
    assert marker.read_text() == "ran"


# -- each httpx failure, with httpx.MockTransport standing in for the server -------------------

@pytest.mark.parametrize(("error", "expected"), [
    (httpx.ConnectError, ConnectError),  # refused, DNS: nothing was sent
    (httpx.ConnectTimeout, ConnectError),
    (httpx.ProxyError, ConnectError),
    (httpx.UnsupportedProtocol, ConnectError),
    (httpx.RemoteProtocolError, ConnectionLost),  # the server closed the connection
    (httpx.ReadError, ConnectionLost),  # reset while the answer was awaited
    (httpx.WriteError, ConnectionLost),  # cut while the request went out: part of it may be there
    (httpx.ReadTimeout, RequestTimeout),
    (httpx.WriteTimeout, RequestTimeout),
    (httpx.PoolTimeout, RequestTimeout),
    (httpx.CloseError, TransportError),
    (httpx.LocalProtocolError, TransportError),
])
@pytest.mark.anyio
async def test_each_httpx_failure_becomes_its_class(error: type[httpx.TransportError],
                                                    expected: type[BlenderError]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("it failed", request=request)

    transport = httpx.MockTransport(fail)
    with Blender("http://blender.test", transport=transport) as blender:
        with pytest.raises(BlenderError) as caught:
            blender.exec("1")
    async with AsyncBlender("http://blender.test", transport=transport) as ablender:
        with pytest.raises(BlenderError) as async_caught:
            await ablender.exec("1")
    for raised in (caught.value, async_caught.value):
        assert type(raised) is expected
        assert isinstance(raised, TransportError) and raised.__cause__.__class__ is error
