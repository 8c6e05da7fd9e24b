"""Exec round trip and 1,000,000 vertices for every Blender of the version matrix, side by side.

    .venv/bin/python -m tests.versions.matrix      # the bpy virtualenvs, once
    .venv/bin/python -m benchmarks.versions        # prints a Markdown table
    .venv/bin/python -m benchmarks.versions --quick --targets 5.0.1-module

Vertices are fetched three ways, each decoded into a (N, 3) float32 array in the client:
GET /objects/{name}/vertices (local and world space) and POST /exec of user code calling
foreach_get on `mesh.vertices` "co", which from Blender 3.5 copies one element at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tests.versions.matrix import TARGETS, Target

from . import latency, vertices
from .report import table
from .targets import blender_command, connection, request, stop, wait_ready


@contextlib.contextmanager
def serving(target: Target) -> Iterator[str]:
    """target's Blender serving on a free port; stopped by the pid this started."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{target.id}-"))
    ready = folder / "ready.json"
    if target.executable is not None:
        if not target.executable.exists():
            raise SystemExit(f"no {target.executable}: run .venv/bin/python -m tests.versions.matrix")
        command = [str(target.executable), "-m", "blender_http", "serve", "--port", "0"]
    else:
        command = blender_command(target.mode)
    env = {**os.environ, "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_READY_FILE": str(ready),
           "BLENDER_HTTP_WORKDIR": str(folder / "work")}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = None
    try:
        url = wait_ready(proc, ready)
        yield url
    finally:
        stop(proc, url)
        shutil.rmtree(folder, ignore_errors=True)


def world_space(url: str) -> np.ndarray:
    return vertices._decode_binary(*request(url, "GET", f"/objects/{vertices.OBJECT}/vertices?space=world",
                                            None, {"Accept": "application/octet-stream"}))


WAYS: dict[str, Callable[[str], np.ndarray]] = {
    "GET vertices": vertices.via_vertices_endpoint,
    "GET vertices, world": world_space,
    "exec, co": vertices.via_exec_binary,
}


def p50_and_best(fetch: Callable[[str], np.ndarray], url: str, count: int, repeats: int) -> str:
    """'p50 / best' milliseconds: on a shared machine the best says what the code can do."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        array = fetch(url)
        samples.append((time.perf_counter() - start) * 1000.0)
        if array.shape != (count, 3):
            raise RuntimeError(f"wrong shape {array.shape}")
    return f"{statistics.median(samples):.1f} / {min(samples):.1f}"


def measure(target: Target, requests: int, count: int, repeats: int) -> list[str]:
    """One table row: exec p50 and each way's p50 for count vertices."""
    with serving(target) as url:
        conn = connection(url)
        try:
            exec_p50 = statistics.median(latency.round_trips(conn, requests, warmup=20))
        finally:
            conn.close()
        vertices.create_mesh(url, count)
        fetched = [p50_and_best(fetch, url, count, repeats) for fetch in WAYS.values()]
    return [target.blender, target.mode, target.python, f"{exec_p50:.3f}", *fetched]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmark runs")
    parser.add_argument("--targets", default=",".join(t.id for t in TARGETS),
                        help="comma-separated target ids (default: all)")
    options = parser.parse_args(argv)
    wanted = options.targets.split(",")
    requests, count, repeats = (40, 10_000, 1) if options.quick else (2000, 1_000_000, 7)
    rows = [measure(t, requests, count, repeats) for t in TARGETS if t.id in wanted]
    header = ["Blender", "mode", "Python", "exec p50 ms",
              *(f"{count:,} vertices, {way}, p50 / best ms" for way in WAYS)]
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
