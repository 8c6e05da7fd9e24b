"""The multi-view screenshot (the screenshot tool's `views`): the scene from several sides,
each a small Workbench render, on one contact sheet with a label per view. It works the
same with and without a window (module, background, GUI), since it renders offscreen: an
orthographic camera made for each side and removed afterwards, or the scene's own camera.
Main thread only."""

from __future__ import annotations

import array
import os
from typing import Any

import bpy

from ..errors import HttpError
from . import agent, contact_sheet, render, screenshot
from .compat import WORKBENCH
from .directions import CAMERA, DIRECTIONS
from .render_options import RenderOptions

# The orthographic views frame the scene's box with this much room around it.
MARGIN = 1.15
# Types that have no extent: left out of the box the views frame.
POINT_TYPES = frozenset({"EMPTY", "CAMERA", "LIGHT", "LIGHT_PROBE", "LIGHTPROBE", "SPEAKER"})
TEMPORARY_CAMERA = "blender-http view"


def contact_sheet_png(views: list[str], max_size: int, path: str, folder: str,
                      progress: render.Progress) -> dict[str, Any]:
    """Render each view into folder, lay them out on one sheet about max_size wide, write it
    to path as PNG, and describe it: its size and where each view is on it."""
    grid = contact_sheet.layout(len(views), max_size)
    scene = bpy.context.scene
    if CAMERA in views and scene.camera is None:
        raise HttpError(400, "the scene has no active camera: leave 'camera' out of views, or set "
                             "one (scene.camera)")
    pictures = []
    box = _scene_box()
    for name in views:
        png = os.path.join(folder, f"view-{name}.png")
        if name == CAMERA:
            settings = scene.render
            width, height = agent.fitted(settings.resolution_x, settings.resolution_y, grid.cell, grow=True)
            render.render_png(RenderOptions(engine=WORKBENCH, width=width, height=height), png, progress)
        else:
            _render_side(name, box, grid.cell, png, progress)
        pictures.append(_picture(png, name))
    screenshot.save_pixels(contact_sheet.compose(pictures, grid), grid.width, grid.height, path,
                           "contact sheet")
    return {"source": "views", "width": grid.width, "height": grid.height,
            "columns": grid.columns, "rows": grid.rows,
            "views": [{"view": name, **grid.cell_of(index)} for index, name in enumerate(views)],
            "box": {"min": [round(v, 6) for v in box[0]], "max": [round(v, 6) for v in box[1]]}}


def _scene_box() -> tuple[list[float], list[float]]:
    """The world box around every visible object with an extent (a unit box without any)."""
    bpy.context.view_layer.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    low, high = [float("inf")] * 3, [float("-inf")] * 3
    for obj in bpy.context.scene.objects:
        if obj.type in POINT_TYPES or not _visible(obj):
            continue
        evaluated = obj.evaluated_get(depsgraph)
        for corner in evaluated.bound_box:
            world = evaluated.matrix_world @ _vector(corner)
            for axis in range(3):
                low[axis] = min(low[axis], world[axis])
                high[axis] = max(high[axis], world[axis])
    if low[0] == float("inf"):
        return [-1.0] * 3, [1.0] * 3
    return low, high


def _render_side(name: str, box: tuple[list[float], list[float]], size: int, png: str,
                 progress: render.Progress) -> None:
    rotation, facing, (across, up) = DIRECTIONS[name]
    low, high = box
    centre = [(lo + hi) / 2 for lo, hi in zip(low, high, strict=True)]
    extent = [hi - lo for lo, hi in zip(low, high, strict=True)]
    largest = max(max(extent), 1e-3)
    distance = largest * 2 + 1.0  # well outside the box, whichever side
    data = bpy.data.cameras.new(TEMPORARY_CAMERA)
    obj = bpy.data.objects.new(TEMPORARY_CAMERA, data)
    try:
        data.type = "ORTHO"
        data.ortho_scale = max(extent[across], extent[up], 1e-3) * MARGIN
        data.clip_start = 1e-3
        data.clip_end = distance * 2 + largest
        obj.rotation_euler = rotation
        obj.location = [c + f * distance for c, f in zip(centre, facing, strict=True)]
        bpy.context.scene.collection.objects.link(obj)
        render.render_png(RenderOptions(engine=WORKBENCH, width=size, height=size, camera=obj.name),
                          png, progress)
    finally:
        bpy.data.objects.remove(obj)
        bpy.data.cameras.remove(data)


def _picture(png: str, label: str) -> contact_sheet.Picture:
    image = bpy.data.images.load(png, check_existing=False)
    try:
        width, height = image.size
        pixels = array.array("f", [0.0]) * (width * height * 4)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return contact_sheet.Picture(label, width, height, pixels)


def _visible(obj: bpy.types.Object) -> bool:
    try:
        return bool(obj.visible_get())
    except RuntimeError:  # not in the current view layer
        return False


def _vector(values: Any) -> Any:
    from mathutils import Vector

    return Vector(tuple(values))
