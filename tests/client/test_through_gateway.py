"""The same client, unchanged, through the gateway (`blender-http gateway`) in front of the
module-mode server: only the URL and the token (now an API key) differ."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from blender_http import AsyncBlender, AuthError, Blender, ExecError, NotFound
from tests.blender import servers
from tests.client import expected
from tests.client.conftest import TOKEN
from tests.conftest import missing
from tests.gateway import gateways

API_KEY = "gateway-client-key"
pytestmark = [pytest.mark.blender, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def gateway_url(server: servers.Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        import fastapi  # noqa: F401
    except ImportError:
        missing("the gateway extra is not installed (pip install -e '.[dev]')")
    running = gateways.start(tmp_path_factory.mktemp("gateway"), "--backend", server.url, key=API_KEY,
                             env={"BLENDER_HTTP_TOKEN": TOKEN},
                             command=(sys.executable, "-m", "blender_http", "gateway"))
    try:
        yield running.url
    finally:
        running.stop()


def test_sync_client_through_the_gateway(gateway_url: str, tmp_path: Path) -> None:
    with Blender(gateway_url, token=API_KEY) as blender:
        assert blender.exec(expected.PRINT_AND_COUNT).stdout == "objects\n"
        with pytest.raises(ExecError) as caught:
            blender.exec(expected.FAILING)
        assert (caught.value.type, caught.value.line, caught.value.stdout) == ("KeyError", 3, "before\n")
        job = blender.submit(expected.PRINTS_SLOWLY)
        printed = "".join(e.text for e in job.stream() if e.kind == "stdout")
        assert printed == "line 0\nline 1\nline 2\n" and job.result(timeout=30).result == "finished"
        with blender.session("through-gateway") as session:
            session.exec("kept = 7")
            assert session.exec("kept").result == 7
        blender.upload(expected.BIG_BLOB, "gateway/big.bin")
        assert blender.download("gateway/big.bin", tmp_path / "big.bin") == len(expected.BIG_BLOB)
        assert (tmp_path / "big.bin").read_bytes() == expected.BIG_BLOB
        assert blender.mesh_vertices("Cube").shape == (8, 3)
        with pytest.raises(NotFound):
            blender.object("Cub")
    with Blender(gateway_url, token="wrong") as stranger, pytest.raises(AuthError):
        stranger.exec("1")


@pytest.mark.anyio
async def test_async_client_through_the_gateway(gateway_url: str) -> None:
    async with AsyncBlender(gateway_url, token=API_KEY) as blender:
        assert (await blender.exec("6 * 7")).result == 42
        job = await blender.submit(expected.PRINTS_SLOWLY)
        events = [event async for event in job.stream()]
        assert events[-1].to_result().result == "finished"
        assert (await blender.scene())["total"] == 3
