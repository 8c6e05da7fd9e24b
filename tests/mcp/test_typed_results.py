"""Typed results (SPEC 3.10) against a real module-mode Blender through the official SDK
client, which itself checks every structuredContent against the tool's outputSchema: each
typed tool's answers on several fixture scenes (empty, default, many objects, a dense mesh),
whole and cut to a small max_chars, validate against its schema (jsonschema too) and are
the very JSON of the text beside them. Clients of protocol versions before 2025-06-18 get
neither outputSchema nor structuredContent nor resource_link."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
from mcp import Client

from benchmarks import fixture_scenes as scenes
from blender_http_addon.mcp import jsonrpc, tools
from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import http_client, run, text_of

TYPED = {"blender_info", "get_scene", "get_object", "get_context", "get_job", "inspect"}


def _run(server: servers.Running, check: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with http_client(server.url + "/mcp", TOKEN) as client:
            await check(client)
    run(main)


def _checked(result: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """A typed call's structuredContent, once it is checked: no error, the same JSON as its
    text, valid against the schema."""
    assert not result.is_error, result
    structured = result.structured_content
    assert structured == text_of(result)
    jsonschema.Draft202012Validator(schema).validate(structured)
    return dict(structured)


async def _typed_answers(client: Client, schemas: dict[str, dict[str, Any]], max_chars: int
                         ) -> dict[str, dict[str, Any]]:
    """Every typed tool's answer on the scene as it is now."""
    async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return _checked(await client.call_tool(name, {**arguments, "max_chars": max_chars}), schemas[name])

    out = {"blender_info": await call("blender_info", {}), "get_context": await call("get_context", {}),
           "get_scene": await call("get_scene", {}),
           "get_scene_all": await call("get_scene", {"limit": 1000}),
           "inspect": await call("inspect", {}), "inspect_all": await call("inspect", {"limit": 1000})}
    names = [obj["name"] for obj in out["get_scene"].get("objects", []) if isinstance(obj, dict)]
    if names:
        out["get_object"] = await call("get_object", {"name": names[-1]})
    job = text_of(await client.call_tool("submit_job", {"code": "[o.name for o in D.objects]",
                                                        "full": True}))
    out["get_job"] = await call("get_job", {"job_id": job["id"], "wait": 60})
    return out


def test_every_typed_answer_fits_its_schema_on_every_fixture_scene(module_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        schemas = {name: tool.output_schema for name, tool in listed.items() if tool.output_schema}
        assert set(schemas) == TYPED
        for schema in schemas.values():
            jsonschema.Draft202012Validator.check_schema(schema)
        for name, code, args in scenes.fixtures(objects=1000, vertices=1_000_000):
            made = await client.call_tool("exec_python", {"code": code, "args": args})
            assert not made.is_error, (name, text_of(made))
            whole = await _typed_answers(client, schemas, tools.DEFAULT_MAX_CHARS)
            cut = await _typed_answers(client, schemas, tools.MIN_MAX_CHARS)
            count = len(whole["get_scene_all"]["objects"]) if whole["get_scene_all"]["total"] else 0
            if name == "empty":
                assert whole["blender_info"]["objects"] == 0 and whole["get_scene"]["objects"] == []
                assert "get_object" not in whole and whole["get_context"]["selected_objects"] == []
            elif name == "default":
                assert sorted(o["type"] for o in whole["get_scene"]["objects"]) == ["CAMERA", "LIGHT", "MESH"]
                assert whole["get_scene"]["camera"] == "Camera" and whole["get_scene"]["next_offset"] is None
            elif name.endswith("objects"):
                assert whole["get_scene"]["total"] == 1001 and whole["get_context"]["active_object"] == \
                    "Object.0999"  # and the camera
                # the page of 1000 is cut short to fit, and says where the next one starts
                assert 0 < count < 1000 and whole["get_scene_all"]["next_offset"] == count
                assert len(whole["get_context"]["selected_objects"]) == 1000
                assert "cut" in cut["get_context"] and "cut" not in whole["get_context"]
            else:
                assert whole["get_object"]["object"]["mesh"]["vertices"] == 1_000_000
            assert whole["get_job"]["status"] == "succeeded"
            names = whole["get_job"]["envelope"]["result"]
            assert len(names) == whole["get_scene"]["total"]
            assert sorted(names)[:count] == [o["name"] for o in whole["get_scene_all"]["objects"]]
            for answer in whole.values():
                assert "cut" not in answer or answer is whole["get_scene_all"]
    _run(module_server, check)


def test_typed_answers_fit_their_schemas_in_every_mode(mcp_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        schemas = {tool.name: tool.output_schema for tool in (await client.list_tools()).tools
                   if tool.output_schema}
        whole = await _typed_answers(client, schemas, tools.DEFAULT_MAX_CHARS)
        await _typed_answers(client, schemas, tools.MIN_MAX_CHARS)
        assert whole["blender_info"]["mode"] == mcp_server.mode
        assert whole["blender_info"]["background"] is (mcp_server.mode != "gui")  # bpy has no window
        assert whole["get_context"]["scene"] == whole["get_scene"]["name"] == whole["blender_info"]["scene"]
    _run(mcp_server, check)


def test_a_cut_typed_answer_links_the_whole_which_resources_read_returns(
        module_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        made = await client.call_tool("exec_python", {"code": scenes.MANY, "args": {"count": 300}})
        assert not made.is_error
        answer = await client.call_tool("get_context", {"max_chars": tools.MIN_MAX_CHARS})
        structured = answer.structured_content
        assert structured is not None and structured["mode"] == "OBJECT"
        selected = structured["selected_objects"]
        assert selected[0] == "Object.0000" and selected[-1].startswith("[cut here: ")
        links = [item for item in answer.content if item.type == "resource_link"]
        assert len(links) == 1 and links[0].name == structured["cut"]["file"]
        assert links[0].mime_type == "application/json" and links[0].size == structured["cut"]["bytes"]
        whole = await client.read_resource(str(links[0].uri), cache_mode="bypass")
        assert len(whole.contents) == 1
        full = json.loads(whole.contents[0].text)  # type: ignore[union-attr]
        assert full["selected_objects"] == [f"Object.{i:04d}" for i in range(300)]
        assert {key: value for key, value in full.items() if key != "selected_objects"} == \
            {key: value for key, value in structured.items() if key not in ("selected_objects", "cut")}
    _run(module_server, check)


def _post(server: servers.Running, method: str, params: dict[str, Any], version: str | None) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    answer = httpx.post(server.url + "/mcp", headers=headers, timeout=60.0,
                        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def test_only_clients_that_know_them_get_output_schemas_and_structured_content(
        module_server: servers.Running) -> None:
    for version in (*jsonrpc.VERSIONS, None):
        knows = version is not None and version >= "2025-06-18"
        listed = _post(module_server, "tools/list", {}, version)["tools"]
        assert {tool["name"] for tool in listed if "outputSchema" in tool} == (TYPED if knows else set())
        info = _post(module_server, "tools/call", {"name": "blender_info", "arguments": {}}, version)
        assert ("structuredContent" in info) is knows
        assert json.loads(info["content"][0]["text"])["mode"] == "module"
        if knows:
            assert info["structuredContent"] == json.loads(info["content"][0]["text"])
        cut = _post(module_server, "tools/call", {"name": "exec_python", "arguments": {
            "code": "'x' * 5000", "max_chars": 1000}}, version)
        kinds = [item["type"] for item in cut["content"]]
        assert kinds == (["text", "resource_link"] if knows else ["text"])
        assert "structuredContent" not in cut  # exec_python's answer has no fixed shape
