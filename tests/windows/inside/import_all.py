"""Run by Windows CPython: import every module of an installed package, one by one, and print
one JSON line, `{module: null | {"type", "message", "missing"}}` ("missing": the module a
ModuleNotFoundError names)."""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path


def modules(package: str) -> list[str]:
    root = Path(importlib.import_module(package).__file__ or "").parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join([package, *parts]))
    return names


def main() -> None:
    package = sys.argv[1]
    found: dict[str, dict[str, str | None] | None] = {}
    for name in modules(package):
        try:
            importlib.import_module(name)
        except BaseException as exc:  # SystemExit too: a module must not end the process
            found[name] = {"type": type(exc).__name__, "message": str(exc),
                           "missing": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
                           "traceback": "".join(traceback.format_exception(exc)[-3:])}
        else:
            found[name] = None
    print(json.dumps({"platform": sys.platform, "version": sys.version.split()[0], "modules": found}))


if __name__ == "__main__":
    main()
