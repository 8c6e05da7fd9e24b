"""The views a multi-view screenshot can show, pure data: for each side, the rotation of
an orthographic camera looking at the scene from there (Blender's cameras look down their
own -Z with +Y up), the direction it stands in from the scene's centre, and the two world
axes (0 x, 1 y, 2 z) its picture spans. `camera` is the scene's own camera."""

from __future__ import annotations

import math

HALF = math.pi / 2
# name -> (camera rotation, Euler XYZ in radians; where it stands; the axes on its picture)
DIRECTIONS: dict[str, tuple[tuple[float, float, float], tuple[int, int, int], tuple[int, int]]] = {
    "front": ((HALF, 0.0, 0.0), (0, -1, 0), (0, 2)),
    "back": ((HALF, 0.0, math.pi), (0, 1, 0), (0, 2)),
    "left": ((HALF, 0.0, -HALF), (-1, 0, 0), (1, 2)),
    "right": ((HALF, 0.0, HALF), (1, 0, 0), (1, 2)),
    "top": ((0.0, 0.0, 0.0), (0, 0, 1), (0, 1)),
    "bottom": ((math.pi, 0.0, 0.0), (0, 0, -1), (0, 1)),
}
CAMERA = "camera"
VIEWS = (*DIRECTIONS, CAMERA)
