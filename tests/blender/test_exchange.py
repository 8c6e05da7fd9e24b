"""POST /export and POST /import against a real Blender: files come back whole, go back in
with the same vertices, and the user's selection is as it was."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.blender import servers

SELECTION = ("[sorted(o.name for o in C.view_layer.objects if o.select_get()), "
             "C.view_layer.objects.active.name if C.view_layer.objects.active else None]")
REMOVE = "for n in args['names']:\n    o = D.objects.get(n)\n    if o: D.objects.remove(o)"
QUAD_OBJ = b"""# a unit quad
o ExchangeQuad
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
f 1 2 3 4
"""


def run(client: httpx.Client, code: str, **args: Any) -> Any:
    response = client.post("/exec", json={"code": code, "args": args})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def has_usd(client: httpx.Client) -> bool:
    return bool(run(client, "bpy.app.build_options.usd and hasattr(bpy.ops.wm, 'usd_export')"))


def glb_position_count(data: bytes) -> int:
    """Vertices in a .glb's meshes, read from its JSON chunk."""
    magic, _, _ = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF"
    length, kind = struct.unpack("<I4s", data[12:20])
    assert kind == b"JSON"
    document = json.loads(data[20:20 + length])
    return sum(document["accessors"][primitive["attributes"]["POSITION"]]["count"]
               for mesh in document["meshes"] for primitive in mesh["primitives"])


@pytest.fixture
def grid(client: httpx.Client) -> Iterator[str]:
    """A flat, smooth-shaded grid without UVs: no seams or split normals, so every file
    format keeps its vertices one to one."""
    run(client, "bpy.ops.mesh.primitive_grid_add(x_subdivisions=9, y_subdivisions=9, location=(5, 0, 0))\n"
                "grid = C.active_object\ngrid.name = 'ExchangeGrid'\n"
                "while grid.data.uv_layers:\n    grid.data.uv_layers.remove(grid.data.uv_layers[0])\n"
                "bpy.ops.object.shade_smooth()")
    run(client, "bpy.ops.object.select_all(action='DESELECT')\n"
                "C.view_layer.objects.active = D.objects['Cube']\nD.objects['Cube'].select_set(True)")
    yield "ExchangeGrid"
    run(client, REMOVE, names=["ExchangeGrid"])


def imported(client: httpx.Client, response: httpx.Response) -> list[str]:
    assert response.status_code == 201, response.text
    names: list[str] = response.json()["objects"]
    return names


@pytest.mark.parametrize("fmt,magic", [
    ("glb", b"glTF"), ("gltf", b"{"), ("obj", b"# Blender"), ("fbx", b"Kaydara FBX Binary"), ("stl", b""),
])
def test_export_the_whole_scene(client: httpx.Client, fmt: str, magic: bytes) -> None:
    response = client.post("/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="scene.{fmt}"'
    assert response.content.startswith(magic)
    assert len(response.content) > 200
    assert not [f for f in client.get("/files").json()["files"] if f["path"].startswith(".blender-http/")]


def test_gltf_is_one_self_contained_file(client: httpx.Client) -> None:
    document = client.post("/export", params={"format": "gltf"}).json()
    assert document["asset"]["version"] == "2.0"
    uris = [item["uri"] for key in ("buffers", "images") for item in document.get(key, []) if "uri" in item]
    assert uris and all(uri.startswith("data:") for uri in uris)


def test_gltf_of_the_whole_scene_has_its_camera_and_light(client: httpx.Client) -> None:
    document = client.post("/export", params={"format": "gltf"}).json()
    nodes = {node["name"]: node for node in document["nodes"]}
    assert "camera" in nodes["Camera"] and document["cameras"]
    lights = document["extensions"]["KHR_lights_punctual"]["lights"]
    assert lights and any("KHR_lights_punctual" in n.get("extensions", {}) for n in nodes.values())


def test_usd_exports_or_says_it_cannot(client: httpx.Client) -> None:
    response = client.post("/export", params={"format": "usd"})
    if has_usd(client):
        assert response.status_code == 200, response.text
        assert response.content.startswith(b"PXR-USDC")
    else:
        assert response.status_code == 501
        assert response.json()["error"]["type"] == "NotSupported"


def test_export_named_objects_only_and_keep_the_selection(client: httpx.Client, grid: str) -> None:
    before = run(client, SELECTION)
    response = client.post("/export", params={"format": "obj", "objects": grid})
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert [line for line in lines if line.startswith("o ")] == [f"o {grid}"]
    assert sum(line.startswith("v ") for line in lines) == 100
    assert run(client, SELECTION) == before == [["Cube"], "Cube"]


def test_export_right_after_code_removed_objects(tmp_path: Path) -> None:
    """Until the view layer is synced again, its objects can hold None where code removed
    one (seen removing the start-up Light of a fresh Blender): an export, which keeps the
    selection, was a 500 (AttributeError). A Blender of its own: the scene changes."""
    fresh = servers.start("module", tmp_path)
    try:
        with fresh.client() as own:
            before = run(own, SELECTION)
            run(own, "D.objects.remove(D.objects['Light'])")
            response = own.post("/export", params={"format": "obj"})
            assert response.status_code == 200, response.text
            assert "o Light" not in response.text and "o Cube" in response.text
            assert run(own, SELECTION) == before
    finally:
        fresh.stop()


@pytest.mark.parametrize("query,status", [
    ({"format": "dwg"}, 400), ({}, 400), ({"format": "glb", "objects": "Cube,Cub3"}, 400),
])
def test_bad_export_requests(client: httpx.Client, query: dict[str, str], status: int) -> None:
    response = client.post("/export", params=query)
    assert response.status_code == status
    assert response.json()["ok"] is False
    if "objects" in query:
        assert response.json()["error"]["close_matches"][0] == "Cube"


def test_glb_round_trip_keeps_the_vertex_count(client: httpx.Client, grid: str) -> None:
    count = client.get(f"/objects/{grid}").json()["object"]["mesh"]["vertices"]
    data = client.post("/export", params={"format": "glb", "objects": grid}).content
    assert glb_position_count(data) == count
    response = client.post("/import", params={"format": "glb"}, content=data)
    if response.status_code == 400 and "np.bool" in response.text:
        # Debian's Blender 3.4 ships a glTF importer that calls numpy.bool, which NumPy
        # 1.24 removed: the importer itself cannot run there. The file was checked above.
        assert run(client, "bpy.app.version[:2]") == [3, 4]
        return
    names = imported(client, response)
    try:
        meshes = [n for n in names if client.get(f"/objects/{n}").json()["object"]["type"] == "MESH"]
        assert len(meshes) == 1
        assert client.get(f"/objects/{meshes[0]}").json()["object"]["mesh"]["vertices"] == count
    finally:
        run(client, REMOVE, names=names)


@pytest.mark.parametrize("fmt", ["obj", "stl", "fbx"])
def test_other_formats_round_trip(client: httpx.Client, grid: str, fmt: str) -> None:
    data = client.post("/export", params={"format": fmt, "objects": grid}).content
    response = client.post("/import", params={"filename": f"grid.{fmt}"}, content=data)
    names = imported(client, response)
    try:
        assert len(names) == 1
        details = client.get(f"/objects/{names[0]}").json()["object"]
        # STL stores bare triangles: the importer merges their shared corners again.
        assert details["mesh"]["vertices"] == 100
    finally:
        run(client, REMOVE, names=names)


def test_import_an_obj_the_test_wrote(client: httpx.Client) -> None:
    before = run(client, SELECTION)
    names = imported(client, client.post("/import", params={"format": "obj"}, content=QUAD_OBJ))
    try:
        assert names == ["ExchangeQuad"]
        quad = client.get("/objects/ExchangeQuad").json()["object"]
        assert quad["mesh"] == {"vertices": 4, "edges": 4, "polygons": 1, "loops": 4}
        assert run(client, SELECTION) == before  # the new object is not left selected
        assert not [f for f in client.get("/files").json()["files"] if f["path"].startswith(".blender-http/")]
    finally:
        run(client, REMOVE, names=names)


@pytest.mark.parametrize("query,body", [
    ({"format": "obj"}, b"this is not a mesh"),
    ({"format": "glb"}, b"not a gltf"),
    ({"format": "obj"}, b""),
    ({"filename": "notes.txt"}, QUAD_OBJ),
    ({}, QUAD_OBJ),
])
def test_bad_imports_are_400(client: httpx.Client, query: dict[str, str], body: bytes) -> None:
    objects = run(client, "len(D.objects)")
    response = client.post("/import", params=query, content=body)
    assert response.status_code == 400, response.text
    assert response.json()["ok"] is False
    assert run(client, "len(D.objects)") == objects
