"""The gateway's /mcp at protocol 2026-07-28, which has no Mcp-Session-Id: twelve agents
sharing one API key each open a session handle and pass it to every call; each sees its own
objects, each stays on one worker, and together they are spread over both workers. Progress
streams through the gateway. The official TypeScript SDK from npm connects, lists and calls
tools through the gateway and on the add-on itself."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways
from tests.mcp import typescript
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import MODERN, SPEC_TOOLS, http_client, png_of, run, text_of
from tests.mcp.test_progress_cancel import LONG, find_job, hang_up_during_a_json_only_call

KEY = "mcp-modern-key-5e1c"
WORKER_TOKEN = "mcp-modern-worker-7a40"
AGENTS = 12
MINE = "sorted(o.name for o in D.objects if o.name.startswith('Agent'))"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    """A real gateway in front of two real module-mode workers: its URL and their pids."""
    reason = servers.availability("module")
    if reason:
        missing(reason)
    workers = [servers.start("module", tmp_path_factory.mktemp(f"modern-worker{i}"),
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN}) for i in range(2)]
    try:
        running = gateways.start(tmp_path_factory.mktemp("modern-gateway"), "--backend", workers[0].url,
                                 "--backend", workers[1].url, key=KEY,
                                 env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
        try:
            yield running.url, [worker.proc.pid for worker in workers]
        finally:
            running.stop()
    finally:
        for worker in workers:
            worker.stop()


def test_twelve_agents_with_session_handles_see_their_own_objects(gateway: tuple[str, list[int]]) -> None:
    url, worker_pids = gateway
    seen: dict[int, set[int]] = {}

    async def agent(index: int) -> None:
        async with http_client(url + "/mcp", KEY, MODERN) as client:
            assert client.protocol_version == MODERN
            assert {tool.name for tool in (await client.list_tools()).tools} == SPEC_TOOLS
            session = text_of(await client.call_tool("open_session", {}))["session"]
            name = f"Agent{index:02d}"
            made = await client.call_tool("exec_python", {
                "code": "bpy.ops.mesh.primitive_cube_add()\nC.active_object.name = args['name']\n"
                        "import os\nowner = os.getpid()", "args": {"name": name}, "session": session})
            assert not made.is_error, made
            pids = set()
            for _ in range(3):
                box = text_of(await client.call_tool("get_object", {"name": name, "session": session}))
                assert box["object"]["name"] == name
                # The exec session under the handle kept `owner` from the first call.
                pids.add(text_of(await client.call_tool("exec_python", {"code": "owner",
                                                                        "session": session}))["result"])
            listed = text_of(await client.call_tool("exec_python", {"code": MINE, "session": session}))
            assert name in listed["result"], listed
            seen[index] = pids

    async def agents() -> None:
        async with anyio.create_task_group() as group:
            for index in range(AGENTS):
                group.start_soon(agent, index)

    run(agents)
    assert sorted(seen) == list(range(AGENTS))
    assert all(len(pids) == 1 for pids in seen.values()), seen  # each agent on one worker
    owners = set().union(*seen.values())
    assert owners <= set(_python_pids(worker_pids)), (owners, worker_pids)
    # Handles are random: all twelve on one worker would be a 1 in 2,048 chance.
    assert len(owners) == 2, f"{AGENTS} agents, all on one worker"


@pytest.mark.parametrize("mode", ["legacy", MODERN])
def test_a_call_cancelled_through_the_gateway_ends_its_job_cancelled(gateway: tuple[str, list[int]],
                                                                    mode: str) -> None:
    """legacy: notifications/cancelled reaches the worker of the MCP session; 2026-07-28: the
    client hangs up, and the gateway drops its connection to the worker."""
    url, _ = gateway
    session = f"gw-cancel-{mode}-{secrets.token_hex(4)}"
    states: list[dict[str, Any]] = []

    async def main() -> None:
        async with http_client(url + "/mcp", KEY, mode) as client:
            with pytest.raises(MCPError):
                await client.call_tool("exec_python", {"code": LONG, "session": session},
                                       read_timeout_seconds=1.5)
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, trust_env=False,
                                         timeout=30) as http:
                job = await find_job(http, url, session)
                states.append((await http.get(f"{url}/jobs/{job}", params={"wait": 10})).json())

    run(main)
    assert states[0]["status"] == "cancelled", states


def test_a_json_only_call_cancelled_by_hanging_up_on_the_gateway_ends_its_job_cancelled(
        gateway: tuple[str, list[int]]) -> None:
    """A 2026-07-28 client that takes JSON only hangs up on the gateway: the gateway drops its
    connection to the worker, which follows the call and cancels it."""
    url, _ = gateway
    auth = {"Authorization": f"Bearer {KEY}"}
    job = hang_up_during_a_json_only_call(url, auth, modern=True)
    if job["status"] == "running":  # stopped whatever the verdict: the workers are shared
        httpx.delete(f"{url}/jobs/{job['id']}", headers=auth, trust_env=False)
    assert job["status"] == "cancelled", job


def test_progress_streams_through_the_gateway(gateway: tuple[str, list[int]]) -> None:
    url, _ = gateway
    heard: list[str] = []

    async def note(progress: float, total: float | None, message: str | None) -> None:
        heard.append((message or "").rsplit(" (", 1)[0])

    async def main() -> None:
        async with http_client(url + "/mcp", KEY, MODERN) as client:
            result = await client.call_tool("render", {"engine": "BLENDER_WORKBENCH", "width": 64,
                                                       "height": 48, "max_size": 32}, progress_callback=note)
            assert png_of(result)[1] == (32, 24)

    run(main)
    assert heard[0] == "started" and "render: rendering" in heard and heard[-1] == "render: succeeded", heard


def test_the_typescript_sdk_calls_tools_on_the_gateway_and_the_add_on(
        gateway: tuple[str, list[int]], module_server: servers.Running) -> None:
    bin_dir = typescript.install()
    if isinstance(bin_dir, str):
        missing(bin_dir)
        return
    for url, token in ((gateway[0], KEY), (module_server.url, TOKEN)):
        out = typescript.run(bin_dir, url + "/mcp", token, [
            {"name": "exec_python", "arguments": {"code": "6 * 7"}},
            {"name": "get_scene", "arguments": {"limit": 2}}])
        assert out["protocolVersion"] == "2025-11-25", out
        assert set(out["tools"]) == SPEC_TOOLS
        product, scene = out["results"]
        assert not product["isError"] and _json(product)["result"] == 42
        assert not scene["isError"] and len(_json(scene)["objects"]) == 2


def _json(result: dict[str, Any]) -> Any:
    return json.loads(result["content"][-1]["text"])


def _python_pids(worker_pids: list[int]) -> list[int]:
    """The pids that run each worker's Blender: the started process, or its children when it
    is a wrapper."""
    found = list(worker_pids)
    for pid in worker_pids:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            found += [int(child) for child in children.read_text().split()]
    return found

