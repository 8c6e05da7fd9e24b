"""The MCP Inspector CLI (npm, the TypeScript SDK's client) reads typed results and the
work folder's resources: get_context's structuredContent, a render's resource_link read back
with resources/read, resources/list and resources/templates/list."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from blender_http_addon.mcp import resource_uris
from tests.blender import servers
from tests.mcp import inspector
from tests.mcp.conftest import TOKEN


def _cli(bin_dir: Path, server: servers.Running, *args: str) -> dict:
    return inspector.call(bin_dir, server.url + "/mcp", TOKEN, *args)


def test_inspector_gets_typed_results_and_reads_resources(inspector_bin: Path,
                                                          module_server: servers.Running) -> None:
    listed = _cli(inspector_bin, module_server, "--method", "tools/list")
    typed = {tool["name"] for tool in listed["tools"] if "outputSchema" in tool}
    assert typed == {"blender_info", "get_scene", "get_object", "get_context", "get_job", "inspect"}
    context = _cli(inspector_bin, module_server, "--method", "tools/call", "--tool-name", "get_context")
    assert context["structuredContent"] == json.loads(context["content"][0]["text"])
    assert context["structuredContent"]["scene"] == "Scene"

    rendered = _cli(inspector_bin, module_server, "--method", "tools/call", "--tool-name", "render",
                    "--tool-arg", "engine=BLENDER_WORKBENCH", "--tool-arg", "width=32",
                    "--tool-arg", "height=32")
    assert not rendered.get("isError"), rendered
    (link,) = [item for item in rendered["content"] if item["type"] == "resource_link"]
    (text,) = [item["text"] for item in rendered["content"] if item["type"] == "text"]
    path = json.loads(text)["path"]
    assert link["uri"] == resource_uris.uri(path) and link["mimeType"] == "image/png"
    read = _cli(inspector_bin, module_server, "--method", "resources/read", "--uri", link["uri"])
    (content,) = read["contents"]
    assert base64.b64decode(content["blob"])[:8] == b"\x89PNG\r\n\x1a\n" and content["uri"] == link["uri"]
    assert len(base64.b64decode(content["blob"])) == link["size"]

    resources = _cli(inspector_bin, module_server, "--method", "resources/list")
    items = resources["resources"]
    assert items and all(item["uri"] == resource_uris.uri(item["name"]) for item in items)
    if "nextCursor" not in resources:  # one page: the whole folder (other tests may fill more)
        assert link["uri"] in {item["uri"] for item in items}
    templates = _cli(inspector_bin, module_server, "--method", "resources/templates/list")
    assert [t["uriTemplate"] for t in templates["resourceTemplates"]] == [resource_uris.TEMPLATE]
