"""The Blender edge: the names bound into every job and facts about this Blender."""

from __future__ import annotations

import logging
from typing import Any

import bpy

from .config import Config, ConfigError
from .scene import gpu
from .service import Service

log = logging.getLogger("blender_http")


def bindings() -> dict[str, Any]:
    """bpy, C and D for a job's namespace."""
    return {"bpy": bpy, "C": bpy.context, "D": bpy.data}


def version() -> str:
    return str(bpy.app.version_string).split(" ")[0]


def create_service(config: Config, mode: str) -> Service:
    """A Service whose jobs see this Blender (its Cycles on the GPU first, if configured:
    ConfigError when it cannot be)."""
    config.validate()  # before the preferences are touched (Service checks it again: cheap)
    if config.cycles_device is not None:
        try:
            devices = gpu.use(config.cycles_device)
        except gpu.GpuUnavailable as exc:
            raise ConfigError(str(exc)) from None
        log.info("blender-http: Cycles renders on %s", ", ".join(devices))
    return Service(config, mode=mode, blender_version=version(), bindings=bindings)
