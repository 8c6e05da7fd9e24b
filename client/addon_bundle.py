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


def _files() -> list[Path]:
    folder = source_folder()
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.name not in _EXCLUDED
                  and (p.suffix == ".py" or p.name == "blender_manifest.toml"))


def copy_legacy(addons_dir: Path) -> Path:
    """Copy the add-on into a Blender scripts/addons folder; returns its new folder."""
    target = addons_dir / LEGACY_NAME
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in _files():
        shutil.copy2(path, target / path.name)
    return target


def build_extension(dest: Path) -> Path:
    """Write the 4.2+ extension zip (blender_manifest.toml at its root) to dest."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files():
            archive.write(path, path.name)
    return dest


def build_legacy_zip(dest: Path) -> Path:
    """Write the add-on zip Blender < 4.2 installs (Preferences > Add-ons > Install): the
    package folder at the zip's root."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files():
            archive.write(path, f"{LEGACY_NAME}/{path.name}")
    return dest
