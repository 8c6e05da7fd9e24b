"""The scene routes through the gateway: typed in OpenAPI, forwarded as the add-on answers."""

from __future__ import annotations

import httpx
import numpy as np

PNG = b"\x89PNG\r\n\x1a\n"


def test_scene_and_objects(client: httpx.Client) -> None:
    client.post("/exec", content="import bpy\nbpy.ops.wm.read_factory_settings(use_empty=False)")
    scene = client.get("/scene", params={"type": "mesh"})
    assert scene.status_code == 200, scene.text
    assert [o["name"] for o in scene.json()["objects"]] == ["Cube"]
    cube = client.get("/objects/Cube").json()["object"]
    assert cube["mesh"]["vertices"] == 8
    missing = client.get("/objects/Cub")
    assert missing.status_code == 404
    assert missing.json()["error"]["close_matches"] == ["Cube"]
    assert client.get("/scene", params={"limit": 0}).status_code == 400


def test_vertices_as_json_and_raw(client: httpx.Client) -> None:
    as_json = client.get("/objects/Cube/vertices").json()
    raw = client.get("/objects/Cube/vertices", params={"space": "world"},
                     headers={"Accept": "application/octet-stream"})
    assert raw.headers["x-result-shape"] == "8,3"
    coords = np.frombuffer(raw.content, "<f4").reshape(8, 3)
    assert as_json["count"] == 8
    assert np.allclose(np.abs(coords), 1.0)


def test_render_and_export_and_import(client: httpx.Client) -> None:
    image = client.post("/render", json={"engine": "BLENDER_WORKBENCH", "width": 64, "height": 48})
    assert image.status_code == 200, image.text
    assert image.content.startswith(PNG)
    assert image.headers["x-render-engine"] == "BLENDER_WORKBENCH"
    exported = client.post("/export", params={"format": "obj", "objects": "Cube"})
    assert exported.status_code == 200, exported.text
    imported = client.post("/import", params={"format": "obj"}, content=exported.content)
    assert imported.status_code == 201, imported.text
    assert imported.json()["objects"]
    assert client.post("/export", params={"format": "nope"}).status_code == 400
