"""The client's folder tree is its architecture: which layer may import which, no import
circle, and the third-party libraries each layer may use.

    __init__.py, __main__.py   the public facade; `python -m blender_http` (the CLI)
    the core (top level)       requests, answers, errors, results: no I/O of its own
    _async/, _sync/            the client twins, which only send (_sync/ generated from _async/)
    local/                     finding, installing, starting Blender on this machine
    ext/                       the IPython extension
    ray/                       map and batch on a Ray cluster's Blender workers (the [ray] extra)
    cli/                       the `blender-http` command: only __main__ and the entry point use it

Imports are read from the source (tests/layers.py), so the test runs anywhere.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

from tests import layers

ROOT = Path(__file__).resolve().parents[2] / "client"

CORE = {"_version", "errors", "display", "envelope", "jobs", "form", "arrays", "batching", "settings",
        "calls"}
TWINS = {"_async", "_sync"}
# Layer (a folder, or a module at the top) -> the layers it may import besides itself.
ALLOWED: dict[str, set[str]] = {
    **{module: CORE for module in CORE},
    # settings picks the server by the records this machine keeps (local/state.py, standard
    # library only): the one rule of the CLI, Blender() and the notebook.
    "settings": CORE | {"local"},
    # The twins reach ray/ only inside map, when on= names a Ray cluster.
    "_async": CORE | {"ray"},
    "_sync": CORE | {"ray"},
    "local": set(),
    "ray": CORE | {"local"},
    "ext": CORE | TWINS,
    "cli": CORE | TWINS | {"local", "ray"},  # ray/target.py: --on checked before Ray loads
    "__init__": CORE | TWINS | {"ext"},  # ext only lazily, in load_ipython_extension
    "__main__": {"cli"},
}
# Layer -> the libraries outside the standard library it may import (cli: any it needs).
HTTP = {"httpx", "httpx_sse", "anyio", "sniffio", "blender_http_addon",
        "numpy"}  # numpy: optional, imported inside the functions that handle arrays
EXTERNAL: dict[str, set[str]] = {
    **{module: HTTP for module in CORE},
    "_async": HTTP,
    "_sync": HTTP,
    "local": {"blender_http_addon", "bpy"},  # bpy: in embedded.py only (module mode)
    "ext": {"IPython"},
    "ray": HTTP | {"ray"},
    "__init__": set(),
    "__main__": set(),
}
# What the core and the twins may use of the add-on: its protocol constants, nothing that runs.
ADDON_FOR_THE_CLIENT = {"blender_http_addon.protocol"}

MODULES = layers.modules(ROOT)
IMPORTS = layers.read(ROOT, "blender_http")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_layer_imports_only_the_layers_it_may(module: str) -> None:
    layer = layers.layer(module)
    assert layer in ALLOWED, f"{module}: a new layer; give it a row in ALLOWED (and in the docs)"
    allowed = ALLOWED[layer] | {layer}
    imported = {layers.layer(target) for target in IMPORTS[module].own}
    assert imported <= allowed, f"{module} imports {sorted(imported - allowed)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layers.layer(m) != "cli"))
def test_each_layer_uses_only_its_libraries(module: str) -> None:
    external = IMPORTS[module].external - set(sys.stdlib_module_names)
    allowed = EXTERNAL[layers.layer(module)]
    assert external <= allowed, f"{module} imports {sorted(external - allowed)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layers.layer(m) in CORE | TWINS))
def test_the_core_and_the_twins_use_only_the_addons_protocol(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    named = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    named |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    addon = {name for name in named if name.split(".")[0] == "blender_http_addon"}
    assert addon <= ADDON_FOR_THE_CLIENT, f"{module} imports {sorted(addon - ADDON_FOR_THE_CLIENT)}"


def test_bpy_only_in_module_mode() -> None:
    assert {m for m in MODULES if "bpy" in IMPORTS[m].external} == {"local/embedded"}


def test_only_main_and_the_entry_point_reach_the_cli() -> None:
    importers = {m for m in MODULES if layers.layer(m) != "cli"
                 and any(layers.layer(target) == "cli" for target in IMPORTS[m].own)}
    assert importers == {"__main__"}
    scripts = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"blender-http": "blender_http.cli:main"}


def test_the_core_reaches_this_machine_only_for_the_records() -> None:
    reached = {(m, t) for m in MODULES if layers.layer(m) in CORE | TWINS
               for t in IMPORTS[m].own if layers.layer(t) == "local"}
    assert reached == {("settings", "local/state")}


def test_the_display_is_a_leaf() -> None:
    # ExecResult shows itself in Jupyter through display.py: it must not lead to the extension.
    assert IMPORTS["display"].own == set()


def test_no_import_cycles() -> None:
    assert layers.find_cycle(IMPORTS) is None


def test_the_rules_see_imports() -> None:
    # A checker that found nothing would pass everything.
    assert "envelope" in IMPORTS["calls"].own and "errors" in IMPORTS["envelope"].own
    assert {"calls", "_async/handles", "_async/batch_runner"} <= IMPORTS["_async/client"].own
    assert "local/launcher" in IMPORTS["cli/commands/start"].own
    assert "local/state" in IMPORTS["settings"].own  # imported inside a function
    assert "local/mcp_spawn" in IMPORTS["cli/commands/mcp"].own  # imported inside a method
    assert "ext/notebook" in IMPORTS["__init__"].own  # imported inside a function
    assert "ray/pool" in IMPORTS["_async/client"].own  # imported inside map
    assert "ray" in IMPORTS["ray/pool"].external  # imported inside connect
    assert "httpx" in IMPORTS["errors"].external and "click" in IMPORTS["cli/terminal"].external
    assert "_async/client" not in IMPORTS["_async/handles"].own  # under TYPE_CHECKING only
