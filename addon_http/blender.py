"""The Blender edge: the names bound into every job and facts about this Blender."""

from __future__ import annotations

from typing import Any

import bpy

from .config import Config
from .service import Service


def bindings() -> dict[str, Any]:
    """bpy, C and D for a job's namespace."""
    return {"bpy": bpy, "C": bpy.context, "D": bpy.data}


def version() -> str:
    return str(bpy.app.version_string).split(" ")[0]


def create_service(config: Config, mode: str) -> Service:
    """A Service whose jobs see this Blender."""
    return Service(config, mode=mode, blender_version=version(), bindings=bindings)
