"""Every folder of the three packages is in pyproject.toml's package list, with an
__init__.py: a folder left out installs nowhere but an editable checkout (the wheel, the
Windows gateway, the Docker images would lack it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def folders_with_code() -> dict[str, Path]:
    """Installed package name -> folder, for every folder holding Python modules."""
    found = {}
    for name, source in SETUPTOOLS["package-dir"].items():
        for module in (ROOT / source).rglob("*.py"):
            folder = module.parent
            if "__pycache__" in folder.parts:
                continue
            found[".".join((name, *folder.relative_to(ROOT / source).parts))] = folder
    return found


def test_every_folder_with_code_is_a_listed_package() -> None:
    found = folders_with_code()
    assert sorted(set(found) - set(SETUPTOOLS["packages"])) == []
    assert sorted(set(SETUPTOOLS["packages"]) - set(found)) == []
    assert [name for name, folder in found.items() if not (folder / "__init__.py").is_file()] == []


def test_the_check_sees_all_three_packages() -> None:
    found = folders_with_code()
    assert {"blender_http.cli.commands", "blender_http_gateway.serving",
            "blender_http_addon.mcp"} <= set(found)
