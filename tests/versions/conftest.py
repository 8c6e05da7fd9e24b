"""One real server per row of the version matrix, one at a time, each on a free port; the
contract runs over HTTP from this (the main) Python. What each row did is written to
test-results/versions.md at the end of the run."""

from __future__ import annotations

import signal
import subprocess
import warnings
from collections.abc import Callable, Iterator
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
    if target.executable is not None:
        if not target.executable.exists():
            missing(f"no virtualenv with bpy {target.blender} at {target.venv}: "
                    "run .venv/bin/python -m tests.versions.matrix")
    else:
        reason = servers.availability(target.mode)
        if reason:
            missing(reason)

    def start(attempt: int) -> servers.Running:
        place = folder / str(attempt)
        place.mkdir()
        ready = place / f"ready-{target.mode}.json"
        cmd = ([str(target.executable), "-m", "blender_http", "serve", "--port", "0",
                "--ready-file", str(ready)] if target.executable is not None
               else servers.command(target.mode, ready))
        return servers.start(target.mode, place, cmd=cmd)

    running = first_renders_done(start) if draws_on_lavapipe(target) else start(0)
    yield running
    running.stop()


# bpy 5.1 and newer draw with Vulkan, on this GPU-less machine Mesa's lavapipe, whose first
# EEVEE or Workbench render in a process sometimes aborts it (a heap check in a lavapipe
# thread; docs/VERSIONS.md). The contract is blender-http's, so such a row's server does
# its first renders before the row's tests, on a new server when one died of a signal
# (SIGABRT, SIGSEGV) meanwhile, up to FIRST_RENDER_SERVERS servers; any other failure, or
# a death every time, fails the row.
VULKAN_FROM = (5, 1)
FIRST_RENDER_SERVERS = 3
# As the contract's render test allows: a software EEVEE render of one sample takes seconds.
FIRST_RENDER_TIMEOUT_S = 300.0
CRASH_SIGNALS = (-signal.SIGABRT, -signal.SIGSEGV)


def draws_on_lavapipe(target: Target) -> bool:
    version = tuple(int(part) for part in target.blender.split(".")[:2])
    return target.mode == "module" and version >= VULKAN_FROM


def first_renders_done(start: Callable[[int], servers.Running]) -> servers.Running:
    """A server (start(attempt) makes one) that rendered once with EEVEE and Workbench, one
    sample each (EEVEE's default 64 take about a minute in software). A server not returned
    is stopped (by its pid), whatever ended it."""
    deaths = []
    for attempt in range(FIRST_RENDER_SERVERS):
        running = start(attempt)
        try:
            with running.client(timeout=FIRST_RENDER_TIMEOUT_S) as client:
                engines = client.get("/scene").json()["render"]["engines"]
                for engine in (e for e in engines if e.startswith(("BLENDER_EEVEE", "BLENDER_WORKBENCH"))):
                    answer = client.post("/render", json={"engine": engine, "width": 8, "height": 8,
                                                          "samples": 1})
                    assert answer.status_code == 200, answer.text
            return running
        except httpx.TransportError:
            try:
                code = running.proc.wait(30)
            except subprocess.TimeoutExpired:
                running.stop()
                raise
            if code not in CRASH_SIGNALS:
                raise
            deaths.append(f"exit {code}: {running.log_text()[-200:]!r}")
            warnings.warn(f"bpy's first render killed its server ({deaths[-1]}); starting another",
                          stacklevel=1)
        except BaseException:
            running.stop()
            raise
    pytest.fail(f"every server died on its first renders: {deaths}")


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
