"""Small jobs in bulk: one request after another through a running server, Blender.map's
items/s directly and through the gateway with 1 and 2 spawned workers, against a cold
`blender -b --python-expr` per job, the way scripts drive Blender without a server."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator

from blender_http import Blender

from .targets import START_TIMEOUT_S, free_port, get, post, stop

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


def mapped_s(url: str, items: int) -> float:
    """Seconds for Blender.map to run the job once per item (default concurrency)."""
    with Blender(url) as blender:
        start = time.perf_counter()
        results = list(blender.map(JOB + "count", range(items)))
        elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.ok or r.value != 4]
    if failed or len(results) != items:
        raise RuntimeError(f"{len(failed)} of {items} items failed, e.g. {failed[:1]}")
    return elapsed


@contextlib.contextmanager
def spawned_gateway(workers: int) -> Iterator[str]:
    """`blender-http gateway --spawn N` (module-mode workers) on a free port, once all are healthy."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "blender_http", "gateway", "--spawn", str(workers),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _all_healthy(url, workers):
            if proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway's workers were not healthy in time")
            time.sleep(0.05)
        yield url
    finally:
        stop(proc, None)


def _all_healthy(url: str, workers: int) -> bool:
    with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
        status, body = get(url, "/health")
        return status == 200 and json.loads(body).get("healthy") == workers
    return False


def cold_blender_s(jobs: int) -> float:
    command = ["blender", "--background", "--factory-startup", "--python-exit-code", "1",
               "--python-expr", JOB + "assert count == 4"]
    start = time.perf_counter()
    for _ in range(jobs):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=120)
    return time.perf_counter() - start
