"""What an agent asks of Blender beyond the HTTP routes: its state (version, mode, file,
what is selected) and images sized for a model (a longest side, a byte cap). Main
thread only."""

from __future__ import annotations

import os
from typing import Any

import bpy

from . import compat, state
from .screenshot import FALLBACK_SIZE

# Each try at fitting an image into its byte cap halves its sides, at most this often.
MAX_SHRINKS = 6


def info() -> dict[str, Any]:
    """Version, open file, unsaved changes, engines and render settings."""
    scene = bpy.context.scene
    settings = scene.render
    return {
        "version": str(bpy.app.version_string),
        "version_tuple": list(bpy.app.version),
        "background": bool(bpy.app.background),
        "object_mode": bpy.context.mode,
        "file": bpy.data.filepath or None,
        "unsaved_changes": bool(bpy.data.is_dirty),
        "scene": scene.name,
        "scenes": [s.name for s in bpy.data.scenes],
        "objects": len(scene.objects),
        "engines": compat.engines(scene),
        "render": {"engine": settings.engine,
                   "resolution": [settings.resolution_x, settings.resolution_y],
                   "percentage": settings.resolution_percentage,
                   "fps": round(settings.fps / settings.fps_base, 3),
                   "frame_range": [scene.frame_start, scene.frame_end],
                   "output": settings.filepath},
    }


def context() -> dict[str, Any]:
    """Mode, active object, selection, active camera and frame: what `C` means in code."""
    ctx = bpy.context
    scene, view_layer = ctx.scene, ctx.view_layer
    active = view_layer.objects.active
    selected = [obj.name for obj in state.layer_objects(view_layer) if obj.select_get(view_layer=view_layer)]
    return {
        "mode": ctx.mode,
        "scene": scene.name,
        "view_layer": view_layer.name,
        "active_object": active.name if active is not None else None,
        "active_object_type": active.type if active is not None else None,
        "selected_objects": sorted(selected),
        "camera": scene.camera.name if scene.camera is not None else None,
        "frame": scene.frame_current,
        "frame_range": [scene.frame_start, scene.frame_end],
        "workspace": ctx.workspace.name if getattr(ctx, "workspace", None) is not None else None,
    }


def screenshot_size(max_size: int) -> tuple[int, int]:
    """The screenshot's size: the viewport's shape (or the fallback render's) with its
    longest side max_size."""
    width, height = FALLBACK_SIZE
    if not bpy.app.background:
        regions = [region for window in bpy.context.window_manager.windows
                   for area in window.screen.areas if area.type == "VIEW_3D"
                   for region in area.regions if region.type == "WINDOW"]
        if regions:
            largest = max(regions, key=lambda r: r.width * r.height)
            width, height = largest.width, largest.height
    return fitted(width, height, max_size, grow=True)


def fitted(width: int, height: int, max_size: int, *, grow: bool = False) -> tuple[int, int]:
    """width x height scaled so the longest side is max_size (only down unless grow)."""
    longest = max(width, height, 1)
    if longest <= max_size and not grow:
        return width, height
    scale = max_size / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_png(done: dict[str, Any], path: str, spare: str, max_bytes: int) -> dict[str, Any]:
    """The PNG at path, or a smaller copy written to spare, within max_size (if done asks
    for one) and max_bytes. Answers the image's path and size."""
    width, height = int(done["width"]), int(done["height"])
    target = fitted(width, height, int(done.get("max_size") or max(width, height)))
    source = path
    for _ in range(MAX_SHRINKS):
        if target == (width, height):
            if os.path.getsize(source) <= max_bytes:
                break
            target = (max(1, width // 2), max(1, height // 2))
        _scaled_copy(path, spare, *target)
        source, (width, height) = spare, target
    return {"image": source, "image_width": width, "image_height": height,
            "image_bytes": os.path.getsize(source), "source": done.get("source", "render")}


def _scaled_copy(path: str, spare: str, width: int, height: int) -> None:
    image = bpy.data.images.load(path, check_existing=False)
    try:
        image.scale(width, height)
        image.filepath_raw = spare
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)
