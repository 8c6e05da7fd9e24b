"""The scene and render helpers of the client against the real endpoints (module mode).
The blocking twin, test_scene_sync.py, is generated from this file by scripts/unasync.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import blender_http
from blender_http import BadRequest, NotFound
from tests.client import expected

pytestmark = [pytest.mark.timeout(180)]
pytestmark.append(pytest.mark.anyio)  # unasync: remove


async def test_scene_lists_every_object_paged_and_filtered(ablender: blender_http.AsyncBlender) -> None:
    scene = await ablender.scene()
    assert {o["name"] for o in scene["objects"]} == expected.DEFAULT_OBJECTS
    assert scene["total"] == 3 and scene["camera"] == "Camera"
    assert scene["frame"]["start"] <= scene["frame"]["current"] <= scene["frame"]["end"]
    page = await ablender.scene(limit=1, offset=1)
    assert (page["total"], page["offset"], page["limit"], len(page["objects"])) == (3, 1, 1, 1)
    meshes = await ablender.scene(type="mesh")
    assert [o["name"] for o in meshes["objects"]] == ["Cube"]
    with pytest.raises(BadRequest):
        await ablender.scene(type="NOT_A_TYPE")


async def test_object_in_detail_and_close_matches(ablender: blender_http.AsyncBlender) -> None:
    cube = await ablender.object("Cube")
    assert cube["type"] == "MESH" and cube["mesh"]["vertices"] == 8
    assert len(cube["matrix_world"]) == 4
    with pytest.raises(NotFound) as caught:
        await ablender.object("Cub")
    assert caught.value.body["error"]["close_matches"] == ["Cube"]


async def test_mesh_vertices_as_a_numpy_array(ablender: blender_http.AsyncBlender) -> None:
    local = await ablender.mesh_vertices("Cube")
    assert local.dtype.str == "<f4" and local.shape == (8, 3)
    assert sorted({abs(float(v)) for v in local.ravel()}) == [1.0]
    # matrix_world follows a new location once the view layer updates (Blender's own rule).
    await ablender.exec("D.objects['Cube'].location.x = 10\nC.view_layer.update()")
    try:
        world = await ablender.mesh_vertices("Cube", space="world")
    finally:
        await ablender.exec("D.objects['Cube'].location.x = 0\nC.view_layer.update()")
    assert sorted({float(x) for x in world[:, 0]}) == [9.0, 11.0]
    with pytest.raises(BadRequest) as caught:
        await ablender.mesh_vertices("Light")
    assert caught.value.type == "NotAMesh"


async def test_render_returns_a_png_of_the_asked_size(ablender: blender_http.AsyncBlender) -> None:
    engine = expected.render_engine(await ablender.scene())
    png = await ablender.render(engine=engine, **expected.SMALL_RENDER)
    assert expected.png_size(png) == (32, 18)
    with pytest.raises(BadRequest) as caught:
        await ablender.render(engine="NO_SUCH_ENGINE")
    assert engine in caught.value.message


async def test_render_as_a_job_then_download_the_png(ablender: blender_http.AsyncBlender,
                                                     tmp_path: Path) -> None:
    engine = expected.render_engine(await ablender.scene())
    job = await ablender.submit_render(engine=engine, **expected.SMALL_RENDER)
    rendered = (await job.result(timeout=120)).result
    assert (rendered["width"], rendered["height"]) == (32, 18)
    size = await ablender.download(rendered["path"], tmp_path / "render.png")
    assert size == rendered["size"]
    assert expected.png_size((tmp_path / "render.png").read_bytes()) == (32, 18)


async def test_screenshot_is_a_png(ablender: blender_http.AsyncBlender) -> None:
    assert expected.png_size(await ablender.screenshot(width=32, height=18))[0] > 0


async def test_export_then_import(ablender: blender_http.AsyncBlender, tmp_path: Path) -> None:
    assert (await ablender.export("glb"))[:4] == b"glTF"
    obj = await ablender.export("obj", objects=["Cube"])
    assert b"\nv " in obj
    with pytest.raises(BadRequest):
        await ablender.export("no-such-format")
    created = await ablender.import_file(obj, format="obj")
    path = tmp_path / "cube.obj"
    path.write_bytes(obj)
    try:
        created += await ablender.import_file(path)  # the format comes from the file name
        assert len(created) == 2 and not set(created) & expected.DEFAULT_OBJECTS
        assert (await ablender.scene())["total"] == 5
    finally:
        await ablender.exec(expected.REMOVE_OBJECTS, args={"names": created})
    with pytest.raises(BadRequest):
        await ablender.import_file(b"not a model", format="glb")
