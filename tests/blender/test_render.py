"""POST /render and GET /screenshot against a real Blender: the PNG decodes, has the asked
size, is not blank, and the scene's settings are as they were."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import httpx
import numpy as np
import pytest

from tests.blender import servers

# Engines that render a tiny image quickly on a CPU without a GPU (EEVEE works too, but
# compiles its shaders in software for half a minute).
ENGINES = ("CYCLES", "BLENDER_WORKBENCH")
SETTINGS = ("[C.scene.render.engine, C.scene.render.resolution_x, C.scene.render.resolution_y, "
            "C.scene.render.resolution_percentage, C.scene.render.filepath, C.scene.cycles.samples, "
            "C.scene.camera.name, C.scene.frame_current, C.scene.render.image_settings.file_format]")


def decode_png(data: bytes) -> np.ndarray:
    """Pixels (height, width, channels) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace) == (8, 0)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        out = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = out[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out[x] = (line[x] + pred) & 0xFF
        rows[y] = previous = out
    return rows.reshape(height, width, channels).astype(np.uint8)


def assert_picture(data: bytes, width: int, height: int) -> np.ndarray:
    """The PNG decodes to the size asked and shows something (not one flat color)."""
    pixels = decode_png(data)
    assert pixels.shape[:2] == (height, width)
    colors = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colors) > 8, f"a blank image: {colors[:4]}"
    return pixels


def run(client: httpx.Client, code: str) -> Any:
    response = client.post("/exec", content=code.encode())
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.mark.parametrize("engine", ENGINES)
def test_render_a_small_known_scene(client: httpx.Client, engine: str) -> None:
    before = run(client, SETTINGS)
    response = client.post("/render", json={"engine": engine, "width": 64, "height": 48, "samples": 4})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["X-Render-Engine"] == engine
    assert float(response.headers["X-Render-Ms"]) >= 0
    pixels = assert_picture(response.content, 64, 48)
    # The default cube sits in the middle of the default camera's view: the centre is not
    # the color of the corners (the world background).
    assert np.abs(pixels[24, 32, :3].astype(int) - pixels[0, 0, :3].astype(int)).sum() > 30
    assert run(client, SETTINGS) == before
    assert not [f for f in client.get("/files").json()["files"] if f["path"].startswith(".blender-http/")]


def test_render_from_another_camera_and_frame(client: httpx.Client) -> None:
    run(client, "cam = D.objects.new('RenderTestCam', D.cameras.new('RenderTestCam'))\n"
                "C.scene.collection.objects.link(cam)\ncam.location = (0, 0, 10)")
    try:
        response = client.post("/render", json={"engine": "CYCLES", "width": 40, "height": 40,
                                                 "samples": 2, "camera": "RenderTestCam", "frame": 5})
        assert response.status_code == 200, response.text
        pixels = assert_picture(response.content, 40, 40)
        # Seen from above, the cube's top face fills the centre: it differs from the corner.
        assert np.abs(pixels[20, 20, :3].astype(int) - pixels[0, 0, :3].astype(int)).sum() > 30
        assert run(client, "[C.scene.camera.name, C.scene.frame_current]") == ["Camera", 1]
    finally:
        run(client, "D.objects.remove(D.objects['RenderTestCam'])\n"
                    "D.cameras.remove(D.cameras['RenderTestCam'])")


@pytest.mark.parametrize("body,needle", [
    ({"engine": "POVRAY"}, "CYCLES"),
    ({"camera": "Cube"}, "Camera"),
    ({"camera": "Nowhere"}, "Camera"),
    ({"width": 0}, "width"),
    ({"samples": "many"}, "samples"),
    ({"size": 3}, "size"),
])
def test_bad_render_requests_are_400_naming_valid_values(client: httpx.Client, body: dict[str, Any],
                                                         needle: str) -> None:
    response = client.post("/render", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert needle in error["message"]


def test_render_as_a_job_reports_progress_and_leaves_a_file(client: httpx.Client) -> None:
    submitted = client.post("/render", json={"engine": "CYCLES", "width": 32, "height": 24, "samples": 2},
                            headers={"Prefer": "respond-async"})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert submitted.headers["Location"] == f"/jobs/{job_id}"
    events = []
    with client.stream("GET", f"/jobs/{job_id}/events") as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    progress = [data for kind, data in events if kind == "progress"]
    assert {"stage": "rendering"} in progress
    assert progress[-1] == {"fraction": 1.0}
    kind, envelope = events[-1]
    assert kind == "done" and envelope["ok"] is True
    result = envelope["result"]
    assert result["path"] == f"renders/{job_id}.png"
    assert (result["width"], result["height"]) == (32, 24)
    image = client.get(f"/files/{result['path']}")
    assert image.status_code == 200 and len(image.content) == result["size"]
    assert_picture(image.content, 32, 24)
    view = client.get(f"/jobs/{job_id}").json()
    assert (view["status"], view["task"]) == ("succeeded", "render")
    client.delete(f"/files/{result['path']}")


def test_screenshot(server: servers.Running, client: httpx.Client) -> None:
    response = client.get("/screenshot", params={"width": 160, "height": 90})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    expected = "viewport" if server.mode == "gui" else "render"
    assert response.headers["X-Screenshot-Source"] == expected
    assert_picture(response.content, 160, 90)


def test_screenshot_rejects_a_bad_size(client: httpx.Client) -> None:
    response = client.get("/screenshot", params={"width": "wide"})
    assert response.status_code == 400
