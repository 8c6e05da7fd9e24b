"""Fan out many jobs at once with the async client, follow one live, collect every result.

    blender-http serve            # in another terminal
    python examples/async_fanout.py

Blender runs one job at a time on its main thread: the jobs queue on the server while
this script waits for all of them concurrently (or put a gateway with several Blenders
in front, same code, and they run in parallel)."""

from __future__ import annotations

import asyncio

from blender_http import AsyncBlender, AsyncJob

# Runs inside Blender: the vertex count of a subdivided cube, built in a throwaway mesh.
SUBDIVIDE = """
import bmesh
mesh = bmesh.new()
bmesh.ops.create_cube(mesh, size=2.0)
bmesh.ops.subdivide_edges(mesh, edges=mesh.edges[:], cuts=args["cuts"], use_grid_fill=True)
count = len(mesh.verts)
mesh.free()
print("cuts", args["cuts"], "->", count, "vertices")
count
"""


async def follow(job: AsyncJob) -> None:
    """Print a job's output line by line as Blender prints it (chunks are not lines)."""
    pending = ""
    async for event in job.stream():
        if event.kind == "stdout":
            pending += event.text
            *lines, pending = pending.split("\n")
            for line in lines:
                print(f"  [{job.id}] {line}")


async def main() -> None:
    async with AsyncBlender() as blender:  # $BLENDER_HTTP_URL, else http://127.0.0.1:7777
        jobs = await asyncio.gather(*(blender.submit(SUBDIVIDE, args={"cuts": cuts})
                                      for cuts in range(1, 9)))
        print(f"submitted {len(jobs)} jobs; following the last one:")
        await follow(jobs[-1])
        results = await asyncio.gather(*(job.result() for job in jobs))
        for cuts, result in enumerate(results, start=1):
            print(f"cuts={cuts}: {result.result} vertices ({result.duration_ms:.1f} ms in Blender)")


if __name__ == "__main__":
    asyncio.run(main())
