from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.mcp import inspector

TOKEN = secrets.token_urlsafe(16)
BLENDER_FIXTURES = {"mcp_server", "module_server", "gui_server", "gateway_url"}


@pytest.fixture(scope="module")
def inspector_bin() -> Path:
    """The MCP Inspector's bin folder (installed once, pinned)."""
    found = inspector.install()
    if isinstance(found, str):
        missing(found)
    assert isinstance(found, Path)
    return found


@pytest.fixture(scope="session", params=servers.MODES)
def mcp_server(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    """One real Blender per mode with a token, shared by the MCP tests."""
    yield from _started(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    yield from _started("module", tmp_path_factory)


@pytest.fixture(scope="session")
def gui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    yield from _started("gui", tmp_path_factory)


def _started(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    running = servers.start(mode, tmp_path_factory.mktemp(f"mcp-{mode}"),
                            env={"BLENDER_HTTP_TOKEN": TOKEN})
    yield running
    running.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if set(getattr(item, "fixturenames", ())) & BLENDER_FIXTURES:
            item.add_marker(pytest.mark.blender)
