"""The add-on as Blender installs it: a folder for Blender < 4.2, an extension zip for 4.2+."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

LEGACY_NAME = "blender_http_addon"
# Files that serve only the CLI's launcher, not an installed add-on.
_EXCLUDED = {"launch.py"}


def source_folder() -> Path:
    """The add-on package shipped with this distribution."""
    import blender_http_addon

    return Path(blender_http_addon.__file__).parent


def files() -> list[str]:
    """The add-on's files as paths relative to its folder, subpackages included."""
    folder = source_folder()
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts
                  and (p.suffix == ".py" or p.name == "blender_manifest.toml")
                  and p.relative_to(folder).as_posix() not in _EXCLUDED)


def copy_legacy(addons_dir: Path) -> Path:
    """Copy the add-on into a Blender scripts/addons folder; returns its new folder."""
    target = addons_dir / LEGACY_NAME
    if target.exists():
        shutil.rmtree(target)
    folder = source_folder()
    for name in files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / name, target / name)
    return target


def build_extension(dest: Path) -> Path:
    """Write the 4.2+ extension zip (blender_manifest.toml at its root) to dest."""
    return _zip(dest, prefix="")


def build_legacy_zip(dest: Path) -> Path:
    """Write the add-on zip Blender < 4.2 installs (Preferences > Add-ons > Install): the
    package folder at the zip's root."""
    return _zip(dest, prefix=f"{LEGACY_NAME}/")


def _zip(dest: Path, *, prefix: str) -> Path:
    folder = source_folder()
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files():
            archive.write(folder / name, prefix + name)
    return dest
