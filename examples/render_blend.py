"""Upload a .blend, render it in Blender, download the PNG: no shared disk needed.

    blender-http serve            # in another terminal
    python examples/render_blend.py [scene.blend] [out.png]

Without a .blend, Blender first saves its default scene as one (and we download it), so
the script runs as it is."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from blender_http import Blender


def main() -> None:
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "render.png")
    with Blender() as blender, tempfile.TemporaryDirectory() as scratch:  # $BLENDER_HTTP_URL, else :7777
        if len(sys.argv) > 1:
            blend = Path(sys.argv[1])
        else:
            blend = Path(scratch) / "default.blend"
            blender.exec("bpy.ops.wm.save_as_mainfile(filepath=WORKDIR + '/default.blend', copy=True)")
            blender.download("default.blend", blend)
            print("no .blend given: Blender's default scene, saved and downloaded")

        stored = blender.upload(blend, "scenes/" + blend.name)  # streamed, never read whole
        print(f"uploaded {blend} ({stored['size']} bytes) as {stored['path']}")
        blender.exec("bpy.ops.wm.open_mainfile(filepath=WORKDIR + '/' + args['path'])",
                     args={"path": stored["path"]})
        engine = "CYCLES" if "CYCLES" in blender.scene()["render"]["engines"] else None

        # A render as a job: it writes the PNG into the work folder; then fetch it.
        job = blender.submit_render(engine=engine, width=320, height=180, samples=8)
        rendered = job.result().result
        blender.download(rendered["path"], out)
        print(f"rendered {rendered['width']}x{rendered['height']} -> {out} ({rendered['size']} bytes)")


if __name__ == "__main__":
    main()
