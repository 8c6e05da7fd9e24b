"""Windows CPython 3.11 and 3.13 under Wine (tests/windows/wine.py): one Wine session per test
session, one add-on server per Python, and the add-on's pure test suite started for both
Pythons at once (it is the longest part; two cores run the two).

Wine missing fails the tests where Blender tests must run (`missing()`: scripts/test and CI
set BLENDER_HTTP_REQUIRE_BLENDER=1 and install wine) and skips them elsewhere; wine present
but a Python or a package that cannot be set up always fails them."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.windows import wine

INSIDE = Path(__file__).resolve().parent / "inside"
START_TIMEOUT = 90.0
SUITE_TIMEOUT = 900.0
# The add-on's pure tests, as run under Windows: the folder, and what it needs besides itself.
SUITE = "tests/addon_http"
SUITE_FILES = ("tests/__init__.py", "tests/conftest.py", "tests/layers.py", "pyproject.toml")
SUITE_TREES = ("tests/addon_http", "addon_http")  # test_layers reads the add-on's source


@pytest.fixture(scope="session")
def wine_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[wine.Session]:
    folder = tmp_path_factory.mktemp("windows")
    try:
        session = wine.open_session(folder)
    except wine.WineMissing as exc:
        missing(str(exc))
    except (wine.SetupFailed, subprocess.SubprocessError, OSError) as exc:
        pytest.fail(f"Windows Python under Wine could not be set up: {exc}", pytrace=False)
    try:
        yield session
    finally:
        wine.close_session()


@pytest.fixture(scope="module")
def linux_server(wine_session: wine.Session,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    """A real Linux module-mode server with a token, for Windows clients to talk to."""
    try:
        running = servers.start("module", tmp_path_factory.mktemp("linux-server"),
                                env={"BLENDER_HTTP_TOKEN": secrets.token_hex(16)})
    except RuntimeError as exc:
        pytest.fail(f"the Linux module-mode server did not start: {exc}", pytrace=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session", params=wine.VERSIONS, ids=lambda v: f"win-py{v}")
def version(request: pytest.FixtureRequest) -> str:
    found: str = request.param
    return found


# -- the add-on's server, run by Windows Python ------------------------------------------------

@dataclasses.dataclass
class WindowsServer:
    version: str
    process: wine.Process
    port: int
    workdir: Path
    ready: dict[str, object]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0, trust_env=False, **options)  # type: ignore[arg-type]

    def log(self) -> str:
        return f"stdout:\n{self.process.stdout_text()}\nstderr:\n{self.process.stderr_text()}"


def start_server(session: wine.Session, version: str, folder: Path) -> WindowsServer:
    """inside/serve.py: the service with its blocking pump, on 127.0.0.1, port 0."""
    workdir, ready_file = folder / "work", folder / "ready.json"
    process = session.start(version, [wine.windows_path(INSIDE / "serve.py"), wine.windows_path(workdir),
                                      wine.windows_path(ready_file)])
    deadline = time.monotonic() + START_TIMEOUT
    while not (line := process.stdout_text().partition("\n")[0]).startswith("{"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.stop()
            pytest.fail(f"the Windows {version} server did not start: rc {process.returncode}\n"
                        f"{process.stdout_text()}\n{process.stderr_text()}", pytrace=False)
        time.sleep(0.05)
    ready = json.loads(ready_file.read_text()) if ready_file.exists() else {}
    return WindowsServer(version, process, json.loads(line)["port"], workdir, ready)


def stop_server(server: WindowsServer) -> None:
    with server.client() as http, contextlib.suppress(httpx.HTTPError):
        http.post("/shutdown", timeout=10)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(20)
    server.process.stop()


class WindowsServers:
    """One server per Windows Python for the whole session, started when first asked for."""

    def __init__(self, session: wine.Session, factory: pytest.TempPathFactory) -> None:
        self._session = session
        self._factory = factory
        self._running: dict[str, WindowsServer] = {}

    def __getitem__(self, version: str) -> WindowsServer:
        if version not in self._running:
            folder = self._factory.mktemp(f"server-{version}")
            self._running[version] = start_server(self._session, version, folder)
        return self._running[version]

    def stop(self) -> None:
        for server in self._running.values():
            stop_server(server)


@pytest.fixture(scope="session")
def windows_servers(wine_session: wine.Session,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[WindowsServers]:
    servers = WindowsServers(wine_session, tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def windows_server(windows_servers: WindowsServers, version: str) -> WindowsServer:
    return windows_servers[version]


# -- the add-on's pure test suite under Windows -----------------------------------------------

@dataclasses.dataclass
class SuiteRun:
    """One run of the pure suite by Windows Python, and what this (Linux) Python collects from
    the same files with the same options."""

    version: str
    process: wine.Process
    junit: Path
    options: list[str]
    expected: int
    started: float
    seconds: float = 0.0

    def wait(self) -> subprocess.CompletedProcess[str]:
        try:
            self.process.wait(max(1.0, self.started + SUITE_TIMEOUT - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.stop()
            pytest.fail(f"the suite under Windows {self.version} ran past {SUITE_TIMEOUT} s:\n"
                        f"{self.process.stdout_text()[-5000:]}", pytrace=False)
        self.seconds = time.monotonic() - self.started
        self.process.stop()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode,
                                           self.process.stdout_text(), self.process.stderr_text())

    def report(self) -> ET.Element:
        return ET.parse(self.junit).getroot()


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
            if node.module == "hypothesis.extra":
                found |= {alias.name for alias in node.names}
    return found


def suite_options(root: Path, version: str) -> list[str]:
    """Which tests run: none that needs a real Blender (bpy, the blender marker), and on a
    Python without NumPy (3.13 under wine, see wine.py) none of the modules that import it."""
    absent = {"bpy"} | (set() if wine.NUMPY[version] else {"numpy"})
    ignored = [f"--ignore={path.relative_to(root).as_posix()}"
               for path in sorted((root / SUITE).glob("test_*.py")) if _top_level_imports(path) & absent]
    return ["-m", "not blender", *ignored]


def _copy_suite(root: Path, into: Path) -> None:
    for name in SUITE_FILES:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, into / name)
    for tree in SUITE_TREES:
        shutil.copytree(root / tree, into / tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _collected(copy: Path, options: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
               SUITE, *options]
    # No cached test modules here: Windows' 3.11 would read them (the same cache tag).
    done = subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return sum(1 for line in done.stdout.splitlines() if "::" in line)


@pytest.fixture(scope="session")
def addon_suites(wine_session: wine.Session, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    """The pure suite started under every Windows Python at once, from a copy of its files."""
    copy = tmp_path_factory.mktemp("suite")
    _copy_suite(wine.ROOT, copy)
    runs: dict[str, SuiteRun] = {}
    for version in wine.VERSIONS:
        options = suite_options(copy, version)
        junit = copy / f"junit-{version}.xml"
        process = wine_session.start(version, ["-m", "pytest", "-p", "no:cacheprovider", "-q",
                                               f"--junitxml={wine.windows_path(junit)}", SUITE, *options],
                                     cwd=copy)
        runs[version] = SuiteRun(version, process, junit, options, 0, time.monotonic())
    for run in runs.values():  # while Windows runs, collect the same on Linux
        run.expected = _collected(copy, run.options)
    return runs
