"""1,000,000 vertex coordinates from Blender to a numpy array in the client: the binary path
(`Accept: application/octet-stream`, raw float32) against the same data as JSON lists."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np

from .targets import post, request

OBJECT = "Bench1M"
CREATE = f"""
import numpy as np
mesh = D.meshes.new("{OBJECT}")
mesh.vertices.add(args["count"])
mesh.vertices.foreach_set("co", np.random.default_rng(0).random(args["count"] * 3, dtype=np.float32))
obj = D.objects.new("{OBJECT}", mesh)
C.scene.collection.objects.link(obj)
len(mesh.vertices)
"""
FETCH = f"""
import numpy as np
mesh = D.objects["{OBJECT}"].data
coords = np.empty(len(mesh.vertices) * 3, np.float32)
mesh.vertices.foreach_get("co", coords)
coords.reshape(-1, 3){{}}
"""


def create_mesh(url: str, count: int) -> None:
    status, body = post(url, "/exec", json.dumps({"code": CREATE, "args": {"count": count}}).encode(),
                        {"Content-Type": "application/json"})
    if status != 200 or json.loads(body)["result"] != count:
        raise RuntimeError(f"could not create the mesh: {status} {body[:300]!r}")


def _decode_binary(status: int, headers: dict[str, str], body: bytes) -> np.ndarray:
    if status != 200:
        raise RuntimeError(f"binary fetch failed: {status} {body[:300]!r}")
    shape = tuple(int(n) for n in headers["x-result-shape"].split(","))
    return np.frombuffer(body, dtype=np.dtype(headers["x-result-dtype"])).reshape(shape)


def via_exec_binary(url: str) -> np.ndarray:
    return _decode_binary(*request(url, "POST", "/exec", FETCH.format("").encode(),
                                    {"Content-Type": "text/plain", "Accept": "application/octet-stream"}))


def via_exec_json(url: str) -> np.ndarray:
    status, _, body = request(url, "POST", "/exec", FETCH.format(".tolist()").encode(),
                               {"Content-Type": "text/plain"})
    if status != 200:
        raise RuntimeError(f"JSON fetch failed: {status} {body[:300]!r}")
    return np.asarray(json.loads(body)["result"], dtype=np.float32)


def via_vertices_endpoint(url: str) -> np.ndarray:
    return _decode_binary(*request(url, "GET", f"/objects/{OBJECT}/vertices", None,
                                    {"Accept": "application/octet-stream"}))


WAYS: dict[str, Callable[[str], np.ndarray]] = {
    "exec, binary (octet-stream)": via_exec_binary,
    "GET /objects/{name}/vertices, binary": via_vertices_endpoint,
    "exec, JSON lists": via_exec_json,
}


def measure(url: str, count: int, repeats: int) -> dict[str, list[float] | str]:
    """Milliseconds per fetch, decoded into a (count, 3) float32 array; a way this server
    lacks is reported with its error instead of samples."""
    create_mesh(url, count)
    out: dict[str, list[float] | str] = {}
    for name, fetch in WAYS.items():
        samples = []
        # JSON lists are two orders of magnitude slower: fewer rounds say as much.
        times = max(1, repeats // 3) if "JSON" in name else repeats
        try:
            for _ in range(times):
                start = time.perf_counter()
                array = fetch(url)
                samples.append((time.perf_counter() - start) * 1000.0)
                if array.shape != (count, 3):
                    raise RuntimeError(f"wrong shape {array.shape}")
        except (RuntimeError, KeyError) as exc:
            out[name] = f"not available: {exc}"[:200]
            continue
        out[name] = samples
    return out
