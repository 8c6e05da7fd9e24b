"""Tools that check work (SPEC 3.10), against a real Blender in every mode: `inspect` (counts
after modifiers, world boxes, non-manifold edges, unapplied scale, missing files),
`checkpoint` / `restore_checkpoint`, and `screenshot` with `views` (one labelled contact
sheet). Calls go as raw JSON-RPC: inspect declares an outputSchema, and the answer is
checked against it here."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import numpy as np
import pytest
from PIL import Image

from blender_http_addon.mcp import tools
from tests.blender import servers

pytestmark = pytest.mark.timeout(300)

SETUP = """
for obj in [o for o in D.objects if o.name.startswith('Check')]:
    D.objects.remove(obj)
bpy.ops.mesh.primitive_cube_add(location=(0, 0, 0))
sub = C.active_object
sub.name = 'CheckSub'
sub.modifiers.new('subdivide', 'SUBSURF').levels = 2
bpy.ops.mesh.primitive_cube_add(location=(0, 5, 0))
hole = C.active_object
hole.name = 'CheckHole'
import bmesh
bm = bmesh.new()
bm.from_mesh(hole.data)
bm.faces.ensure_lookup_table()
bmesh.ops.delete(bm, geom=[bm.faces[0]], context='FACES_ONLY')
bm.to_mesh(hole.data)
bm.free()
bpy.ops.mesh.primitive_cube_add(location=(10, 0, 0))
stretched = C.active_object
stretched.name = 'CheckStretched'
stretched.scale = (2, 1, 1)
image = D.images.new('CheckMissingTexture', 4, 4)
image.source = 'FILE'
image.filepath = '/nonexistent/blender-http/texture.png'
sorted(o.name for o in D.objects if o.name.startswith('Check'))
"""


def call(server: servers.Running, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The CallToolResult of one tools/call."""
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": name, "arguments": arguments}}
    headers = {"Accept": "application/json, text/event-stream"}
    if server.token:
        headers["Authorization"] = f"Bearer {server.token}"
    answer = httpx.post(server.url + "/mcp", json=message, timeout=240, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def value(result: dict[str, Any]) -> Any:
    texts = [item["text"] for item in result["content"] if item["type"] == "text"]
    return json.loads(texts[-1])


def run(server: servers.Running, code: str) -> Any:
    result = call(server, "exec_python", {"code": code})
    assert not result["isError"], result
    return value(result)["result"]


def image(result: dict[str, Any]) -> Image.Image:
    pictures = [item for item in result["content"] if item["type"] == "image"]
    assert len(pictures) == 1 and pictures[0]["mimeType"] == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(pictures[0]["data"]))).convert("RGB")


def test_inspect_counts_after_modifiers_and_finds_problems(mcp_server: servers.Running) -> None:
    assert run(mcp_server, SETUP) == ["CheckHole", "CheckStretched", "CheckSub"]
    result = call(mcp_server, "inspect", {"objects": ["CheckSub", "CheckHole", "CheckStretched"]})
    assert not result["isError"], result
    found = value(result)
    jsonschema.validate(found, tools.BY_NAME["inspect"]["outputSchema"])
    assert (found["total"], found["next_offset"]) == (3, None)
    objects = {obj["name"]: obj for obj in found["objects"]}
    assert [obj["name"] for obj in found["objects"]] == ["CheckHole", "CheckStretched", "CheckSub"]

    sub = objects["CheckSub"]
    assert sub["mesh"]["polygons"] == 6
    assert (sub["evaluated"]["polygons"], sub["evaluated"]["vertices"]) == (96, 98)
    assert sub["evaluated"]["triangles"] == 192
    assert (sub["evaluated"]["non_manifold_edges"], sub["evaluated"]["zero_area_faces"]) == (0, 0)
    assert sub["modifiers"] == ["SUBSURF"] and sub["issues"] == []

    hole = objects["CheckHole"]
    assert (hole["mesh"]["polygons"], hole["evaluated"]["non_manifold_edges"]) == (5, 4)
    assert hole["issues"] and "4 non-manifold edges" in hole["issues"][0]
    assert hole["bounds"]["min"] == [-1.0, 4.0, -1.0] and hole["bounds"]["max"] == [1.0, 6.0, 1.0]

    stretched = objects["CheckStretched"]
    assert stretched["unapplied_scale"] is True and stretched["scale"] == [2.0, 1.0, 1.0]
    assert "unapplied scale" in stretched["issues"][0]
    assert stretched["bounds"] == {"min": [8.0, -1.0, -1.0], "max": [12.0, 1.0, 1.0],
                                   "size": [4.0, 2.0, 2.0]}
    assert not sub["unapplied_scale"]

    missing = [entry for entry in found["missing_files"] if entry["name"] == "CheckMissingTexture"]
    assert missing == [{"type": "image", "name": "CheckMissingTexture",
                        "path": "/nonexistent/blender-http/texture.png",
                        "absolute": "/nonexistent/blender-http/texture.png"}]
    assert found["libraries"] == [] and found["libraries_total"] == 0


def test_inspect_pages_and_refuses_unknown_names(mcp_server: servers.Running) -> None:
    run(mcp_server, SETUP)
    page = value(call(mcp_server, "inspect", {"type": "MESH", "limit": 1}))
    assert page["objects"][0]["type"] == "MESH" and page["next_offset"] == 1
    assert page["total"] == run(mcp_server, "sum(1 for o in C.scene.objects if o.type == 'MESH')")
    # A page is cut short where more objects would pass the budget, and says where to go on.
    run(mcp_server, "for i in range(30):\n    bpy.ops.mesh.primitive_cube_add(location=(i, 0, 3))\n"
                    "    C.active_object.name = f'CheckMany{i:02d}'")
    small = call(mcp_server, "inspect", {"limit": 1000, "max_chars": 3000})
    text = small["content"][0]["text"]
    short = json.loads(text)
    assert len(text) <= 3000 and 1 <= len(short["objects"]) < short["total"]
    assert short["next_offset"] == len(short["objects"])
    run(mcp_server, "for o in [o for o in D.objects if o.name.startswith('CheckMany')]:\n"
                    "    D.objects.remove(o)")
    wrong = call(mcp_server, "inspect", {"objects": ["CheckSubb"]})
    assert wrong["isError"]
    error = value(wrong)["error"]
    assert error["status"] == 404 and "CheckSub" in error["close_matches"]


def test_checkpoint_and_restore(mcp_server: servers.Running) -> None:
    run(mcp_server, SETUP + "\nD.objects['CheckSub']['note'] = 'kept'\n"
                            "D.objects['CheckSub'].location = (1.5, 2.5, 3.5)\n")
    file_before = value(call(mcp_server, "blender_info", {}))["file"]
    saved = call(mcp_server, "checkpoint", {"name": "check-before"})
    assert not saved["isError"], saved
    answer = value(saved)
    assert (answer["name"], answer["path"]) == ("check-before", "checkpoints/check-before.blend")
    assert answer["size"] > 0 and "check-before" in answer["checkpoints"]
    # A copy: Blender's open file is what it was.
    assert value(call(mcp_server, "blender_info", {}))["file"] == file_before

    run(mcp_server, "for n in ('CheckSub', 'CheckHole'):\n    D.objects.remove(D.objects[n])\n"
                    "bpy.ops.mesh.primitive_uv_sphere_add()\nC.active_object.name = 'CheckLater'")
    restored = call(mcp_server, "restore_checkpoint", {"name": "check-before"})
    assert not restored["isError"], restored
    assert value(restored)["file"].endswith("checkpoints/check-before.blend")
    names = run(mcp_server, "sorted(o.name for o in D.objects if o.name.startswith('Check'))")
    assert names == ["CheckHole", "CheckStretched", "CheckSub"]
    sub = run(mcp_server, "o = D.objects['CheckSub']\n(list(o.location), o['note'], o.modifiers[0].levels)")
    assert sub == [[1.5, 2.5, 3.5], "kept", 2]
    # The server goes on serving after the file load, over HTTP and MCP alike.
    with mcp_server.client() as client:
        assert client.post("/exec", json={"code": "6 * 7"}).json()["result"] == 42
    assert value(call(mcp_server, "inspect", {"objects": ["CheckSub"]}))["objects"][0]["evaluated"][
        "polygons"] == 96

    unknown = call(mcp_server, "restore_checkpoint", {"name": "check-befor"})
    assert unknown["isError"] and value(unknown)["error"]["close_matches"] == ["check-before"]
    for bad_name in ("../escape", ".hidden"):
        bad = call(mcp_server, "checkpoint", {"name": bad_name})
        assert bad["isError"] and value(bad)["error"]["status"] == 400


# 4 views on a sheet of longest side 512: 2 x 2 cells of 253 pixels, 2 pixels apart.
SHEET = 512
CELL = (SHEET - 3 * 2) // 2


def test_views_make_one_labelled_contact_sheet(mcp_server: servers.Running) -> None:
    run(mcp_server, SETUP + "\nbpy.ops.mesh.primitive_cone_add(location=(0, -5, 0))\n"
                            "C.active_object.name = 'CheckCone'\n")
    result = call(mcp_server, "screenshot", {"views": ["front", "right", "top", "camera"],
                                             "max_size": SHEET})
    assert not result["isError"], result
    details = value(result)
    assert details["source"] == "views" and (details["columns"], details["rows"]) == (2, 2)
    assert [(v["view"], v["row"], v["column"]) for v in details["views"]] == [
        ("front", 0, 0), ("right", 0, 1), ("top", 1, 0), ("camera", 1, 1)]
    sheet = image(result)
    assert sheet.size == (SHEET, SHEET)
    cells = {name: sheet.crop((2 + column * (CELL + 2), 2 + row * (CELL + 2),
                               2 + column * (CELL + 2) + CELL, 2 + row * (CELL + 2) + CELL))
             for name, row, column in (("front", 0, 0), ("right", 0, 1), ("top", 1, 0), ("camera", 1, 1))}
    # Each view is a picture of its own: the pixels differ between any two.
    names = list(cells)
    for i, one in enumerate(names):
        for other in names[i + 1:]:
            assert _difference(cells[one], cells[other]) > 2.0, (one, other)
    # Each carries its label: white letters on black in its top-left corner.
    for name, cell in cells.items():
        corner = np.asarray(cell.crop((0, 0, 60, 24))).reshape(-1, 3).tolist()
        assert [0, 0, 0] in corner and [255, 255, 255] in corner, name


def test_views_and_area_are_checked(mcp_server: servers.Running) -> None:
    wrong = call(mcp_server, "screenshot", {"views": ["front", "diagonal"]})
    assert wrong["isError"] and "'diagonal'" in value(wrong)["error"]["message"]
    both = call(mcp_server, "screenshot", {"views": ["top"], "area": "WINDOW"})
    assert both["isError"] and "not both" in value(both)["error"]["message"]
    if mcp_server.mode != "gui":
        windowless = call(mcp_server, "screenshot", {"area": "OUTLINER"})
        assert windowless["isError"] and "views" in value(windowless)["error"]["message"]


def _difference(one: Image.Image, other: Image.Image) -> float:
    """The mean absolute difference of two pictures' pixels (0-255)."""
    return float(np.abs(np.asarray(one, dtype=float) - np.asarray(other, dtype=float)).mean())


AREAS = ("w = C.window_manager.windows[0]\n"
         "[w.width, w.height, [[a.type, a.width, a.height] for a in w.screen.areas]]")


def test_area_screenshots_in_the_gui(gui_server: servers.Running) -> None:
    width, height, areas = run(gui_server, AREAS)
    sizes = {kind: (w, h) for kind, w, h in areas}
    largest = max(areas, key=lambda area: area[1] * area[2])
    assert "NODE_EDITOR" not in sizes and "OUTLINER" in sizes and largest[0] == "VIEW_3D"

    outliner = call(gui_server, "screenshot", {"area": "OUTLINER", "max_size": 4096})
    assert not outliner["isError"], outliner
    assert image(outliner).size == sizes["OUTLINER"]
    assert value(outliner)["area"] == "OUTLINER" and value(outliner)["shown_for_the_picture"] is False

    viewport = image(call(gui_server, "screenshot", {"area": "view_3d", "max_size": 4096}))
    # An editor not on screen is shown in the largest area for the picture, then put back.
    nodes = call(gui_server, "screenshot", {"area": "NODE_EDITOR", "max_size": 4096})
    assert not nodes["isError"], nodes
    assert value(nodes)["shown_for_the_picture"] is True
    node_picture = image(nodes)
    assert node_picture.size == viewport.size == sizes["VIEW_3D"]
    assert _difference(node_picture, viewport) > 2.0
    assert run(gui_server, AREAS)[2] == areas

    window = call(gui_server, "screenshot", {"area": "WINDOW", "max_size": 4096})
    assert image(window).size == (width, height)
    shrunk = call(gui_server, "screenshot", {"area": "WINDOW", "max_size": 640})
    assert max(image(shrunk).size) == 640

    unknown = call(gui_server, "screenshot", {"area": "NOPE_EDITOR"})
    assert unknown["isError"] and "NODE_EDITOR" in value(unknown)["error"]["message"]


def test_undo_works_after_a_restore_in_the_gui(gui_server: servers.Running) -> None:
    assert value(call(gui_server, "checkpoint", {"name": "gui-undo"}))["name"] == "gui-undo"
    assert not call(gui_server, "restore_checkpoint", {"name": "gui-undo"})["isError"]
    for name in ("AfterRestoreA", "AfterRestoreB"):
        run(gui_server, f"bpy.ops.mesh.primitive_cube_add()\nC.active_object.name = {name!r}")
    run(gui_server, "win = bpy.context.window_manager.windows[0]\n"
                    "with bpy.context.temp_override(window=win, screen=win.screen):\n"
                    "    bpy.ops.ed.undo()\n")
    assert run(gui_server, "sorted(o.name for o in D.objects if o.name.startswith('AfterRestore'))") == [
        "AfterRestoreA"]


LINK = """
import os
for obj in [o for o in D.objects if o.name.startswith('CheckLinked')]:
    D.objects.remove(obj)
for library in list(D.libraries):
    D.libraries.remove(library)
bpy.ops.mesh.primitive_cube_add(location=(0, 0, 7))
C.active_object.name = 'CheckLinkedBox'
path = os.path.join(WORKDIR, 'parts.blend')
D.libraries.write(path, {C.active_object})
D.objects.remove(D.objects['CheckLinkedBox'])
with D.libraries.load(path, link=True) as (source, target):
    target.objects = ['CheckLinkedBox']
C.scene.collection.objects.link(target.objects[0])
path
"""


def test_inspect_lists_linked_libraries_and_missing_ones(mcp_server: servers.Running) -> None:
    path = run(mcp_server, LINK)
    found = value(call(mcp_server, "inspect", {"objects": ["CheckLinkedBox"]}))
    assert found["libraries"] == [{"name": "parts.blend", "path": path, "missing": False, "objects": 1}]
    assert found["objects"][0]["evaluated"]["polygons"] == 6
    assert not [entry for entry in found["missing_files"] if entry["type"] == "library"]
    run(mcp_server, f"import os\nos.remove({path!r})")
    gone = value(call(mcp_server, "inspect", {"objects": ["CheckLinkedBox"]}))
    assert gone["libraries"][0]["missing"] is True
    assert [entry for entry in gone["missing_files"] if entry["type"] == "library"] == [
        {"type": "library", "name": "parts.blend", "path": path, "absolute": path}]
    run(mcp_server, "C.scene.collection.objects.unlink(D.objects['CheckLinkedBox'])\n"
                    "for library in list(D.libraries):\n    D.libraries.remove(library)")
