"""The scene and render helpers of `Blender` against the real endpoints (module mode).
test_scene_async.py is its twin."""

from __future__ import annotations

from pathlib import Path

import pytest

from blender_http import BadRequest, Blender, NotFound
from tests.client import expected

pytestmark = pytest.mark.timeout(180)


def test_scene_lists_every_object_paged_and_filtered(blender: Blender) -> None:
    scene = blender.scene()
    assert {o["name"] for o in scene["objects"]} == expected.DEFAULT_OBJECTS
    assert scene["total"] == 3 and scene["camera"] == "Camera"
    assert scene["frame"]["start"] <= scene["frame"]["current"] <= scene["frame"]["end"]
    page = blender.scene(limit=1, offset=1)
    assert (page["total"], page["offset"], page["limit"], len(page["objects"])) == (3, 1, 1, 1)
    meshes = blender.scene(type="mesh")
    assert [o["name"] for o in meshes["objects"]] == ["Cube"]
    with pytest.raises(BadRequest):
        blender.scene(type="NOT_A_TYPE")


def test_object_in_detail_and_close_matches(blender: Blender) -> None:
    cube = blender.object("Cube")
    assert cube["type"] == "MESH" and cube["mesh"]["vertices"] == 8
    assert len(cube["matrix_world"]) == 4
    with pytest.raises(NotFound) as caught:
        blender.object("Cub")
    assert caught.value.body["error"]["close_matches"] == ["Cube"]


def test_mesh_vertices_as_a_numpy_array(blender: Blender) -> None:
    local = blender.mesh_vertices("Cube")
    assert local.dtype.str == "<f4" and local.shape == (8, 3)
    assert sorted({abs(float(v)) for v in local.ravel()}) == [1.0]
    # matrix_world follows a new location once the view layer updates (Blender's own rule).
    blender.exec("D.objects['Cube'].location.x = 10\nC.view_layer.update()")
    try:
        world = blender.mesh_vertices("Cube", space="world")
    finally:
        blender.exec("D.objects['Cube'].location.x = 0\nC.view_layer.update()")
    assert sorted({float(x) for x in world[:, 0]}) == [9.0, 11.0]
    with pytest.raises(BadRequest) as caught:
        blender.mesh_vertices("Light")
    assert caught.value.type == "NotAMesh"


def test_render_returns_a_png_of_the_asked_size(blender: Blender) -> None:
    engine = expected.render_engine(blender.scene())
    png = blender.render(engine=engine, **expected.SMALL_RENDER)
    assert expected.png_size(png) == (32, 18)
    with pytest.raises(BadRequest) as caught:
        blender.render(engine="NO_SUCH_ENGINE")
    assert engine in caught.value.message


def test_render_as_a_job_then_download_the_png(blender: Blender, tmp_path: Path) -> None:
    engine = expected.render_engine(blender.scene())
    job = blender.submit_render(engine=engine, **expected.SMALL_RENDER)
    rendered = job.result(timeout=120).result
    assert (rendered["width"], rendered["height"]) == (32, 18)
    size = blender.download(rendered["path"], tmp_path / "render.png")
    assert size == rendered["size"]
    assert expected.png_size((tmp_path / "render.png").read_bytes()) == (32, 18)


def test_screenshot_is_a_png(blender: Blender) -> None:
    assert expected.png_size(blender.screenshot(width=32, height=18))[0] > 0


def test_export_then_import(blender: Blender, tmp_path: Path) -> None:
    assert blender.export("glb")[:4] == b"glTF"
    obj = blender.export("obj", objects=["Cube"])
    assert b"\nv " in obj
    with pytest.raises(BadRequest):
        blender.export("no-such-format")
    created = blender.import_file(obj, format="obj")
    path = tmp_path / "cube.obj"
    path.write_bytes(obj)
    try:
        created += blender.import_file(path)  # the format comes from the file name
        assert len(created) == 2 and not set(created) & expected.DEFAULT_OBJECTS
        assert blender.scene()["total"] == 5
    finally:
        blender.exec(expected.REMOVE_OBJECTS, args={"names": created})
    with pytest.raises(BadRequest):
        blender.import_file(b"not a model", format="glb")
