from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing


@pytest.fixture(scope="session", params=servers.MODES)
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    """One real Blender per mode, shared by the tests of this folder."""
    mode: str = request.param
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    running = servers.start(mode, tmp_path_factory.mktemp(f"server-{mode}"))
    yield running
    running.stop()


@pytest.fixture
def client(server: servers.Running) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/blender" in str(item.fspath):
            item.add_marker(pytest.mark.blender)
