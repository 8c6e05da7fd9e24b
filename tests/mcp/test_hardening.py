"""/mcp under hostile input, against a real module-mode Blender: strings UTF-8 cannot carry,
unbounded batches and queries, oversized names, unknown protocol versions. Each gets a
bounded, clear answer; a bystander's exec stays answered meanwhile."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from blender_http_addon.mcp import jsonrpc, tools
from tests.blender import servers
from tests.mcp.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}", "MCP-Protocol-Version": "2025-11-25"}
pytestmark = pytest.mark.timeout(180)


def call(server: servers.Running, name: str, arguments: dict[str, Any], **headers: str) -> httpx.Response:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": name, "arguments": arguments}}
    # json.dumps escapes what UTF-8 cannot carry (httpx's json= would refuse a lone surrogate).
    return httpx.post(server.url + "/mcp", content=json.dumps(message).encode(), timeout=60,
                      headers={**AUTH, "Content-Type": "application/json", **headers})


@pytest.fixture
def bystander(module_server: servers.Running) -> Iterator[list[float]]:
    """Execs sent every 50 ms during the test; yields how long each took."""
    took: list[float] = []
    stop = threading.Event()

    def loop() -> None:
        with httpx.Client(base_url=module_server.url, headers=AUTH, timeout=30) as http:
            while not stop.is_set():
                started = time.monotonic()
                assert http.post("/exec", content=b"1 + 1").json()["result"] == 2
                took.append(time.monotonic() - started)
                stop.wait(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield took
    stop.set()
    thread.join(30)
    assert took, "the bystander never got an answer"


def test_a_lone_surrogate_travels_escaped_never_as_a_500(module_server: servers.Running) -> None:
    ping = httpx.post(module_server.url + "/mcp", headers={**AUTH, "Content-Type": "application/json"},
                      content=b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}')
    assert ping.status_code == 200 and ping.json() == {"jsonrpc": "2.0", "id": "\ud800", "result": {}}
    name = call(module_server, "exec_python", {"code": "import os\nos.fsdecode(b'report\\xff.txt')"})
    assert name.status_code == 200, name.text
    text = name.json()["result"]["content"][0]["text"]
    assert json.loads(text)["result"] == "report\udcff.txt"
    refused = call(module_server, "write_file", {"path": "s.txt", "content": "a\udcffb"})
    assert refused.status_code == 200 and refused.json()["result"]["isError"] is True
    assert "surrogate" in refused.json()["result"]["content"][0]["text"]


def test_a_batch_is_bounded(module_server: servers.Running) -> None:
    listing = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "list_files", "arguments": {}}}
    batch = [{**listing, "id": i} for i in range(jsonrpc.MAX_BATCH + 1)]
    headers = {**AUTH, "MCP-Protocol-Version": "2025-03-26"}
    refused = httpx.post(module_server.url + "/mcp", json=batch, headers=headers, timeout=60)
    assert refused.status_code == 200
    assert refused.json()["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert f"at most {jsonrpc.MAX_BATCH}" in refused.json()["error"]["message"]
    taken = httpx.post(module_server.url + "/mcp", json=batch[:jsonrpc.MAX_BATCH], headers=headers,
                       timeout=60)
    assert sorted(a["id"] for a in taken.json()) == list(range(jsonrpc.MAX_BATCH))


def test_search_api_is_bounded_and_a_bystander_is_not_kept_waiting(module_server: servers.Running,
                                                                    bystander: list[float]) -> None:
    words = " ".join(["mesh"] * 50_000)
    answer = call(module_server, "search_api", {"query": words}).json()["result"]
    assert answer["isError"] is True
    assert f"at most {tools.MAX_QUERY_WORDS} words" in answer["content"][0]["text"]
    most = " ".join(["bevel"] * tools.MAX_QUERY_WORDS)
    assert call(module_server, "search_api", {"query": most}).json()["result"].get("isError") is not True
    long_name = call(module_server, "describe_api", {"name": "x" * 100_000}).json()["result"]
    assert long_name["isError"] is True


def test_an_unknown_protocol_version_is_400_and_names_are_not_echoed_whole(
        module_server: servers.Running) -> None:
    unknown = httpx.post(module_server.url + "/mcp", headers={**AUTH, "MCP-Protocol-Version": "zzz"},
                         json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert unknown.status_code == 400 and "2025-11-25" in unknown.json()["error"]["message"]
    huge = "m" * 15_000_000
    answer = httpx.post(module_server.url + "/mcp", headers=AUTH, timeout=60,
                        json={"jsonrpc": "2.0", "id": 1, "method": huge}).json()
    assert answer["error"]["code"] == jsonrpc.METHOD_NOT_FOUND
    assert len(answer["error"]["message"]) < 300 and "15000002 characters" in answer["error"]["message"]


def test_a_render_with_a_timeout_stops_sampling_within_it(module_server: servers.Running,
                                                         bystander: list[float]) -> None:
    """A Cycles render is one C call no interrupt stops midway: the call's timeout becomes
    Cycles' time limit, so 65,536 samples (minutes here) end as an image within it."""
    answer = call(module_server, "render", {"engine": "CYCLES", "samples": 1 << 16, "width": 160,
                                            "height": 120, "max_size": 64, "timeout": 2}).json()["result"]
    assert answer.get("isError") is not True, answer
    done = json.loads(next(part["text"] for part in answer["content"] if part["type"] == "text"))
    assert 0 < done["time_limit_s"] <= 2 and done["width"] == 160 and done["height"] == 120
    assert any(part["type"] == "image" for part in answer["content"])
    scene = httpx.post(module_server.url + "/exec", headers=AUTH, timeout=30, content=(
        b"s = bpy.context.scene\n(s.cycles.samples, s.cycles.time_limit, s.render.engine)")).json()
    assert scene["result"][1] == 0.0, "the scene's own time limit is put back"


def test_export_and_import_take_a_timeout(module_server: servers.Running) -> None:
    exported = call(module_server, "export_scene", {"format": "stl", "path": "timed/scene.stl",
                                                     "timeout": 60}).json()["result"]
    assert exported.get("isError") is not True, exported
    imported = call(module_server, "import_file", {"path": "timed/scene.stl", "timeout": 60}).json()["result"]
    assert imported.get("isError") is not True, imported
    too_short = call(module_server, "import_file", {"path": "timed/scene.stl", "timeout": 0}).json()["result"]
    assert too_short["isError"] is True and "timeout" in too_short["content"][0]["text"]


MAKE_FILES = """
import os
root = os.path.join(WORKDIR, 'paged')
for i in range(130):
    folder = os.path.join(root, f'set{i % 3}', 'deep' if i % 5 == 0 else '')
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, f'f{i:03d}.txt'), 'w').close()
sorted(os.path.relpath(os.path.join(d, n), WORKDIR).replace(os.sep, '/')
       for d, _, names in os.walk(root) for n in names)
"""


def _page(server: servers.Running, arguments: dict[str, Any]) -> dict[str, Any]:
    answer = call(server, "list_files", arguments).json()["result"]
    assert answer.get("isError") is not True, answer
    return json.loads(answer["content"][0]["text"])


def test_list_files_comes_in_pages_that_add_up_to_the_folder(module_server: servers.Running) -> None:
    made = call(module_server, "exec_python", {"code": MAKE_FILES}).json()["result"]
    expected = json.loads(made["content"][0]["text"])["result"]
    assert len(expected) == 130
    seen: list[str] = []
    after: str | None = None
    while True:  # pages of 7: each file once, in the folder-by-folder order
        page = _page(module_server, {"limit": 7, **({"after": after} if after else {})})
        assert len(page["files"]) <= 7
        seen += [f["path"] for f in page["files"]]
        after = page["next"]
        if after is None:
            break
    ours = [path for path in seen if path.startswith("paged/")]
    assert sorted(ours) == expected and len(set(seen)) == len(seen)
    assert ours == sorted(ours, key=lambda path: path.split("/"))
    first = _page(module_server, {})  # the default page: FILES_PAGE files, or all there are
    assert [f["path"] for f in first["files"]] == seen[:tools.FILES_PAGE]
    assert (first["next"] is None) == (len(seen) <= tools.FILES_PAGE)
    too_many = call(module_server, "list_files", {"limit": tools.MAX_FILES_PAGE + 1}).json()["result"]
    assert too_many["isError"] is True
