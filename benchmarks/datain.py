"""Data into Blender: a client's numpy array into a new mesh (`foreach_set`) as a multipart
.npy part, as JSON `args`, and as a /files upload read back with np.load; a float RGBA image
into bpy.data.images through multipart; and 1M vertices out as JSON: a numpy array, whose
text numpy writes (now), against the same values as nested lists walked value by value; in
this process, the server's share of that answer before (tolist() and json.dumps) and now,
and the client's (json.loads of the answer).

    .venv/bin/python -m benchmarks.datain [--quick] [--modes module,background]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

from blender_http import Blender

from .report import table
from .targets import server

TARGET_MS = 150.0
# The two JSON-out rows the targets are read from (after "{count:,} vertices out as JSON, ").
OUT_PARSED = "now: numpy array"
OUT_UNPARSED = "now: to the answer's last byte (unparsed)"
# 1M vertices as JSON args is a 60 MB body, past the default 16 MiB JSON limit.
SERVER_ENV = {"BLENDER_HTTP_MAX_BODY_BYTES": str(256 * 1024 * 1024)}
MESH = "DataIn"
# The mesh is made, filled and linked in the timed call; removed untimed before the next one.
# Blender 3.5+ has the positions as an attribute, whose foreach_set copies the buffer at
# once (1 ms for 1M vertices in 5.0, where vertices.foreach_set("co") takes about 200 ms).
BUILD = f"""
mesh = D.meshes.new("{MESH}")
mesh.vertices.add(len(points))
if "position" in mesh.attributes:
    mesh.attributes["position"].data.foreach_set("vector", points.ravel())
else:
    mesh.vertices.foreach_set("co", points.ravel())
C.scene.collection.objects.link(D.objects.new("{MESH}", mesh))
len(mesh.vertices)
"""
CLEAN = f"""
for o in [o for o in D.objects if o.name.startswith("{MESH}")]:
    D.objects.remove(o)
for m in [m for m in D.meshes if m.name.startswith("{MESH}")]:
    D.meshes.remove(m)
for i in [i for i in D.images if i.name.startswith("{MESH}")]:
    D.images.remove(i)
"""
IMAGE = f"""
image = args["image"]
img = D.images.new("{MESH}Image", image.shape[1], image.shape[0], alpha=True, float_buffer=True)
img.pixels.foreach_set(image.ravel())
img.size[:]
"""
OUT = """
import numpy as np
mesh = D.objects["{name}"].data
coords = np.empty(len(mesh.vertices) * 3, np.float32)
mesh.vertices.foreach_get("co", coords)
coords.reshape(-1, 3){suffix}
"""


def _multipart(blender: Blender, points: np.ndarray) -> Any:
    return blender.exec("points = args['points']\n" + BUILD, args={"points": points}).result


def _json_args(blender: Blender, points: np.ndarray) -> Any:
    code = "import numpy as np\npoints = np.asarray(args['points'], np.float32)\n" + BUILD
    return blender.exec(code, args={"points": points.tolist()}).result


def _files(blender: Blender, points: np.ndarray) -> Any:
    import io
    buffer = io.BytesIO()
    np.save(buffer, points)
    blender.upload(buffer.getvalue(), "datain/points.npy")
    code = "import numpy as np, os\npoints = np.load(os.path.join(WORKDIR, 'datain/points.npy'))\n" + BUILD
    return blender.exec(code).result


WAYS: dict[str, Callable[[Blender, np.ndarray], Any]] = {
    "multipart .npy part": _multipart,
    "JSON args (lists)": _json_args,
    "/files upload + np.load": _files,
}


def _timed(blender: Blender, run: Callable[[], Any], repeats: int, expect: Any) -> list[float]:
    samples = []
    for _ in range(repeats):
        blender.exec(CLEAN)
        start = time.perf_counter()
        got = run()
        samples.append((time.perf_counter() - start) * 1000)
        if got != expect:
            raise RuntimeError(f"unexpected result {got!r}")
    blender.exec(CLEAN)
    return samples


def measure(url: str, count: int, repeats: int, image_side: int) -> dict[str, list[float]]:
    """Milliseconds per call of every way in, the image, and the two ways out as JSON."""
    points = np.random.default_rng(0).random((count, 3), dtype=np.float32)
    out: dict[str, list[float]] = {}
    with Blender(url, timeout=600) as blender:
        blender.exec("import numpy")  # numpy's import is paid once, not by the first way
        for name, way in WAYS.items():
            times = repeats if name.startswith("multipart") else max(1, repeats // 3)
            out[f"{count:,} vertices in, {name}"] = _timed(
                blender, functools.partial(way, blender, points), times, count)
        image = np.random.default_rng(1).random((image_side, image_side, 4), dtype=np.float32)
        out[f"{image_side}x{image_side} RGBA float image in, multipart"] = _timed(
            blender, lambda: blender.exec(IMAGE, args={"image": image}).result, max(1, repeats // 3),
            [image_side, image_side])
        _multipart(blender, points)
        name = blender.exec(f"[o.name for o in D.objects if o.name.startswith('{MESH}')][0]").result
        for label, suffix in (("nested lists walked (a .tolist() result)", ".tolist()"),
                              (OUT_PARSED, "")):
            samples = []
            for _ in range(max(1, repeats // 3)):
                start = time.perf_counter()
                blender.exec(OUT.format(name=name, suffix=suffix))
                samples.append((time.perf_counter() - start) * 1000)
            out[f"{count:,} vertices out as JSON, {label}"] = samples
        # What curl sees: the same request, timed to the answer's last byte, not parsed.
        samples = []
        with httpx.Client(base_url=url, timeout=600) as raw:
            for _ in range(max(1, repeats // 3)):
                start = time.perf_counter()
                answer = raw.post("/exec", json={"code": OUT.format(name=name, suffix="")})
                answer.read()
                samples.append((time.perf_counter() - start) * 1000)
                answer.raise_for_status()
        out[f"{count:,} vertices out as JSON, {OUT_UNPARSED}"] = samples
        blender.exec(CLEAN)
    return out


def conversion(count: int, repeats: int) -> dict[str, list[float]]:
    """The two ends of a JSON answer, in this process, as CPU milliseconds (the machine may
    be shared): the server's share (the array to the envelope's text) before and now, and
    the client's (json.loads of that text, as httpx's response.json() does)."""
    from blender_http_addon import json_text
    from blender_http_addon.convert import to_json

    array = np.random.default_rng(0).random((count, 3), dtype=np.float32) * 20 - 10
    ways: dict[str, Callable[[], bytes]] = {
        # What a numpy result cost until now: numpy's tolist(), then json.dumps.
        "server side (CPU ms), before: tolist() and json.dumps": lambda: json.dumps(
            {"ok": True, "result": array.tolist()}, separators=(",", ":")).encode("ascii"),
        "server side (CPU ms), now: numpy array": lambda: json_text.dumps(
            {"ok": True, "result": to_json(array)}).encode("ascii"),
    }
    out: dict[str, list[float]] = {}
    texts = {}
    for label, way in ways.items():
        out[f"{count:,} vertices to JSON text, {label}"] = samples = []
        for _ in range(max(1, repeats // 3)):
            start = time.process_time()
            texts[label] = way()
            samples.append((time.process_time() - start) * 1000)
    for label, text in texts.items():
        client = label.replace("server side (CPU ms), ", "").replace("now: numpy array", "now")
        out[f"{count:,} vertices read by the client, json.loads (CPU ms), {client}"] = samples = []
        for _ in range(max(1, repeats // 3)):
            start = time.process_time()
            json.loads(text)
            samples.append((time.process_time() - start) * 1000)
    return out


def rows(results: dict[str, dict[str, list[float]]]) -> list[list[str]]:
    table_rows = []
    for target, samples in results.items():
        for way, values in samples.items():
            table_rows.append([target, way, f"{statistics.median(values):.1f}", f"{min(values):.1f}",
                               str(len(values))])
    return table_rows


def section(results: dict[str, dict[str, list[float]]]) -> str:
    return ("End to end through the client (`Blender.exec`): building the request, sending it, "
            "Blender filling a new mesh with `foreach_set` (or an image with `pixels.foreach_set`), "
            "the answer. The JSON-out rows run `foreach_get` and answer the coordinates as JSON "
            "without `Accept: application/octet-stream`: now = the numpy array, whose JSON text "
            "numpy writes in bulk (float32 in their shortest digits); nested lists = the same "
            "values walked item by item (what a `.tolist()` result costs); to the answer's last byte = "
            "the same request sent with httpx and timed until the answer is read, not parsed (what "
            "curl or any non-Python client waits for). The servers "
            "run with BLENDER_HTTP_MAX_BODY_BYTES=256 MiB: 1M vertices as JSON args is a 60 MB "
            "body, over the default 16 MiB. The in-process rows time, in CPU time, the server's "
            "share of a JSON answer (the array to the envelope's text) before, with `tolist()` "
            "and `json.dumps`, and now; and the client's share, `json.loads` of each text, which "
            "no server change can shorten.\n\n"
            + table(["server", "what", "p50 ms", "best ms", "runs"], rows(results)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="module,background")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args(argv)
    count, repeats, side = (10_000, 1, 64) if options.quick else (1_000_000, 7, 4096)
    results = {}
    for mode in options.modes.split(","):
        with server(mode, env=SERVER_ENV) as url:
            results[f"blender-http {mode}"] = measure(url, count, repeats, side)
    results["in-process"] = conversion(count, repeats)
    print(section(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
