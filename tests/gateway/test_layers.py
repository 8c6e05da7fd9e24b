"""The gateway's folder tree is its architecture: which folder may import which, no import
cycles, the client library used only to launch workers, and no web framework below the
forwarding path.

Imports are read from the source (tests/layers.py), so the test runs anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import layers

ROOT = Path(__file__).resolve().parents[2] / "gateway"

# Folder (or top-level module) -> what it may import from the gateway. From the bottom up:
# the HTTP client to the workers knows nothing of the gateway; the workers check their health
# through it; the forwarding path sends to the worker it is given; core.py composes both and
# chooses; the routes call core; the edge knows only its own checks; serving (the HTTP
# protocol) answers the hot path with the edge's and the routes' own steps; app.py builds it
# all, and the CLI only runs app.py with settings (logging is the settings' own).
ALLOWED: dict[str, set[str]] = {
    "forwarding/wire": set(),
    "workers": {"forwarding/wire", "errors", "metrics"},
    "forwarding": {"forwarding/wire", "workers", "errors", "metrics", "scopes"},
    "core": {"forwarding", "forwarding/wire", "workers", "errors", "metrics", "scopes", "settings"},
    "routes": {"core", "forwarding", "workers", "errors", "metrics", "models", "scopes"},
    "edge": {"errors", "metrics", "scopes", "settings"},
    "serving": {"edge", "forwarding", "scopes"},
    "app": {"core", "edge", "forwarding", "routes", "serving", "docs_pages", "errors", "models",
            "settings"},
    "cli": {"app", "settings", "serving"},
    "__main__": {"cli"},
    "settings": set(),
    "errors": set(),
    "metrics": set(),
    "scopes": set(),
    "models": set(),
    "docs_pages": set(),
    "__init__": set(),
}
# The only module that imports the client library (blender_http): to launch spawned workers.
CLIENT_ROOMS = {"workers/supervisor.py"}
# Below the forwarding path nothing knows the web framework.
FRAMEWORK_FREE = {"workers", "forwarding/wire"}
FRAMEWORK = {"fastapi", "starlette"}

MODULES = layers.modules(ROOT)
IMPORTS = layers.read(ROOT, "blender_http_gateway")


def layer(module: str) -> str:
    """A module's layer: its folder ('forwarding/wire' is one of its own), or the module
    itself at the top."""
    folder, _, name = module.rpartition("/")
    return folder or name


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_folder_imports_only_the_layers_below_it(module: str) -> None:
    own = layer(module)
    assert own in ALLOWED, f"{module}: add its layer {own!r} to ALLOWED"
    allowed = ALLOWED[own] | {own}
    imported = {layer(target) for target in IMPORTS[module].own}
    assert imported <= allowed, f"{module} imports {sorted(imported - allowed)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_client_library_only_launches_workers(module: str) -> None:
    uses_client = "blender_http" in IMPORTS[module].external
    assert uses_client == (module + ".py" in CLIENT_ROOMS), f"{module}: blender_http import {uses_client}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) in FRAMEWORK_FREE))
def test_workers_and_the_wire_know_no_web_framework(module: str) -> None:
    found = IMPORTS[module].external & FRAMEWORK
    assert not found, f"{module} imports {sorted(found)}"


def test_no_import_cycles() -> None:
    assert layers.find_cycle(IMPORTS) is None


def test_the_rules_see_imports() -> None:
    # A checker that found nothing would pass everything.
    assert "forwarding/wire/connection" in IMPORTS["forwarding/wire/upstream"].own
    assert {"workers/jobids", "forwarding/wire/upstream"} <= IMPORTS["forwarding/proxy"].own
    assert "app" in IMPORTS["cli"].own and "routes/mcp" in IMPORTS["app"].own  # inside functions
    assert "core" not in IMPORTS["forwarding/fastlane"].own  # a type-checking import only
    assert "blender_http" in IMPORTS["workers/supervisor"].external
    assert layer("forwarding/wire/upstream") == "forwarding/wire" and layer("core") == "core"
