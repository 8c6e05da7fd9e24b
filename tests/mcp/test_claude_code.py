"""Claude Code's own CLI from npm (no login needed to add and list servers): it connects to
`blender-http mcp --spawn background`, asks for the tools and goes, ten times over, and no
Blender is left behind (each run used to leak one); and it connects through a gateway with
its API key as a header, while without one it reads how to authenticate and is refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN
from tests.mcp import npm
from tests.processes import MARKER, marked

CLAUDE_CODE = "@anthropic-ai/claude-code@2.1.197"
pytestmark = [pytest.mark.blender, pytest.mark.timeout(900)]


def _claude(tmp_path: Path) -> tuple[str, Path, dict[str, str]]:
    """Claude Code's CLI, a project folder and an environment with a HOME of its own."""
    found = npm.install("claude-code-2.1.197", [CLAUDE_CODE], "claude")
    if isinstance(found, str):
        missing(found)
        raise AssertionError(found)
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}, "HOME": str(home)}
    return str(found / "claude"), project, env


def test_claude_mcp_list_ten_times_leaves_no_blender(tmp_path: Path) -> None:
    reason = servers.availability("background")
    if reason:
        missing(reason)
    claude, project, env = _claude(tmp_path)
    marker = uuid.uuid4().hex
    blender_http = str(Path(sys.executable).parent / "blender-http")
    added = subprocess.run([claude, "mcp", "add", "blender", "-e", f"{MARKER}={marker}", "--",
                            blender_http, "mcp", "--spawn", "background"],
                           cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    try:
        for _ in range(10):
            listed = subprocess.run([claude, "mcp", "list"], cwd=project, env=env, capture_output=True,
                                    text=True, timeout=120)
            assert "blender" in listed.stdout and "Connected" in listed.stdout, listed.stdout + listed.stderr
        deadline = time.monotonic() + 30
        while marked(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        left = marked(marker)
        for pid in left:
            psutil.Process(pid).kill()
    assert left == [], f"processes left behind: {left}"


def test_claude_code_connects_through_a_gateway_with_its_key_and_not_without(tmp_path: Path) -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    claude, project, env = _claude(tmp_path)
    worker = servers.start("module", tmp_path / "worker", env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    try:
        gateway = gateways.start(tmp_path / "gateway", "--backend", worker.url, key=KEY,
                                 env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
        try:
            for name, extra in (("keyed", ["--header", f"Authorization: Bearer {KEY}"]), ("keyless", [])):
                # --header takes every value after it: it goes last.
                added = subprocess.run([claude, "mcp", "add", "--transport", "http", name,
                                        gateway.url + "/mcp", *extra], cwd=project, env=env,
                                       capture_output=True, text=True, timeout=120)
                assert added.returncode == 0, added.stderr
            listed = subprocess.run([claude, "mcp", "list"], cwd=project, env=env, capture_output=True,
                                    text=True, timeout=120).stdout
            log = gateway.log_text()
        finally:
            gateway.stop()
    finally:
        worker.stop()
    status = {line.split(":", 1)[0]: line for line in listed.splitlines()
              if line.startswith(("keyed", "keyless"))}
    assert "Connected" in status["keyed"], listed
    assert "Connected" not in status["keyless"], listed
    # Without a key it was told (401) where to read how to authenticate, and read it.
    assert re.search(r"POST /mcp 401 ", log), log
    assert re.search(r"GET /.well-known/oauth-protected-resource\S* 200 ", log), log
