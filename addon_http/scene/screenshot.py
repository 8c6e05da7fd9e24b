"""GET /screenshot: the 3D viewport drawn offscreen when Blender has a window, else a quick
Workbench render of the active camera. Main thread only."""

from __future__ import annotations

import os
from typing import Any

import bpy

from ..errors import HttpError
from . import compat, render
from .render_options import RenderOptions
from .written import check_png

VIEWPORT, RENDER = "viewport", "render"
# The fallback renders small and fast unless asked otherwise.
FALLBACK_SIZE = (640, 360)


def capture(path: str, width: int | None, height: int | None,
            progress: render.Progress) -> dict[str, Any]:
    """Write a PNG of what the user sees to path; says which source it came from."""
    area = None if bpy.app.background else _view3d()
    if area is not None:
        size = _draw_viewport(area, path, width, height)
        return {"source": VIEWPORT, "width": size[0], "height": size[1]}
    options = RenderOptions(engine=compat.WORKBENCH, width=width or FALLBACK_SIZE[0],
                            height=height or FALLBACK_SIZE[1])
    done = render.render_png(options, path, progress)
    return {"source": RENDER, "width": done["width"], "height": done["height"]}


def _view3d() -> tuple[Any, Any, Any] | None:
    """(window, area, region) of the largest 3D viewport, or None without one."""
    found = []
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type != "VIEW_3D":
                continue
            for region in area.regions:
                if region.type == "WINDOW":
                    found.append((region.width * region.height, window, area, region))
    if not found:
        return None
    _, window, area, region = max(found, key=lambda item: item[0])
    return window, area, region


def _draw_viewport(view: tuple[Any, Any, Any], path: str, width: int | None,
                   height: int | None) -> tuple[int, int]:
    window, area, region = view
    space = area.spaces.active
    region_3d = space.region_3d
    width = width or region.width
    height = height or region.height
    projection = region_3d.window_matrix.copy()
    if (width, height) != (region.width, region.height):
        # Keep the viewport's vertical field of view at the asked aspect ratio.
        projection[0][0] *= (region.width / region.height) / (width / height)
    offscreen = compat.offscreen(width, height)  # only with a window: no GL context without one
    try:
        context = bpy.context
        with context.temp_override(window=window, area=area, region=region):
            offscreen.draw_view3d(context.scene, context.view_layer, space, region,
                                  region_3d.view_matrix, projection, do_color_management=True)
        pixels = offscreen.texture_color.read()
    finally:
        offscreen.free()
    _save_png(pixels, width, height, path)
    return width, height


def _save_png(pixels: Any, width: int, height: int, path: str) -> None:
    pixels.dimensions = width * height * 4
    save_pixels(pixels, width, height, path, "screenshot")


def save_pixels(pixels: Any, width: int, height: int, path: str, what: str) -> None:
    """RGBA floats (width x height, bottom row first) written to path as a PNG."""
    image = bpy.data.images.new(f"blender-http {what}", width, height, alpha=True)
    try:
        image.pixels.foreach_set(pixels)
        image.filepath_raw = path
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)
    if not os.path.isfile(path):
        raise HttpError(500, f"the {what} image was not written")
    check_png(path, what)  # a full disk leaves a truncated file behind a success
