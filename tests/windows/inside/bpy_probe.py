"""Run by Windows CPython 3.11 with the Windows bpy 4.2 wheel: import bpy, look at the default
scene, add a sphere, render it with Cycles (64x48, 1 sample) to a PNG. Prints one JSON line.

    python.exe bpy_probe.py OUT.png
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    started = time.monotonic()
    import bpy

    imported = time.monotonic() - started
    scene = bpy.context.scene
    objects = sorted(o.name for o in bpy.data.objects)  # the default scene
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.5, location=(0, 0, 1.5))  # an operator runs
    added = bpy.context.active_object.name
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = sys.argv[1]
    rendering = time.monotonic()
    bpy.ops.render.render(write_still=True)
    print(json.dumps({"version": bpy.app.version_string, "objects": objects, "added": added,
                      "import_s": imported, "render_s": time.monotonic() - rendering}), flush=True)


if __name__ == "__main__":
    main()
