"""The add-on's folder tree is its architecture: which package may import which, no
import cycles, and `bpy` only in the rooms that need Blender.

Imports are read from the source (tests/layers.py), so the test runs anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import layers

ROOT = Path(__file__).resolve().parents[2] / "addon_http"

# Package (or top-level module) -> what it may import from the add-on. The HTTP layer
# knows nothing of jobs or routes; jobs know nothing of HTTP; the service composes them.
ALLOWED: dict[str, set[str]] = {
    "http": {"http", "errors", "protocol", "json_text", "descriptors"},
    "jobs": {"jobs", "errors", "protocol", "convert", "json_text", "descriptors", "summary"},
    "files": {"files", "errors", "protocol"},
    "scene": {"scene", "jobs", "errors", "protocol", "convert"},
    "api": {"api", "http", "jobs", "files", "scene", "errors", "protocol", "config", "convert", "mcp",
            "json_text"},
    "mcp": {"mcp", "api", "jobs", "files", "scene", "errors", "protocol", "convert", "json_text"},
    "pumps": {"pumps", "http", "jobs", "service", "errors", "config", "protocol"},
    "service": {"api", "http", "jobs", "files", "config", "errors", "protocol", "lifeline"},
    "lifeline": {"descriptors"},
    "blender": {"config", "service", "scene"},  # scene/gpu.py: Cycles' device at start
    "gui": {"blender", "config", "service", "pumps"},
    "launch": {"blender", "config", "gui", "pumps"},
    "config": set(),
    "errors": {"protocol"},
    "protocol": set(),
    "convert": {"json_text", "numpy_json"},
    "summary": set(),
    "json_text": set(),
    "numpy_json": {"float_digits"},
    "float_digits": set(),
    "descriptors": set(),
    "__init__": {"gui"},
}
# The only modules that import bpy (and run inside Blender only).
BPY_ROOMS = {"scene/compat.py", "scene/exchange.py", "scene/render.py", "scene/screenshot.py",
             "scene/state.py", "scene/view.py", "scene/agent.py", "scene/rna.py", "scene/inspection.py",
             "scene/views.py", "scene/area_shot.py", "scene/checkpoints.py", "scene/gpu.py", "blender.py",
             "gui.py", "launch.py", "pumps/timer.py"}


MODULES = layers.modules(ROOT)
IMPORTS = layers.read(ROOT, "blender_http_addon")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_package_imports_only_the_layers_below_it(module: str) -> None:
    layer = layers.layer(module)
    allowed = ALLOWED[layer] | {layer}
    imported = {layers.layer(target) for target in IMPORTS[module].own}
    assert imported <= allowed, f"{module} imports {sorted(imported - allowed)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_bpy_is_imported_only_in_its_rooms(module: str) -> None:
    uses_bpy = "bpy" in IMPORTS[module].external
    assert uses_bpy == (module + ".py" in BPY_ROOMS), f"{module}: bpy import {uses_bpy}"


def test_no_import_cycles() -> None:
    assert layers.find_cycle(IMPORTS) is None


def test_the_rules_see_imports() -> None:
    # A checker that found nothing would pass everything.
    assert "http/head" in IMPORTS["http/connection"].own
    assert "jobs/work" in IMPORTS["api/exec_routes"].own
    assert "bpy" in IMPORTS["scene/render"].external and "bpy" not in IMPORTS["http/server"].external
