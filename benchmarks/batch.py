"""100 small jobs: through one running blender-http server against a cold
`blender -b --python-expr` per job, the way scripts drive Blender without a server."""

from __future__ import annotations

import json
import subprocess
import time

from .targets import post

JOB = ("import bpy\n"
       "bpy.ops.mesh.primitive_cube_add(size=0.5)\n"
       "count = len(bpy.data.objects)\n"
       "bpy.data.objects.remove(bpy.context.active_object)\n")


def through_server_s(url: str, jobs: int) -> float:
    start = time.perf_counter()
    for _ in range(jobs):
        status, body = post(url, "/exec", (JOB + "count").encode())
        if status != 200 or json.loads(body)["result"] != 4:
            raise RuntimeError(f"job failed: {status} {body[:300]!r}")
    return time.perf_counter() - start


def cold_blender_s(jobs: int) -> float:
    command = ["blender", "--background", "--factory-startup", "--python-exit-code", "1",
               "--python-expr", JOB + "assert count == 4"]
    start = time.perf_counter()
    for _ in range(jobs):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=120)
    return time.perf_counter() - start
