"""Claude Code's own CLI from npm (no login needed to add and list servers): it connects to
`blender-http mcp --spawn background`, asks for the tools and goes, ten times over, and no
Blender is left behind (each run used to leak one)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.mcp import npm
from tests.processes import MARKER, marked

CLAUDE_CODE = "@anthropic-ai/claude-code@2.1.197"
pytestmark = [pytest.mark.blender, pytest.mark.timeout(900)]


def test_claude_mcp_list_ten_times_leaves_no_blender(tmp_path: Path) -> None:
    reason = servers.availability("background")
    if reason:
        missing(reason)
    found = npm.install("claude-code-2.1.197", [CLAUDE_CODE], "claude")
    if isinstance(found, str):
        missing(found)
        return
    claude = str(found / "claude")
    marker = uuid.uuid4().hex
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}, "HOME": str(home)}
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
