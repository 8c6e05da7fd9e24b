"""GET /scene, /objects/{name} and /objects/{name}/vertices against a real Blender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest


def run(client: httpx.Client, code: str, **args: Any) -> Any:
    """The result of code run in Blender (args bound as `args`)."""
    response = client.post("/exec", json={"code": code, "args": args})
    assert response.status_code == 200, response.text
    return response.json()["result"]


REMOVE = "for n in args['names']:\n    o = D.objects.get(n)\n    if o: D.objects.remove(o)"


@pytest.fixture
def detailed(client: httpx.Client) -> Iterator[str]:
    """A cube with a parent, a modifier, two material slots and custom properties."""
    run(client, """
bpy.ops.mesh.primitive_cube_add(location=(1, 2, 3))
cube = C.active_object
cube.name = 'SceneTestCube'
cube.modifiers.new('Bevel', 'BEVEL').show_render = False
cube.data.materials.append(D.materials.new('SceneTestMat'))
cube.data.materials.append(None)
cube['weight'] = 2.5
cube['tags'] = {'a': 1}
parent = D.objects.new('SceneTestParent', None)
C.scene.collection.objects.link(parent)
cube.parent = parent
""")
    yield "SceneTestCube"
    run(client, REMOVE + "\nD.materials.remove(D.materials['SceneTestMat'])",
        names=["SceneTestCube", "SceneTestParent"])


def test_scene_answers_settings_as_blender_has_them(client: httpx.Client) -> None:
    scene = client.get("/scene").json()
    expected = run(client, """
s = C.scene
[s.name, s.frame_start, s.frame_end, s.frame_current, s.render.engine,
 [s.render.resolution_x, s.render.resolution_y], s.camera.name if s.camera else None]""")
    assert scene["ok"] is True
    assert [scene["name"], scene["frame"]["start"], scene["frame"]["end"], scene["frame"]["current"],
            scene["render"]["engine"], scene["render"]["resolution"], scene["camera"]] == expected
    assert scene["frame"]["fps"] == 24
    assert {"CYCLES", "BLENDER_WORKBENCH"} <= set(scene["render"]["engines"])
    assert {"Camera", "Cube", "Light"} <= {o["name"] for o in scene["objects"]}


def test_every_object_is_reachable_page_by_page(client: httpx.Client) -> None:
    run(client, "for i in range(7):\n"
                "    C.scene.collection.objects.link(D.objects.new(f'PageTest{i}', None))")
    try:
        names = run(client, "sorted(o.name for o in C.scene.objects)")
        seen: list[str] = []
        offset = 0
        while True:
            page = client.get("/scene", params={"limit": 2, "offset": offset}).json()
            assert page["total"] == len(names)
            assert (page["limit"], page["offset"]) == (2, offset)
            if not page["objects"]:
                break
            seen += [o["name"] for o in page["objects"]]
            offset += 2
        assert seen == names
    finally:
        run(client, REMOVE, names=[f"PageTest{i}" for i in range(7)])


def test_type_filter_is_case_insensitive_and_checked(client: httpx.Client) -> None:
    meshes = client.get("/scene", params={"type": "mesh"}).json()
    assert meshes["objects"] and {o["type"] for o in meshes["objects"]} == {"MESH"}
    assert meshes["total"] == run(client, "sum(1 for o in C.scene.objects if o.type == 'MESH')")
    bad = client.get("/scene", params={"type": "teapot"})
    assert bad.status_code == 400
    assert "MESH" in bad.json()["error"]["message"]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
def test_bad_paging_is_400(client: httpx.Client, query: dict[str, Any]) -> None:
    response = client.get("/scene", params=query)
    assert response.status_code == 400
    assert response.json()["ok"] is False


def test_object_summary_in_the_listing(client: httpx.Client, detailed: str) -> None:
    listed = client.get("/scene", params={"type": "MESH", "limit": 1000}).json()["objects"]
    cube = next(o for o in listed if o["name"] == detailed)
    assert cube["location"] == [1.0, 2.0, 3.0]
    assert cube["rotation"] == [0.0, 0.0, 0.0]
    assert cube["dimensions"] == [2.0, 2.0, 2.0]
    assert cube["parent"] == "SceneTestParent"
    assert cube["collections"] == ["Collection"]
    assert (cube["visible"], cube["hide_viewport"], cube["hide_render"]) == (True, False, False)
    assert cube["materials"] == ["SceneTestMat"]


def test_object_details(client: httpx.Client, detailed: str) -> None:
    response = client.get(f"/objects/{detailed}")
    assert response.status_code == 200
    obj = response.json()["object"]
    assert obj["type"] == "MESH"
    assert obj["mesh"] == {"vertices": 8, "edges": 12, "polygons": 6, "loops": 24}
    assert obj["modifiers"] == [{"name": "Bevel", "type": "BEVEL", "show_viewport": True,
                                 "show_render": False}]
    assert obj["material_slots"] == [{"name": "SceneTestMat", "material": "SceneTestMat", "link": "DATA"},
                                     {"name": "", "material": None, "link": "DATA"}]
    assert obj["custom_properties"] == {"weight": 2.5, "tags": {"a": 1}}
    assert obj["matrix_world"][0] == [1.0, 0.0, 0.0, 1.0]
    assert obj["matrix_world"][2] == [0.0, 0.0, 1.0, 3.0]
    parent = client.get("/objects/SceneTestParent").json()["object"]
    assert (parent["type"], parent["data"], parent["mesh"]) == ("EMPTY", None, None)
    assert parent["children"] == [detailed]


def test_a_missing_object_is_404_with_close_matches(client: httpx.Client) -> None:
    response = client.get("/objects/Cub")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "NotFound"
    assert "Cube" in error["close_matches"]
    assert error["message"].startswith("no object 'Cub'; close matches: Cube")
    assert client.get("/objects/Cub/vertices").status_code == 404


def test_a_million_vertices_as_float32_bytes(client: httpx.Client) -> None:
    run(client, """
bpy.ops.mesh.primitive_grid_add(x_subdivisions=999, y_subdivisions=999, size=4)
C.active_object.name = 'SceneTestGrid'
C.active_object.location = (10, 20, 30)
C.active_object.scale = (2, 2, 2)
C.active_object.hide_set(True)  # a GUI under software GL would redraw a million points""")
    try:
        count = run(client, "len(D.objects['SceneTestGrid'].data.vertices)")
        assert count == 1_000_000
        response = client.get("/objects/SceneTestGrid/vertices",
                              headers={"Accept": "application/octet-stream"})
        assert response.status_code == 200
        assert response.headers["X-Result-Dtype"] == "<f4"
        assert response.headers["X-Result-Shape"] == f"{count},3"
        local = np.frombuffer(response.content, dtype="<f4").reshape(count, 3)
        probe = [0, 1, count // 2, count - 1]
        expected = run(client, "[list(D.objects['SceneTestGrid'].data.vertices[i].co) for i in args['i']]",
                       i=probe)
        np.testing.assert_allclose(local[probe], expected, rtol=1e-6)
        meshes = run(client, "len(D.meshes)")
        world = client.get("/objects/SceneTestGrid/vertices", params={"space": "world"},
                           headers={"Accept": "application/octet-stream"})
        world_xyz = np.frombuffer(world.content, dtype="<f4").reshape(count, 3)
        np.testing.assert_allclose(world_xyz, local * 2 + [10, 20, 30], rtol=1e-5)
        assert run(client, "len(D.meshes)") == meshes  # the world-space copy is gone
        np.testing.assert_allclose(  # and the object's own mesh untouched
            np.frombuffer(client.get("/objects/SceneTestGrid/vertices", headers={
                "Accept": "application/octet-stream"}).content, dtype="<f4").reshape(count, 3), local)
    finally:
        run(client, REMOVE, names=["SceneTestGrid"])


def test_vertices_as_json_and_their_errors(client: httpx.Client) -> None:
    response = client.get("/objects/Cube/vertices")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 8
    assert sorted(map(tuple, body["vertices"])) == sorted(
        (x, y, z) for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0))
    not_mesh = client.get("/objects/Camera/vertices")
    assert not_mesh.status_code == 400
    assert not_mesh.json()["error"]["type"] == "NotAMesh"
    assert client.get("/objects/Cube/vertices", params={"space": "screen"}).status_code == 400
