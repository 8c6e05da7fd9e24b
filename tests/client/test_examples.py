"""The scripts in examples/ run as they are, against a real server of their own (they
change its scene and open .blend files)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.blender import servers
from tests.client import expected
from tests.conftest import missing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = [pytest.mark.blender, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path_factory.mktemp("examples-server"))
    yield running
    running.stop()


def _run(server: servers.Running, cwd: Path, script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env["BLENDER_HTTP_URL"] = server.url
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_batch_scenes(own_server: servers.Running, tmp_path: Path) -> None:
    out = _run(own_server, tmp_path, "batch_scenes.py")
    assert "scene 3: 12 spheres" in out
    for number in (1, 2, 3):
        assert expected.png_size((tmp_path / "batch-out" / f"scene-{number}.png").read_bytes()) == (160, 90)


def test_async_fanout(own_server: servers.Running, tmp_path: Path) -> None:
    out = _run(own_server, tmp_path, "async_fanout.py")
    assert "cuts 8 -> 488 vertices" in out  # the followed job's own print
    assert "cuts=1: 26 vertices" in out and "cuts=8: 488 vertices" in out


def test_render_blend(own_server: servers.Running, tmp_path: Path) -> None:
    out = _run(own_server, tmp_path, "render_blend.py")
    assert "rendered 320x180" in out
    assert expected.png_size((tmp_path / "render.png").read_bytes()) == (320, 180)
