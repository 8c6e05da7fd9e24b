"""One version everywhere it has to be written out: the distribution, the legacy
add-on's bl_info (a literal, parsed by Blender), the extension manifest, the client."""

from __future__ import annotations

import tomllib
from pathlib import Path

import blender_http
import blender_http_addon
from blender_http_addon.service import ADDON_VERSION

ROOT = Path(__file__).resolve().parents[1]


def test_every_version_string_agrees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    manifest = tomllib.loads((ROOT / "addon_http" / "blender_manifest.toml").read_text())["version"]
    bl_info = ".".join(str(part) for part in blender_http_addon.bl_info["version"])
    assert {project, manifest, bl_info, ADDON_VERSION, blender_http.__version__} == {project}
