"""The official MCP SDK client over streamable HTTP against the add-on's /mcp in every mode:
initialize, list the tools, call each one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client

from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import SPEC_TOOLS, http_client, png_of, run, text_of


def _run(server: servers.Running, check: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with http_client(server.url + "/mcp", TOKEN) as client:
            await check(client)
    run(main)


def test_tools_are_listed_with_schemas_and_annotations(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        listed = (await client.list_tools()).tools
        assert {tool.name for tool in listed} == SPEC_TOOLS
        for tool in listed:
            assert tool.title and tool.description and tool.input_schema["type"] == "object"
            for prop in tool.input_schema["properties"].values():
                assert prop["description"]
            hints = tool.annotations
            assert hints is not None
            assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint)
        hints_of = {tool.name: tool.annotations for tool in listed}
        assert getattr(hints_of["get_scene"], "read_only_hint", None) is True
        assert getattr(hints_of["exec_python"], "destructive_hint", None) is True
    _run(mcp_server, check)


def test_exec_python_answers_its_result_and_errors_as_tool_errors(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        done = await client.call_tool("exec_python", {"code": "x = args['n'] * 2\nx + 1", "args": {"n": 20}})
        assert not done.is_error and text_of(done)["result"] == 41
        await client.call_tool("exec_python", {"code": "kept = 5", "session": "agent"})
        again = await client.call_tool("exec_python", {"code": "kept", "session": "agent"})
        assert text_of(again)["result"] == 5
        failed = await client.call_tool("exec_python", {"code": "print('before')\n\nraise KeyError('nope')"})
        assert failed.is_error
        answer = text_of(failed)
        error = answer["error"]
        assert error["type"] == "KeyError" and error["line"] == 3 and "KeyError" in error["traceback"]
        assert answer["stdout"] == "before\n" and "kept" in error["changes"]
    _run(mcp_server, check)


def test_scene_tools(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        made = await client.call_tool("exec_python", {"code": (
            "bpy.ops.mesh.primitive_cube_add(location=(0, 0, 3))\nC.active_object.name = 'McpBox'\n"
            "C.active_object.name")})
        assert text_of(made)["result"] == "McpBox"
        info = text_of(await client.call_tool("blender_info", {}))
        assert info["mode"] == mcp_server.mode and info["version"] and info["engines"]
        assert "unsaved_changes" in info and info["render"]["resolution"]
        context = text_of(await client.call_tool("get_context", {}))
        assert context["active_object"] == "McpBox" and "McpBox" in context["selected_objects"]
        assert context["mode"] == "OBJECT" and context["camera"] == "Camera" and context["frame"] == 1
        page = text_of(await client.call_tool("get_scene", {"limit": 1, "offset": 0}))
        assert page["total"] >= 2 and len(page["objects"]) == 1
        box = text_of(await client.call_tool("get_object", {"name": "McpBox"}))
        assert box["object"]["location"] == [0.0, 0.0, 3.0]
        missing = await client.call_tool("get_object", {"name": "McpBx"})
        assert missing.is_error and "McpBox" in text_of(missing)["error"]["close_matches"]
    _run(mcp_server, check)


def test_images_come_as_png_of_the_asked_size(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        shot = await client.call_tool("screenshot", {"max_size": 320})
        _, size = png_of(shot)
        assert max(size) == 320
        expected = "viewport" if mcp_server.mode == "gui" else "render"
        assert text_of(shot)["source"] == expected
        rendered = await client.call_tool("render", {"engine": "BLENDER_WORKBENCH", "width": 400,
                                                     "height": 300, "max_size": 200})
        _, size = png_of(rendered)
        assert size == (200, 150)
        details = text_of(rendered)
        assert (details["width"], details["height"]) == (400, 300)
        full = text_of(await client.call_tool("read_file", {"path": details["path"]}))
        assert full["encoding"] == "base64" and full["size"] == details["size"]
    _run(mcp_server, check)


def test_files_export_and_import(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        wrote = text_of(await client.call_tool("write_file", {"path": "notes/a.txt", "content": "héllo"}))
        assert wrote["size"] == len("héllo".encode())
        read = text_of(await client.call_tool("read_file", {"path": "notes/a.txt"}))
        assert read == {"path": "notes/a.txt", "size": 6, "offset": 0, "length": 6, "next_offset": None,
                        "encoding": "utf-8", "content": "héllo"}
        # What write_file's description tells the model: WORKDIR is the folder in exec_python.
        seen = text_of(await client.call_tool("exec_python", {"code": (
            "import os\nopen(os.path.join(WORKDIR, 'notes/a.txt'), encoding='utf-8').read()")}))
        assert seen["result"] == "héllo"
        await client.call_tool("write_file", {"path": "b.bin", "content": "AAEC/w==", "encoding": "base64"})
        assert text_of(await client.call_tool("read_file", {"path": "b.bin"}))["content"] == "AAEC/w=="
        await client.call_tool("exec_python", {"code": "bpy.ops.mesh.primitive_cube_add()\n"
                                                       "C.active_object.name = 'Shipped'"})
        exported = text_of(await client.call_tool("export_scene", {"format": "obj", "objects": ["Shipped"],
                                                                   "path": "out/shipped.obj"}))
        assert exported["path"] == "out/shipped.obj" and exported["size"] > 0
        listed = text_of(await client.call_tool("list_files", {}))
        assert {"notes/a.txt", "b.bin", "out/shipped.obj"} <= {f["path"] for f in listed["files"]}
        imported = text_of(await client.call_tool("import_file", {"path": "out/shipped.obj"}))
        assert "objects" in imported, imported
        assert imported["objects"] and all(name.startswith("Shipped") for name in imported["objects"])
        bad = await client.call_tool("read_file", {"path": "../etc/passwd"})
        assert bad.is_error
    _run(mcp_server, check)


def test_jobs(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        job = text_of(await client.call_tool("submit_job", {"code": "6 * 7"}))
        done = text_of(await client.call_tool("get_job", {"job_id": job["id"], "wait": 30}))
        assert done["status"] == "succeeded" and done["envelope"]["result"] == 42
        forever = "import time\nwhile True: time.sleep(0.01)"
        slow = text_of(await client.call_tool("submit_job", {"code": forever}))
        cancelled = text_of(await client.call_tool("cancel_job", {"job_id": slow["id"]}))
        assert cancelled["status"] in ("cancelled", "running")
        final = text_of(await client.call_tool("get_job", {"job_id": slow["id"], "wait": 30}))
        assert final["status"] == "cancelled"
        unknown = await client.call_tool("get_job", {"job_id": "nope"})
        assert unknown.is_error and text_of(unknown)["error"]["status"] == 404
    _run(mcp_server, check)


def test_api_lookup_matches_the_running_blender(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        found = text_of(await client.call_tool("search_api", {"query": "subdivision modifier"}))
        subsurf = next(r for r in found["results"] if r["name"] == "bpy.types.SubsurfModifier")
        levels = next(p for p in subsurf["properties"] if p["name"] == "levels")
        assert levels["type"] == "INT" and levels["description"]
        op = text_of(await client.call_tool("describe_api", {"name": "bpy.ops.mesh.primitive_cube_add"}))
        params = {p["name"]: p for p in op["parameters"]}
        assert params["size"]["default"] == 2.0 and params["location"]["default"] == [0.0, 0.0, 0.0]
        prop = text_of(await client.call_tool("describe_api", {"name": "SubsurfModifier.levels"}))
        assert prop["name"] == "bpy.types.SubsurfModifier.levels" and prop["default"] == 1
        # a type's every property passes the default budget of an answer: ask for more
        kind = text_of(await client.call_tool("describe_api", {"name": "bpy.types.Object",
                                                               "max_chars": 200_000}))
        assert "location" in {p["name"] for p in kind["properties"]}
        wrong = await client.call_tool("describe_api", {"name": "bpy.types.SubsurfModifer"})
        assert wrong.is_error and "SubsurfModifier" in text_of(wrong)["error"]["close_matches"]
    _run(mcp_server, check)


def test_bad_arguments_are_tool_errors(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        cases: list[tuple[str, dict[str, Any]]] = [
            ("get_scene", {"limit": 0}), ("exec_python", {}), ("get_object", {"name": 3}),
            ("screenshot", {"colour": "red"})]
        for name, arguments in cases:
            answer: Any = await client.call_tool(name, arguments)
            assert answer.is_error, (name, arguments)
            assert text_of(answer)["error"]["type"] == "BadRequest"
    _run(mcp_server, check)
