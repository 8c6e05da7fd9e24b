"""One real server per row of the version matrix, one at a time, each on a free port; the
contract runs over HTTP from this (the main) Python. What each row did is written to
test-results/versions.md at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.versions import table
from tests.versions.matrix import TARGETS, Target


@pytest.fixture(scope="module", params=TARGETS, ids=lambda target: target.id)
def target(request: pytest.FixtureRequest) -> Target:
    found: Target = request.param
    return found


@pytest.fixture(scope="module")
def server(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    """The target's Blender serving on a free port; stopped (by its pid) before the next row."""
    folder = tmp_path_factory.mktemp(f"version-{target.id}")
    ready = folder / f"ready-{target.mode}.json"
    if target.executable is not None:
        if not target.executable.exists():
            missing(f"no virtualenv with bpy {target.blender} at {target.venv}: "
                    "run .venv/bin/python -m tests.versions.matrix")
        cmd = [str(target.executable), "-m", "blender_http", "serve", "--port", "0",
               "--ready-file", str(ready)]
    else:
        reason = servers.availability(target.mode)
        if reason:
            missing(reason)
        cmd = servers.command(target.mode, ready)
    running = servers.start(target.mode, folder, cmd=cmd)
    yield running
    running.stop()


@pytest.fixture
def client(server: servers.Running) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def row(target: Target) -> table.Row:
    """What the current target's tests found, for the supported-versions table."""
    return table.row(target)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/versions" in str(item.fspath) and "target" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.blender)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    callspec = getattr(item, "callspec", None)
    found = callspec.params.get("target") if callspec is not None else None
    if isinstance(found, Target) and (report.when == "call" or report.outcome != "passed"):
        table.row(found).record(item.originalname if isinstance(item, pytest.Function) else item.name,
                                report.outcome)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if table.ROWS:
        out = Path(session.config.rootpath) / "test-results" / "versions.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(table.markdown())
