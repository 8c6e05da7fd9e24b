"""The add-on's folder tree is its architecture: which package may import which, no
import cycles, and `bpy` only in the rooms that need Blender.

Imports are read from the source (no module is imported), so the test runs anywhere.
Imports under `if TYPE_CHECKING:` are for annotations only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "addon_http"

# Package (or top-level module) -> what it may import from the add-on. The HTTP layer
# knows nothing of jobs or routes; jobs know nothing of HTTP; the service composes them.
ALLOWED: dict[str, set[str]] = {
    "http": {"http", "errors", "protocol", "json_text"},
    "jobs": {"jobs", "errors", "protocol", "convert", "json_text"},
    "files": {"files", "errors", "protocol"},
    "scene": {"scene", "jobs", "errors", "protocol", "convert"},
    "api": {"api", "http", "jobs", "files", "scene", "errors", "protocol", "config", "convert", "mcp",
            "json_text"},
    "mcp": {"mcp", "api", "jobs", "files", "scene", "errors", "protocol", "convert", "json_text"},
    "pumps": {"pumps", "http", "jobs", "service", "errors", "config"},
    "service": {"api", "http", "jobs", "files", "config", "errors", "protocol"},
    "blender": {"config", "service"},
    "gui": {"blender", "config", "service", "pumps"},
    "launch": {"blender", "config", "gui", "pumps"},
    "config": set(),
    "errors": {"protocol"},
    "protocol": set(),
    "convert": {"json_text", "numpy_json"},
    "json_text": set(),
    "numpy_json": {"float_digits"},
    "float_digits": set(),
    "__init__": {"gui"},
}
# The only modules that import bpy (and run inside Blender only).
BPY_ROOMS = {"scene/compat.py", "scene/exchange.py", "scene/render.py", "scene/screenshot.py",
             "scene/state.py", "scene/view.py", "scene/agent.py", "scene/rna.py", "blender.py", "gui.py",
             "launch.py", "pumps/timer.py"}


def _modules() -> dict[str, Path]:
    return {p.relative_to(ROOT).with_suffix("").as_posix(): p for p in ROOT.rglob("*.py")
            if "__pycache__" not in p.parts}


def _runtime_imports(path: Path, module: str) -> tuple[set[str], bool]:
    """Add-on modules this one imports at run time (resolved to 'pkg/mod' names), and
    whether it imports bpy."""
    tree = ast.parse(path.read_text())
    package = module.split("/")[:-1]
    found: set[str] = set()
    uses_bpy = False
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            uses_bpy |= any(a.name.split(".")[0] == "bpy" for a in node.names)
            found |= {_absolute(a.name) for a in node.names if a.name.startswith("blender_http_addon")}
        elif isinstance(node, ast.ImportFrom):
            dotted = (node.module or "").split(".")
            if node.level == 0:
                uses_bpy |= dotted[0] == "bpy"
                if dotted[0] != "blender_http_addon":
                    continue
                target = dotted[1:]
            else:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (dotted if node.module else [])
            for name in (a.name for a in node.names):  # `from . import x` may name a module
                candidate = "/".join([*target, name])
                found.add(candidate if (ROOT / (candidate + ".py")).exists() else "/".join(target))
    return {f for f in found if f}, uses_bpy


def _absolute(dotted: str) -> str:
    return "/".join(dotted.split(".")[1:])


def _walk_runtime(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        yield from _walk_runtime(node)


def _layer(module: str) -> str:
    return module.split("/")[0]


MODULES = _modules()
IMPORTS = {name: _runtime_imports(path, name) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_package_imports_only_the_layers_below_it(module: str) -> None:
    layer = _layer(module)
    allowed = ALLOWED[layer] | {layer}
    imported = {_layer(target) for target in IMPORTS[module][0]}
    assert imported <= allowed, f"{module} imports {sorted(imported - allowed)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_bpy_is_imported_only_in_its_rooms(module: str) -> None:
    uses_bpy = IMPORTS[module][1]
    assert uses_bpy == (module + ".py" in BPY_ROOMS), f"{module}: bpy import {uses_bpy}"


def test_no_import_cycles() -> None:
    graph = {name: {t for t in targets if t in MODULES} for name, (targets, _) in IMPORTS.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_the_rules_see_imports() -> None:
    # A checker that found nothing would pass everything.
    assert "http/head" in IMPORTS["http/connection"][0]
    assert "jobs/work" in IMPORTS["api/exec_routes"][0]
    assert IMPORTS["scene/render"][1] and not IMPORTS["http/server"][1]
