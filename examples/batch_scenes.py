"""Build several scenes from parameters and render each one, with the blocking client.

    blender-http serve            # in another terminal (or: blender-http start --background)
    python examples/batch_scenes.py [OUT_FOLDER]

Writes scene-<n>.png for each scene into OUT_FOLDER (default ./batch-out)."""

from __future__ import annotations

import sys
from pathlib import Path

from blender_http import Blender, ExecError

# Runs inside Blender. The parameters arrive as `args`: values are never pasted into code.
BUILD_SCENE = """
import math
for obj in [o for o in D.objects if o.get("batch")]:
    D.objects.remove(obj, do_unlink=True)
D.objects["Cube"].hide_render = True
for i in range(args["count"]):
    angle = 2 * math.pi * i / args["count"]
    bpy.ops.mesh.primitive_uv_sphere_add(radius=args["radius"],
                                         location=(3 * math.cos(angle), 3 * math.sin(angle), 0))
    C.object["batch"] = True
len([o for o in D.objects if o.get("batch")])
"""

SCENES = [
    {"count": 3, "radius": 0.8},
    {"count": 6, "radius": 0.5},
    {"count": 12, "radius": 0.3},
]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "batch-out")
    out.mkdir(parents=True, exist_ok=True)
    with Blender() as blender:  # $BLENDER_HTTP_URL, else http://127.0.0.1:7777
        print(f"connected to Blender {blender.health()['blender']} at {blender.url}")
        engine = "CYCLES" if "CYCLES" in blender.scene()["render"]["engines"] else None
        for number, params in enumerate(SCENES, start=1):
            try:
                built = blender.exec(BUILD_SCENE, args=params).result
            except ExecError as exc:
                print(f"scene {number}: line {exc.line}: {exc.type}: {exc.message}", file=sys.stderr)
                continue
            png = blender.render(engine=engine, width=160, height=90, samples=4)
            target = out / f"scene-{number}.png"
            target.write_bytes(png)
            print(f"scene {number}: {built} spheres -> {target} ({len(png)} bytes)")
        blender.exec("D.objects['Cube'].hide_render = False")


if __name__ == "__main__":
    main()
