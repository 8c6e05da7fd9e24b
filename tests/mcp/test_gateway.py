"""The gateway's /mcp serves the add-on's tools by forwarding to a worker: with two workers,
one MCP session stays on one of them, so an object made in one call is seen by the next."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways
from tests.mcp.sdk import SPEC_TOOLS, http_client, png_of, run, text_of

KEY = "mcp-gateway-key-81b2"
WORKER_TOKEN = "mcp-worker-token-3d9a"
WHO = "import os\nos.getpid()"


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real gateway in front of two real module-mode workers."""
    reason = servers.availability("module")
    if reason:
        missing(reason)
    workers = [servers.start("module", tmp_path_factory.mktemp(f"mcp-worker{i}"),
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN}) for i in range(2)]
    try:
        gateway = gateways.start(tmp_path_factory.mktemp("mcp-gateway"), "--backend", workers[0].url,
                                 "--backend", workers[1].url, key=KEY,
                                 env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
        try:
            yield gateway.url
        finally:
            gateway.stop()
    finally:
        for worker in workers:
            worker.stop()


def test_an_mcp_session_stays_on_one_worker(gateway_url: str) -> None:
    pids: list[set[int]] = []

    async def one_session(index: int) -> None:
        async with http_client(gateway_url + "/mcp", KEY) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == SPEC_TOOLS
            name = f"GatewayBox{index}"
            made = await client.call_tool("exec_python", {"code": (
                "bpy.ops.mesh.primitive_cube_add()\nC.active_object.name = args['name']"),
                "args": {"name": name}})
            assert not made.is_error, made
            seen: set[int] = set()
            for _ in range(3):
                box = text_of(await client.call_tool("get_object", {"name": name}))
                assert box["object"]["name"] == name
                seen.add(text_of(await client.call_tool("exec_python", {"code": WHO}))["result"])
            job = text_of(await client.call_tool("submit_job", {"code": "D.objects[args['n']].name",
                                                                "args": {"n": name}}))
            done = text_of(await client.call_tool("get_job", {"job_id": job["id"], "wait": 30}))
            assert done["envelope"]["result"] == name
            pids.append(seen)

    async def sessions() -> None:
        # Sessions hash to workers at random: open them until both workers have had some,
        # at least four (forty all on one worker would be a 1 in 2**39 chance, not luck).
        for index in range(40):
            await one_session(index)
            if index >= 3 and len(set().union(*pids)) == 2:
                break

    run(sessions)
    assert all(len(seen) == 1 for seen in pids)
    assert len(set().union(*pids)) == 2, f"{len(pids)} sessions, all on one worker"


def test_the_gateway_answers_images_and_guards_mcp(gateway_url: str) -> None:
    async def main() -> None:
        async with http_client(gateway_url + "/mcp", KEY) as client:
            _, size = png_of(await client.call_tool("render", {"engine": "BLENDER_WORKBENCH", "width": 64,
                                                               "height": 48, "max_size": 32}))
            assert size == (32, 24)
    run(main)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}
    assert httpx.post(gateway_url + "/mcp", json=init, trust_env=False).status_code == 401
    auth = {"Authorization": f"Bearer {KEY}"}
    bad = httpx.post(gateway_url + "/mcp", content=b"{", headers=auth, trust_env=False)
    assert bad.status_code == 200 and bad.json()["error"]["code"] == -32700
    opened = httpx.post(gateway_url + "/mcp", json=init, headers=auth, trust_env=False)
    assert opened.json()["result"]["protocolVersion"] == "2025-06-18" and opened.headers["Mcp-Session-Id"]
