"""FastAPI gateway in front of one or many blender-http workers."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("blender-http")
except PackageNotFoundError:  # run from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
