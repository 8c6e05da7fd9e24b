"""Read-only API keys (SPEC 3.10): listed as `read-only:<key>`, such a key reads, renders and
exports through a real gateway and a real worker, gets the read-only MCP tools (tools/list
leaves out tools.READ_ONLY_LEFT_OUT, tools/call refuses them), and gets 403 in the one error
shape on POST /exec, POST /jobs and the other writes; a full key beside it keeps everything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from blender_http_addon.mcp import tools
from blender_http_gateway.edge.auth import KeyCheck, presented, read_only_refusal
from blender_http_gateway.settings import SettingsError, load_settings
from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import WORKER_TOKEN
from tests.mcp.sdk import http_client, run, text_of

FULL = "full-key-5d0c8e2a71b4f3"
READER = "reader-key-9a3f6b1e02c7d4"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gateway(worker: servers.Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    """A gateway with a full key and a read-only one, in front of one real worker."""
    running = gateways.start(tmp_path_factory.mktemp("read-only-gateway"), "--backend", worker.url,
                             key=f"{FULL}, read-only:{READER}", env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["type"] == "Forbidden"
    message: str = body["error"]["message"]
    assert "read-only" in message
    return message


def test_a_read_only_key_runs_no_code_and_changes_nothing(gateway: gateways.Gateway) -> None:
    with gateway.client(READER) as reader:
        assert "POST /exec" in _refused(reader.post("/exec", json={"code": "1 + 1"}))
        _refused(reader.post("/exec", content=b"1 + 1", headers={"Content-Type": "text/plain"}))
        _refused(reader.post("/jobs", json={"code": "1 + 1"}))
        _refused(reader.put("/files/notes.txt", content=b"hello"))
        _refused(reader.delete("/files/notes.txt"))
        _refused(reader.post("/import", files={"file": ("a.obj", b"v 0 0 0\n")}))
        _refused(reader.delete("/sessions/anyone"))


def test_a_read_only_key_reads_renders_and_exports(gateway: gateways.Gateway) -> None:
    with gateway.client(FULL) as full:
        made = full.post("/exec", json={"code": "bpy.ops.mesh.primitive_cube_add()\n"
                                                "C.active_object.name = 'ReadOnlyBox'\nC.active_object.name"})
        assert made.json()["result"] == "ReadOnlyBox"
        assert full.put("/files/seen.txt", content=b"seen").status_code in (200, 201)
    with gateway.client(READER) as reader:
        names = [obj["name"] for obj in reader.get("/scene", params={"limit": 500}).json()["objects"]]
        assert "ReadOnlyBox" in names
        assert reader.get("/objects/ReadOnlyBox").json()["object"]["type"] == "MESH"
        assert reader.get("/files/seen.txt").content == b"seen"
        image = reader.post("/render", json={"engine": "BLENDER_WORKBENCH", "width": 32, "height": 24})
        assert image.status_code == 200 and image.content.startswith(PNG)
        exported = reader.post("/export", params={"format": "obj"})
        assert exported.status_code == 200 and b"ReadOnlyBox" in exported.content
        assert reader.get("/health").json()["status"] == "ok"


def test_a_full_key_beside_it_keeps_everything(gateway: gateways.Gateway) -> None:
    with gateway.client(FULL) as full:
        assert full.post("/exec", json={"code": "6 * 7"}).json()["result"] == 42
        assert full.put("/files/full.txt", content=b"x").status_code in (200, 201)
        assert full.delete("/files/full.txt").status_code == 204


def test_a_read_only_key_gets_the_read_only_mcp_tools(gateway: gateways.Gateway) -> None:
    async def main() -> None:
        async with http_client(gateway.url + "/mcp", READER) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert listed == set(tools.NAMES) - set(tools.READ_ONLY_LEFT_OUT)
            refused = await client.call_tool("exec_python", {"code": "1 + 1"})
            assert refused.is_error
            error = text_of(refused)["error"]
            assert error["type"] == "Forbidden" and "read-only API key" in error["message"]
            scene = await client.call_tool("get_scene", {"limit": 1})
            assert not scene.is_error and text_of(scene)["total"] >= 3
        async with http_client(gateway.url + "/mcp", FULL) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == set(tools.NAMES)
            done = await client.call_tool("exec_python", {"code": "6 * 7"})
            assert text_of(done)["result"] == 42
    run(main)


def _mcp(client: httpx.Client, message: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/mcp", json=message, headers={"Accept": "application/json, text/event-stream",
                                                      **headers})


EXEC_CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
             "params": {"name": "exec_python", "arguments": {"code": "1 + 1"}}}


def test_a_read_only_key_cannot_unmark_itself(gateway: gateways.Gateway) -> None:
    with gateway.client(READER) as reader:
        # Its own copy of the header, saying anything, is replaced by the gateway's.
        for value in ("0", "", "1"):
            answer = _mcp(reader, EXEC_CALL, **{tools.READ_ONLY_HEADER: value}).json()
            assert answer["result"]["isError"] is True
            assert "exec_python is not offered" in json.loads(
                answer["result"]["content"][0]["text"])["error"]["message"]


def test_the_header_only_narrows_on_the_worker(worker: servers.Running) -> None:
    with worker.client() as direct:
        direct.headers["Authorization"] = f"Bearer {WORKER_TOKEN}"
        narrowed = _mcp(direct, EXEC_CALL, **{tools.READ_ONLY_HEADER: "1"}).json()
        assert narrowed["result"]["isError"] is True
        listing = _mcp(direct, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                       **{tools.READ_ONLY_HEADER: "1"}).json()
        assert "exec_python" not in {tool["name"] for tool in listing["result"]["tools"]}
        wrong = _mcp(direct, EXEC_CALL, **{tools.READ_ONLY_HEADER: "0"})
        assert wrong.status_code == 400 and tools.READ_ONLY_HEADER in wrong.json()["error"]["message"]
        plain = _mcp(direct, EXEC_CALL).json()
        assert json.loads(plain["result"]["content"][0]["text"])["result"] == 2


def test_read_only_keys_in_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BLENDER_HTTP_API_KEYS", "BLENDER_HTTP_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    listed = tmp_path / "keys"
    listed.write_text(f"# team\n{FULL}\nread-only:{READER}\n")
    settings = load_settings(backends=["http://w:1"], api_keys_file=listed,
                             api_keys=["env-key-0123456789", "read-only: ro-env-0123456789"])
    assert settings.all_api_keys() == ("env-key-0123456789", "ro-env-0123456789", FULL, READER)
    assert settings.read_only_api_keys() == ("ro-env-0123456789", READER)
    # A list without the prefix means what it always meant: every key a full one.
    assert load_settings(backends=["http://w:1"], api_keys=[FULL]).read_only_api_keys() == ()
    with pytest.raises(SettingsError, match="both as read-only and as a full key"):
        load_settings(backends=["http://w:1"], api_keys=[FULL, f"read-only:{FULL}"])
    with pytest.raises(SettingsError, match="shorter than 16"):
        load_settings(backends=["http://w:1"], api_keys=["read-only:short"])


def test_the_read_only_rule() -> None:
    check = KeyCheck([FULL, READER], read_only=[READER])
    assert check.read_only(presented(f"Bearer {READER}")) and check.known(presented(f"Bearer {READER}"))
    assert not check.read_only(presented(f"Bearer {FULL}")) and not check.read_only(None)
    allowed = [("GET", "/scene"), ("HEAD", "/files/a"), ("POST", "/render"), ("POST", "/export"),
               ("POST", "/mcp"), ("POST", "/mcp/"), ("DELETE", "/mcp"), ("DELETE", "/jobs/abc.123")]
    refused = [("POST", "/exec"), ("POST", "/exec/"), ("POST", "/jobs"), ("PUT", "/files/a"),
               ("DELETE", "/files/a"), ("POST", "/import"), ("DELETE", "/sessions/s"),
               ("POST", "/shutdown"), ("PATCH", "/scene"), ("DELETE", "/jobs")]
    assert [read_only_refusal(method, path) for method, path in allowed] == [None] * len(allowed)
    assert all(read_only_refusal(method, path) for method, path in refused)


def _scope(method: str, path: str, key: str, *extra: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "client": ("10.0.0.9", 5000),
            "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {key}".encode()),
                        *extra]}


def test_the_edge_refuses_and_marks_even_while_the_address_is_throttled() -> None:
    from blender_http_gateway.edge.browser import BrowserCheck
    from blender_http_gateway.edge.middleware import Edge
    from blender_http_gateway.edge.throttle import Throttle
    from blender_http_gateway.metrics import Metrics

    edge = Edge(None, keys=KeyCheck([FULL, READER], read_only=[READER]),  # type: ignore[arg-type]
                browsers=BrowserCheck(open_gateway=False), metrics=Metrics(), log_access=False,
                throttle=Throttle(burst=1))
    marked = _scope("POST", "/mcp", READER, (tools.READ_ONLY_HEADER.lower().encode(), b"0"))
    assert edge._refusal(marked) is None
    header = tools.READ_ONLY_HEADER.lower().encode()
    assert [v for k, v in marked["headers"] if k == header] == [b"1"]
    full = _scope("POST", "/exec", FULL)
    assert edge._refusal(full) is None and not [k for k, _ in full["headers"] if k == header]
    # A wrong key throttles the address; the keys it proved still pass, as what they are.
    assert edge._refusal(_scope("GET", "/scene", "wrong-key-0123456789"))[0] == 401  # type: ignore[index]
    assert edge._refusal(_scope("GET", "/scene", "wrong-key-0123456789"))[0] == 429  # type: ignore[index]
    refused = edge._refusal(_scope("POST", "/exec", READER))
    assert refused is not None and refused[:2] == (403, "Forbidden")
    assert edge._refusal(_scope("GET", "/scene", READER)) is None
    assert edge._refusal(_scope("POST", "/exec", FULL)) is None
