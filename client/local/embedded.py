"""Module mode: Blender imported as a Python module (`pip install bpy`) in this process."""

from __future__ import annotations

import sys
from collections.abc import Callable

from blender_http_addon.config import Config


class BpyMissing(Exception):
    """The bpy module is not installed in this Python."""


def bpy_missing_message(python: tuple[int, int]) -> str:
    """What to do without bpy: PyPI has bpy wheels for Python 3.11 (bpy up to 5.0) and 3.13
    (bpy 5.1 and newer) only; a Blender executable serves from any Python."""
    other = ("or run a Blender executable: blender-http start --background "
             "(give it --blender PATH if it is not on PATH)")
    if python in ((3, 11), (3, 13)):
        return f"bpy is not installed: pip install 'blender-http[bpy]', {other}"
    version = ".".join(str(part) for part in python)
    return (f"bpy is not installed, and PyPI has no bpy wheel for Python {version}: use Python 3.11 "
            f"or 3.13 (pip install 'blender-http[bpy]'), {other}")


def serve(config: Config, on_ready: Callable[[str, str], None] | None = None) -> None:
    """Serve until shutdown (POST /shutdown, SIGTERM or Ctrl-C) on this, the main, thread."""
    config.validate()
    try:
        import bpy
    except ImportError as exc:
        raise BpyMissing(bpy_missing_message(sys.version_info[:2])) from exc
    from blender_http_addon import blender
    from blender_http_addon.pumps import blocking

    service = blender.create_service(config, "module")
    service.start()
    if on_ready is not None:
        on_ready(service.url, str(bpy.app.version_string))
    blocking.run_blocking(service)
