"""Which long Blender calls keep a worker from answering `/health`, in each mode.

The HTTP thread answers `/health` while a job runs on Blender's main thread, as long as the
job lets go of Python's lock now and then: Python code does (every few milliseconds), and so
does C code that releases the lock around long work. C code that keeps the lock for its whole
run holds `/health` for as long. Each call below runs as one exec, sized to take seconds, while
`/health` is asked every 0.1 s; the table shows how long the call took and the longest
`/health` waited for its answer meanwhile.

    python -m benchmarks.liveness --modes module,background,gui
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass

from .targets import get, post, server

POLL_S = 0.1


@dataclass(frozen=True)
class Call:
    name: str
    setup: str
    code: str


# Each setup leaves what its call needs in the session; the call is the one timed.
MESH = ("import bpy, numpy as np\nn = 20_000_000\nme = bpy.data.meshes.new('big')\nme.vertices.add(n)\n"
        "co = np.random.rand(n * 3).astype(np.float32)\n")
BIG_FILE = ("import bpy, os, tempfile, numpy as np\nn = 20_000_000\nme = bpy.data.meshes.new('big')\n"
            "me.vertices.add(n)\nme.vertices.foreach_set('co', np.random.rand(n * 3).astype(np.float32))\n"
            "ob = bpy.data.objects.new('big', me)\nbpy.context.scene.collection.objects.link(ob)\n"
            "path = os.path.join(tempfile.mkdtemp(), 'big.blend')\n"
            "bpy.ops.wm.save_as_mainfile(filepath=path, copy=True)\n"
            "bpy.data.objects.remove(ob)\nbpy.data.meshes.remove(me)\n")
CLOTH = ("import bpy\nbpy.ops.mesh.primitive_grid_add(x_subdivisions=70, y_subdivisions=70)\n"
         "ob = bpy.context.object\nob.modifiers.new('cloth', 'CLOTH')\n"
         "bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, 60\n")
SUBSURF = ("import bpy\nbpy.ops.mesh.primitive_cube_add()\nob = bpy.context.object\n"
           "mod = ob.modifiers.new('subsurf', 'SUBSURF')\nmod.levels = 1\n")
CYCLES = ("import bpy\ns = bpy.context.scene\ns.render.engine = 'CYCLES'\ns.cycles.samples = 64\n"
          "s.cycles.device = 'CPU'\ns.cycles.use_denoising = False\n"
          "s.render.resolution_x, s.render.resolution_y = 480, 360\n")

CALLS = [
    Call("pure C loop holding the lock: `sum(range(300_000_000))`", "", "sum(range(300_000_000))"),
    Call("`time.sleep(5)`", "", "import time\ntime.sleep(5)"),
    Call("`mesh.vertices.foreach_set('co', …)`, 20 M vertices", MESH,
         "me.vertices.foreach_set('co', co)"),
    Call("`mesh.vertices.foreach_get('co', …)`, 20 M vertices", MESH + "me.vertices.foreach_set('co', co)\n",
         "me.vertices.foreach_get('co', co)"),
    Call("`mesh.from_pydata`, 4 M vertices", "verts = [(i, i, i) for i in range(4_000_000)]\n",
         "import bpy\nbpy.data.meshes.new('p').from_pydata(verts, [], [])"),
    Call("the answer's JSON: a 10 M-float list as the result", "",
         "[0.5] * 10_000_000"),
    Call("numpy `np.sort`, 30 M floats", "import numpy as np\na = np.random.rand(30_000_000)\n",
         "np.sort(a); None"),
    Call("numpy `a @ a`, 2000x2000", "import numpy as np\na = np.random.rand(2000, 2000)\n",
         "a @ a; None"),
    Call("`bpy.ops.wm.open_mainfile`, a 20 M-vertex .blend", BIG_FILE,
         "bpy.ops.wm.open_mainfile(filepath=path)"),
    Call("`bpy.data.libraries.load`, a 20 M-vertex .blend", BIG_FILE,
         "with bpy.data.libraries.load(path) as (src, dst):\n    dst.meshes = src.meshes"),
    Call("depsgraph evaluation: subdivision level 9 (`ob.evaluated_get(depsgraph)`)", SUBSURF,
         "mod.levels = 9\nlen(ob.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.polygons)"),
    Call("`bpy.ops.object.modifier_apply`, subdivision level 9", SUBSURF + "mod.levels = 9\n",
         "bpy.ops.object.modifier_apply(modifier='subsurf')"),
    Call("cloth simulation bake: `bpy.ops.ptcache.bake_all`, 60 frames", CLOTH,
         "bpy.ops.ptcache.bake_all(bake=True)"),
    Call("Cycles render: `bpy.ops.render.render`, 480x360, 64 samples", CYCLES,
         "bpy.ops.render.render()\nNone"),
]


def _exec(url: str, code: str, session: str) -> tuple[int, str]:
    status, body = post(url, "/exec", json.dumps({"code": code, "session": session, "timeout": 600}).encode(),
                        {"Content-Type": "application/json"})
    text = body.decode(errors="replace")
    return status, text[:300]


def measure_call(url: str, call: Call, session: str) -> tuple[float, float, str]:
    """(seconds the call took, longest /health wait meanwhile, error or "")."""
    if call.setup:
        status, text = _exec(url, call.setup, session)
        if status != 200:
            return 0.0, 0.0, f"setup failed: {text}"
    outcome: dict[str, object] = {}

    def run() -> None:
        began = time.perf_counter()
        try:
            outcome["status"], outcome["text"] = _exec(url, call.code, session)
        except OSError as exc:  # the answer took longer than the client waits
            outcome["status"], outcome["text"] = 0, repr(exc)
        outcome["seconds"] = time.perf_counter() - began

    worker = threading.Thread(target=run)
    worker.start()
    longest = 0.0
    while worker.is_alive():
        began = time.perf_counter()
        try:
            get(url, "/health")
        except OSError:
            pass
        longest = max(longest, time.perf_counter() - began)
        time.sleep(POLL_S)
    worker.join()
    error = "" if outcome["status"] == 200 else f"{outcome['status']}: {outcome['text']}"
    return float(outcome["seconds"]), longest, error  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="module,background,gui")
    parser.add_argument("--only", default="", help="run the calls whose name holds this text")
    options = parser.parse_args()
    rows: dict[str, dict[str, str]] = {}
    for mode in options.modes.split(","):
        for number, call in enumerate(CALLS):
            if options.only not in call.name:
                continue
            # A fresh server per call: a file load or a huge mesh must not change the next call.
            with server(mode) as url:
                seconds, longest, error = measure_call(url, call, f"liveness{number}")
            cell = f"{seconds:.1f} s / {longest:.2f} s" if not error else f"failed ({error[:80]})"
            rows.setdefault(call.name, {})[mode] = cell
            print(f"{mode:10} {call.name}: {cell}", flush=True)
    modes = options.modes.split(",")
    print("\n| call | " + " | ".join(f"{m}: call / longest `/health`" for m in modes) + " |")
    print("|---|" + "---:|" * len(modes))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells.get(m, "") for m in modes) + " |")


if __name__ == "__main__":
    main()
