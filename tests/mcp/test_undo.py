"""In a GUI Blender, what one call changes is one undo step: undoing once removes exactly
the last call's object and keeps the one made before it. (The test undoes from code,
as the user's Ctrl-Z would, with the window's context.)"""

from __future__ import annotations

from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import http_client, run, text_of

UNDO = """win = bpy.context.window_manager.windows[0]
with bpy.context.temp_override(window=win, screen=win.screen):
    bpy.ops.ed.undo()
"""
NAMES = "sorted(o.name for o in D.objects if o.name.startswith('Undo'))"


def test_each_call_is_one_undo_step(gui_server: servers.Running) -> None:
    async def main() -> None:
        async with http_client(gui_server.url + "/mcp", TOKEN) as client:
            for name in ("UndoFirst", "UndoSecond"):
                await client.call_tool("exec_python", {"code": (
                    "bpy.ops.mesh.primitive_cube_add()\nC.active_object.name = args['name']"),
                    "args": {"name": name}})
            # No call in between: a read through exec_python is a (harmless) step of its own.
            await client.call_tool("exec_python", {"code": UNDO})
            after = text_of(await client.call_tool("exec_python", {"code": NAMES}))["result"]
            assert after == ["UndoFirst"]
    run(main)


def test_http_exec_is_one_undo_step_too(gui_server: servers.Running) -> None:
    with gui_server.client() as client:
        for name in ("UndoHttpA", "UndoHttpB"):
            client.post("/exec", json={"code": "bpy.ops.mesh.primitive_cube_add()\n"
                                               "C.active_object.name = args['name']", "args": {"name": name}})
        client.post("/exec", json={"code": UNDO})
        names = client.post("/exec", json={"code": "sorted(o.name for o in D.objects "
                                                    "if o.name.startswith('UndoHttp'))"}).json()["result"]
    assert names == ["UndoHttpA"]
