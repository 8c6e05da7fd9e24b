"""The screenshot tool's `area` (GUI only): one editor as the user sees it, any type (the
Outliner, a node editor, ...), or the whole window. An editor not on screen is shown for
the moment of the picture in the largest area, which then gets its own type back.
Main thread only."""

from __future__ import annotations

import os
import struct
from typing import Any

import bpy

from ..errors import HttpError
from .written import check_png

WINDOW = "WINDOW"


def area_types() -> list[str]:
    """The editor types this Blender knows, and WINDOW."""
    return [item.identifier for item in bpy.types.Area.bl_rna.properties["type"].enum_items
            if item.identifier != "EMPTY"] + [WINDOW]


def capture(name: str, path: str) -> dict[str, Any]:
    """Write a PNG of the editor of type name (or the whole window) to path; describe it."""
    wanted = name.upper()
    if bpy.app.background:
        raise HttpError(400, "'area' needs a Blender with a window (gui mode); this one has none: "
                             "use 'views' for pictures of the scene from its sides")
    if wanted not in area_types():
        raise HttpError(400, f"unknown area {name!r}; use one of {', '.join(area_types())}")
    window = bpy.context.window_manager.windows[0]
    screen = window.screen
    if wanted == WINDOW:
        with bpy.context.temp_override(window=window, screen=screen):
            _finished(bpy.ops.screen.screenshot(filepath=path), name)
        return _described(path, WINDOW, switched=False)
    areas = [area for area in screen.areas if area.type == wanted]
    switched = not areas
    area = max(areas or screen.areas, key=lambda a: a.width * a.height)
    previous = area.type
    try:
        if switched:
            area.type = wanted
        with bpy.context.temp_override(window=window, screen=screen, area=area):
            if switched:
                # A new editor has no picture until it is drawn; one draw of the window lays
                # it out and draws it (DRAW_WIN_SWAP would leave the back buffer empty).
                bpy.ops.wm.redraw_timer(type="DRAW", iterations=1)
            _finished(bpy.ops.screen.screenshot_area(filepath=path), name)
    finally:
        if switched:
            area.type = previous
            area.tag_redraw()
    return _described(path, wanted, switched=switched)


def _finished(result: set[str], name: str) -> None:
    if "FINISHED" not in result:
        raise HttpError(500, f"Blender did not take the screenshot of {name} ({', '.join(sorted(result))})")


def _described(path: str, area: str, *, switched: bool) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise HttpError(500, f"the screenshot of {area} was not written")
    check_png(path, "screenshot")
    with open(path, "rb") as file:
        width, height = struct.unpack(">II", file.read(24)[16:24])
    return {"source": "area", "area": area, "width": width, "height": height,
            "shown_for_the_picture": switched}
