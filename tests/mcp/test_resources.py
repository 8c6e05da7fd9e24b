"""MCP resources over the work folder (SPEC 3.10) against a real module-mode Blender through
the official SDK client: render and export_scene link their files, resources/read answers
them (a PNG as a base64 blob, text as text), resources/list pages the folder with a cursor,
the template names any file; links to outside, unknown URIs, bad cursors and files past the
read bound get clear JSON-RPC errors, and the server stays up."""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from blender_http_addon.mcp import resource_uris, resources
from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import http_client, png_of, run, text_of


def _run(server: servers.Running, check: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with http_client(server.url + "/mcp", TOKEN) as client:
            await check(client)
    run(main)


async def _work(client: Client) -> Path:
    """The server's work folder."""
    return Path(text_of(await client.call_tool("list_files", {}))["root"])


def _links(result: Any) -> list[Any]:
    return [item for item in result.content if item.type == "resource_link"]


def test_render_and_export_link_their_files_and_read_returns_them(module_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        work = await _work(client)
        rendered = await client.call_tool("render", {"engine": "BLENDER_WORKBENCH", "width": 64,
                                                     "height": 48})
        assert not rendered.is_error
        png, size = png_of(rendered)
        assert size == (64, 48)
        details = text_of(rendered)
        (link,) = _links(rendered)
        assert link.name == details["path"] and link.uri == resource_uris.uri(details["path"])
        assert link.mime_type == "image/png" and link.size == details["size"]
        read = await client.read_resource(link.uri, cache_mode="bypass")
        (content,) = read.contents
        assert content.mime_type == "image/png"
        data = base64.b64decode(content.blob)  # type: ignore[union-attr]
        assert data == (work / details["path"]).read_bytes() == png  # small enough to come inline whole

        exported = await client.call_tool("export_scene", {"format": "gltf", "path": "out/scene one.gltf"})
        assert not exported.is_error
        (link,) = _links(exported)
        assert link.uri == "blender-http://work/out/scene%20one.gltf" and link.mime_type == "model/gltf+json"
        read = await client.read_resource(link.uri, cache_mode="bypass")
        (content,) = read.contents
        assert content.text == (work / "out" / "scene one.gltf").read_text()  # type: ignore[union-attr]
        assert link.size == (work / "out" / "scene one.gltf").stat().st_size

        templates = (await client.list_resource_templates(cache_mode="bypass")).resource_templates
        assert [t.uri_template for t in templates] == ["blender-http://work/{path}"]
        # a "/" written as %2F, as RFC 6570 fills {path}, names the same file
        same = await client.read_resource("blender-http://work/out%2Fscene%20one.gltf", cache_mode="bypass")
        assert same.contents[0].text == content.text  # type: ignore[union-attr]
    _run(module_server, check)


def test_list_pages_the_work_folder_once_each_in_order(module_server: servers.Running) -> None:
    names = [f"listed/{i // 50:02d}/file-{i:03d}.txt" for i in range(230)]

    async def check(client: Client) -> None:
        work = await _work(client)
        for index, name in enumerate(names):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text("x" * index)
        (work / "listed" / "outside-link.txt").symlink_to("/etc/hostname")
        seen: list[Any] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = await client.list_resources(cursor=cursor, cache_mode="bypass")
            assert len(page.resources) <= resources.PAGE
            seen += page.resources
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        paths = [item.name for item in seen]
        assert len(paths) == len(set(paths)) and pages >= 3
        ours = [item for item in seen if item.name.startswith("listed/")]
        assert [item.name for item in ours] == names  # each once, in order, no link
        assert [item.size for item in ours] == list(range(230))
        assert all(item.mime_type == "text/plain" and item.uri == resource_uris.uri(item.name)
                   for item in ours)
        with pytest.raises(MCPError) as refused:
            await client.list_resources(cursor="not-a-cursor", cache_mode="bypass")
        assert refused.value.error.code == -32602 and "cursor" in refused.value.error.message
    _run(module_server, check)


def test_reads_outside_or_past_the_bounds_are_refused_clearly(module_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        work = await _work(client)
        (work / "escape.txt").symlink_to("/etc/hostname")
        with (work / "big.bin").open("wb") as out:
            out.truncate(resources.MAX_READ_BYTES + 1)
        for uri, code, words in [
                ("blender-http://work/escape.txt", -32602, "symbolic link"),
                ("blender-http://work/no/such.txt", -32002, "no file"),
                ("blender-http://work/../etc/hostname", -32602, "resource"),
                ("file:///etc/hostname", -32602, "not a resource of this server"),
                ("blender-http://work/big.bin", -32602, "read_file")]:
            with pytest.raises(MCPError) as refused:
                await client.read_resource(uri, cache_mode="bypass")
            assert refused.value.error.code == code, (uri, refused.value.error)
            assert words in refused.value.error.message, (uri, refused.value.error.message)
        assert (await client.call_tool("blender_info", {})).structured_content["mode"] == "module"
        os.unlink(work / "big.bin")
    _run(module_server, check)
