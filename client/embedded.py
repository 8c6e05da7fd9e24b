"""Module mode: Blender imported as a Python module (`pip install bpy`) in this process."""

from __future__ import annotations

from collections.abc import Callable

from blender_http_addon.config import Config


class BpyMissing(Exception):
    """The bpy module is not installed in this Python."""


def serve(config: Config, on_ready: Callable[[str, str], None] | None = None) -> None:
    """Serve until shutdown (POST /shutdown, SIGTERM or Ctrl-C) on this, the main, thread."""
    config.validate()
    try:
        import bpy
    except ImportError as exc:
        raise BpyMissing("bpy is not installed: pip install 'blender-http[bpy]'") from exc
    from blender_http_addon import blender
    from blender_http_addon.pumps import blocking

    service = blender.create_service(config, "module")
    service.start()
    if on_ready is not None:
        on_ready(service.url, str(bpy.app.version_string))
    blocking.run_blocking(service)
