"""One real module-mode server (Blender as the bpy module), with a token, for the client tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from blender_http import AsyncBlender, Blender
from tests.blender import servers
from tests.conftest import missing

TOKEN = "client-tests-token"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path_factory.mktemp("client-server"),
                            env={"BLENDER_HTTP_TOKEN": TOKEN})
    yield running
    running.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def blender(server: servers.Running) -> Iterator[Blender]:
    with Blender(server.url, token=TOKEN) as client:
        yield client


@pytest.fixture
async def ablender(server: servers.Running) -> AsyncIterator[AsyncBlender]:
    async with AsyncBlender(server.url, token=TOKEN) as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/client" in str(item.fspath) and "server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.blender)
