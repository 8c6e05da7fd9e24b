"""Read a package's imports from its source (no module is imported), for the layer tests of
the three packages (tests/addon_http, tests/client, tests/gateway).

An import counts when it runs: at module level or inside a function (a lazy import closes a
circle as surely as a top-level one). Imports under `if TYPE_CHECKING:` are for annotations
only and do not count.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Module:
    """One module's runtime imports: of its own package ('pkg/mod' names), and the top-level
    names of everything else it imports (stdlib, third party, the other packages)."""

    own: frozenset[str]
    external: frozenset[str]


def modules(root: Path) -> dict[str, Path]:
    """'pkg/mod' name -> file, for every module under root."""
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in root.rglob("*.py")
            if "__pycache__" not in p.parts}


def read(root: Path, package: str) -> dict[str, Module]:
    """Every module of the package installed as `package` from the folder `root`."""
    return {name: _imports(root, package, path, name) for name, path in modules(root).items()}


def _imports(root: Path, package: str, path: Path, module: str) -> Module:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module.split("/")[:-1]  # the folder that relative imports start from
    own: set[str] = set()
    external: set[str] = set()
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                dotted = alias.name.split(".")
                if dotted[0] == package:
                    own.add(_resolve(root, dotted[1:], None))
                else:
                    external.add(dotted[0])
        elif isinstance(node, ast.ImportFrom):
            dotted = (node.module or "").split(".") if node.module else []
            if node.level == 0:
                if dotted[0] != package:
                    external.add(dotted[0])
                    continue
                target = dotted[1:]
            else:
                base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                target = base + dotted
            for alias in node.names:  # `from . import x` may name a module
                own.add(_resolve(root, target, alias.name))
    return Module(frozenset(o for o in own if o), frozenset(external))


def _resolve(root: Path, target: list[str], name: str | None) -> str:
    if name is not None:
        candidate = "/".join([*target, name])
        if (root / (candidate + ".py")).exists():
            return candidate
        if (root / candidate / "__init__.py").exists():
            return candidate + "/__init__"
    joined = "/".join(target)
    if joined and (root / joined / "__init__.py").exists():
        return joined + "/__init__"
    return joined


def _walk_runtime(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        yield from _walk_runtime(node)


def layer(module: str) -> str:
    """A module's layer: its top folder, or the module itself at the top."""
    return module.split("/")[0]


def find_cycle(imports: dict[str, Module]) -> list[str] | None:
    """One runtime import circle among the modules, or None."""
    graph = {name: {t for t in m.own if t in imports} for name, m in imports.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name, [])):
            return found
    return None
