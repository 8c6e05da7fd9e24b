"""The Windows bpy 4.2 wheel under Windows CPython 3.11: it imports, has the default scene,
runs an operator, and Cycles renders a 64x48 PNG (1 sample)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from tests.windows import wine

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

INSIDE = Path(__file__).resolve().parent / "inside"


@pytest.mark.blender
def test_bpy_imports_and_cycles_renders(wine_session: wine.Session, tmp_path: Path) -> None:
    bpy = wine_session.bpy()
    out = tmp_path / "render.png"
    probe = [wine.windows_path(INSIDE / "bpy_probe.py"), wine.windows_path(out)]
    done = wine_session.run(wine.BPY_VERSION, probe, path=[bpy], timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["version"].startswith("4.2."), report
    assert report["objects"] == ["Camera", "Cube", "Light"]
    assert report["added"] == "Sphere"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert (width, height) == (64, 48)
