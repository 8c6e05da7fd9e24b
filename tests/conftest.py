"""Shared test policy: real-Blender tests skip on a laptop without Blender, but fail
when BLENDER_HTTP_REQUIRE_BLENDER=1 (set by the test script and CI); and no process a test
started outlives the run."""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator

import pytest

# Every process the tests start inherits this run's marker (unless a test gives it another).
RUN_MARKER = f"run-{os.getpid()}-{secrets.token_hex(4)}"
# How long processes may still be ending when the run is over (a wineserver lingers 3 s).
LEFT_AFTER_RUN_S = 15.0


def _can_watch() -> bool:
    # psutil finds the processes (tests/processes.py); a copy of the pure suite that another
    # Python runs (tests/windows) has neither.
    return all(importlib.util.find_spec(name) is not None for name in ("psutil", "tests.processes"))


def pytest_configure(config: pytest.Config) -> None:
    if _can_watch():
        from tests import processes
        os.environ[processes.MARKER] = RUN_MARKER


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A process a test started that still runs now outlived the test that should have
    stopped it: the run fails, naming it, and it is killed (by its pid)."""
    if not _can_watch():
        return
    from tests import processes
    named = processes.outlived(RUN_MARKER, LEFT_AFTER_RUN_S)
    if named:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("processes the tests started outlived the run (killed now):\n  "
                                + "\n  ".join(named), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def blender_required() -> bool:
    return os.environ.get("BLENDER_HTTP_REQUIRE_BLENDER") == "1"


def missing(reason: str) -> None:
    """Skip, or fail where a skipped Blender test would hide a broken promise."""
    if blender_required():
        pytest.fail(f"required for this test but missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _own_state_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Servers the tests start record themselves (`serve`, `start`): in a folder of the test
    run's own, never in the user's ~/.local/state, where a server a test killed would be left
    recorded. Tests that need their own folder set BLENDER_HTTP_STATE_DIR themselves."""
    os.environ.setdefault("BLENDER_HTTP_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True, scope="session")
def _own_temp_dir() -> Iterator[None]:
    """The processes the tests start write their temporary files in a folder of the run's
    own, removed at its end: a server a test kills cannot remove its scratch folder, and
    Blender leaves its session folder, autosaves and quit.blend; in /tmp they would pile up
    run after run. Its path is short: Ray puts Unix sockets under it (at most 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="bh-tests-")
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")}
    os.environ.update(dict.fromkeys(saved, folder))
    tempfile.tempdir = None  # asked again: this folder
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        tempfile.tempdir = None
        shutil.rmtree(folder, ignore_errors=True)
