"""Long calls: a call with a progressToken answers an SSE stream of notifications/progress
and then its response; a client's cancel ends the call's Blender job `cancelled`, whether
it sends notifications/cancelled (up to 2025-11-25) or hangs up (2026-07-28); and one
client cannot cancel another's call that has the same request id."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import MODERN, http_client, png_of, run, text_of
from tests.mcp.test_modern_http import META

AUTH = {"Authorization": f"Bearer {TOKEN}"}
STREAM = {**AUTH, "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
# Python that runs a minute unless interrupted (a cancel lands between two short sleeps).
LONG = "import time\nfor _ in range(1200):\n    time.sleep(0.05)\n'finished'"
SHORT = "import time\nfor _ in range(25):\n    time.sleep(0.1)\n'done'"


def _call(request_id: Any, name: str, arguments: dict[str, Any], token: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def _events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[len("data:"):]) for line in response.iter_lines() if line.startswith("data:")]


def _progress(events: list[dict[str, Any]], token: Any) -> list[dict[str, Any]]:
    notes = [e["params"] for e in events if e.get("method") == "notifications/progress"]
    assert notes and all(note["progressToken"] == token for note in notes), events
    values = [note["progress"] for note in notes]
    assert values == sorted(values) and len(set(values)) == len(values), values  # it only grows
    return notes


def test_a_render_with_a_progress_token_streams_progress(mcp_server: servers.Running) -> None:
    """In every mode: the GUI's timer pump, and the main loop of module and background mode."""
    arguments = {"engine": "BLENDER_WORKBENCH", "width": 64, "height": 48, "max_size": 32}
    with httpx.stream("POST", mcp_server.url + "/mcp", json=_call(3, "render", arguments, "r-1"),
                      headers=STREAM, trust_env=False, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        events = _events(response)
    messages = [note["message"].rsplit(" (", 1)[0] for note in _progress(events[:-1], "r-1")]
    # The stages come from Blender's render handlers, in order, then the job's end.
    assert messages[0] == "started"
    stages = [m for m in messages if m.partition(": ")[2] in ("preparing", "rendering", "writing")]
    assert stages[:2] == ["render: preparing", "render: rendering"], messages
    assert messages[-1] == "render: succeeded", messages
    answer = events[-1]
    assert answer["id"] == 3 and not answer["result"]["isError"]
    assert [item["type"] for item in answer["result"]["content"]] == ["image", "text", "resource_link"]


def test_a_cycles_render_reports_its_samples(module_server: servers.Running) -> None:
    """Cycles reports its sample count through bpy.app.handlers.render_stats as it renders:
    in bpy 5.0 (module mode here); Blender 3.4 (background and GUI here) calls that handler
    with no text, so there a render reports its stages only."""
    arguments = {"engine": "CYCLES", "width": 64, "height": 48, "samples": 64, "max_size": 32}
    with httpx.stream("POST", module_server.url + "/mcp", json=_call(8, "render", arguments, "c-1"),
                      headers=STREAM, trust_env=False, timeout=120) as response:
        events = _events(response)
    messages = [note["message"].rsplit(" (", 1)[0] for note in _progress(events[:-1], "c-1")]
    counts = [tuple(map(int, m.removeprefix("render: sample ").split("/")))
              for m in messages if m.startswith("render: sample ")]
    assert counts and all(total == 64 for _, total in counts), messages
    done = [done for done, _ in counts]
    assert done == sorted(set(done)) and done[-1] == 64, messages  # growing, up to the last sample
    assert not events[-1]["result"]["isError"]


@pytest.mark.parametrize("mode", ["legacy", MODERN])
def test_exec_progress_reaches_sdk_clients_of_both_revisions(module_server: servers.Running,
                                                             mode: str) -> None:
    notes: list[tuple[float, str | None]] = []

    async def heard(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message))

    async def main() -> None:
        async with http_client(module_server.url + "/mcp", TOKEN, mode) as client:
            result = await client.call_tool("exec_python", {"code": SHORT}, progress_callback=heard)
            assert text_of(result)["result"] == "done"

    run(main)
    values = [value for value, _ in notes]
    assert values == sorted(values) and values[-1] >= 2.0, notes  # seconds elapsed
    texts = [text.rsplit(" (", 1)[0] for _, text in notes if text]
    assert texts[0] == "started" and texts[-1] == "code: succeeded", notes
    assert texts.count("code: running") >= 2, notes  # heartbeats while it runs


@pytest.mark.parametrize("mode", ["legacy", MODERN])
def test_a_cancelled_call_ends_its_blender_job_cancelled(mcp_server: servers.Running, mode: str) -> None:
    """legacy: the SDK sends notifications/cancelled; 2026-07-28: it closes the stream. In
    every mode."""
    module_server = mcp_server
    session = f"cancel-{mode}-{secrets.token_hex(4)}"
    states: list[dict[str, Any]] = []

    async def main() -> None:
        async with http_client(module_server.url + "/mcp", TOKEN, mode) as client:
            with pytest.raises(MCPError):  # the SDK gives up after its timeout and cancels
                await client.call_tool("exec_python", {"code": LONG, "session": session},
                                       read_timeout_seconds=1.5)
            # Still connected: the answer to the cancelled call may come meanwhile.
            async with httpx.AsyncClient(headers=AUTH, trust_env=False, timeout=30) as http:
                job = await find_job(http, module_server.url, session)
                states.append((await http.get(f"{module_server.url}/jobs/{job}", params={"wait": 10})).json())

    run(main)
    assert states[0]["status"] == "cancelled", states


def test_one_client_cannot_cancel_another_clients_call(module_server: servers.Running) -> None:
    url = module_server.url + "/mcp"
    mine, theirs = (_session_id(url) for _ in range(2))
    session = f"cancel-mine-{secrets.token_hex(4)}"
    answered: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answered.append(httpx.post(
        url, json=_call(5, "exec_python", {"code": LONG, "session": session}),
        headers={**AUTH, "Mcp-Session-Id": mine}, trust_env=False, timeout=120)))
    caller.start()
    try:
        job = job_of_session(module_server.url, session)
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}}
        refused = httpx.post(url, json=cancel, headers={**AUTH, "Mcp-Session-Id": theirs}, trust_env=False)
        assert refused.status_code == 202
        view = httpx.get(f"{module_server.url}/jobs/{job}", headers=AUTH, trust_env=False).json()
        assert view["status"] == "running" and "stop_requested" not in view, view
        assert httpx.post(url, json=cancel, headers={**AUTH, "Mcp-Session-Id": mine},
                          trust_env=False).status_code == 202
        caller.join(30)
    finally:
        stuck = caller.is_alive()
        if stuck:  # the cancel did not land: stop the job another way, so the server is free
            httpx.delete(f"{module_server.url}/jobs/{job}", headers=AUTH, trust_env=False)
            caller.join(30)
    assert not stuck, "notifications/cancelled did not stop the call"
    result = answered[0].json()["result"]
    assert result["isError"] and json.loads(result["content"][0]["text"])["error"]["type"] == "Cancelled"
    done = httpx.get(f"{module_server.url}/jobs/{job}", headers=AUTH, trust_env=False).json()
    assert done["status"] == "cancelled", done


def test_a_call_answered_on_blenders_main_thread_is_cancelled_too(module_server: servers.Running) -> None:
    """A client that takes JSON only, on a kept-alive connection, is answered by the main
    loop itself in module mode (pumps/main_loop.py); its cancel comes on another connection."""
    url = module_server.url + "/mcp"
    mine = _session_id(url)
    session = f"cancel-inline-{secrets.token_hex(4)}"
    headers = {**AUTH, "Mcp-Session-Id": mine, "Accept": "application/json"}
    answered: list[httpx.Response] = []
    with httpx.Client(headers=headers, trust_env=False, timeout=120) as kept:
        assert kept.post(url, json=_call(1, "blender_info", {})).status_code == 200  # then parked

        caller = threading.Thread(target=lambda: answered.append(kept.post(
            url, json=_call(2, "exec_python", {"code": LONG, "session": session}))))
        caller.start()
        job = job_of_session(module_server.url, session)
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}}
        assert httpx.post(url, json=cancel, headers=headers, trust_env=False).status_code == 202
        caller.join(30)
        stuck = caller.is_alive()
        if stuck:  # the cancel did not land: stop the job another way, so the server is free
            httpx.delete(f"{module_server.url}/jobs/{job}", headers=AUTH, trust_env=False)
            caller.join(30)
    assert not stuck, "notifications/cancelled did not stop the call"
    done = httpx.get(f"{module_server.url}/jobs/{job}", headers=AUTH, trust_env=False).json()
    assert done["status"] == "cancelled", done
    assert answered[0].json()["result"]["isError"]


@pytest.mark.parametrize("mode", ["legacy", MODERN])
def test_a_2026_call_from_a_client_that_takes_only_json_is_cancelled_when_it_hangs_up(
        mcp_server: servers.Running, mode: str) -> None:
    """curl and some CLIs take JSON only (the transport asks for both forms): at 2026-07-28
    their hang-up cancels the call too, also on a kept-alive connection that module mode's
    main loop would answer itself. A handshake client's hang-up is no cancel (it has
    notifications/cancelled): its call runs on, checked as the counter-proof."""
    job = hang_up_during_a_json_only_call(mcp_server.url, AUTH, modern=mode == MODERN)
    if job["status"] == "running":  # stopped whatever the verdict: the server is shared
        stopped = httpx.delete(f"{mcp_server.url}/jobs/{job['id']}", headers=AUTH, trust_env=False)
        assert stopped.status_code in (200, 202), stopped.text
    assert job["status"] == ("cancelled" if mode == MODERN else "running"), job


def hang_up_during_a_json_only_call(url: str, auth: dict[str, str], *, modern: bool) -> dict[str, Any]:
    """Send LONG as a tools/call that takes JSON only, on a connection kept alive from an
    earlier request; close it once the call's job runs. The job 10 s later (or as it ended)."""
    session = f"cancel-json-{secrets.token_hex(4)}"
    params: dict[str, Any] = {"name": "exec_python", "arguments": {"code": LONG, "session": session}}
    headers = {**auth, "Accept": "application/json", "Content-Type": "application/json"}
    if modern:
        params["_meta"] = META
        headers.update({"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call",
                        "Mcp-Name": "exec_python"})
    host, port = url.removeprefix("http://").split(":")
    kept = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        kept.request("GET", "/health", headers=auth)
        assert kept.getresponse().read()
        time.sleep(0.2)  # an idle kept-alive connection: module mode's main loop holds it now
        kept.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                                                      "params": params}), headers=headers)
        job = job_of_session(url, session, auth)
        kept.close()  # the client hangs up
        return dict(httpx.get(f"{url}/jobs/{job}", params={"wait": 10}, headers=auth, trust_env=False,
                              timeout=30).json())
    finally:
        kept.close()


def test_a_render_streams_through_the_python_sdk_at_2026(module_server: servers.Running) -> None:
    heard: list[str | None] = []

    async def main() -> None:
        async def note(progress: float, total: float | None, message: str | None) -> None:
            heard.append(message)

        async with http_client(module_server.url + "/mcp", TOKEN, MODERN) as client:
            result = await client.call_tool("render", {"engine": "BLENDER_WORKBENCH", "width": 64,
                                                       "height": 48, "max_size": 32}, progress_callback=note)
            assert png_of(result)[1] == (32, 24)

    run(main)
    assert any(message and message.startswith("render: rendering") for message in heard), heard


def _session_id(url: str) -> str:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "tests", "version": "1"}}}
    opened = httpx.post(url, json=init, headers=AUTH, trust_env=False)
    assert opened.status_code == 200
    return opened.headers["Mcp-Session-Id"]


def job_of_session(url: str, session: str, auth: dict[str, str] = AUTH) -> str:
    """The id of the job running in exec session `session` on the server (or gateway) at
    url (waits for it to show up)."""
    found: list[str] = []

    async def main() -> None:
        async with httpx.AsyncClient(headers=auth, trust_env=False) as http:
            found.append(await find_job(http, url, session))

    anyio.run(main)
    return found[0]


async def find_job(http: httpx.AsyncClient, url: str, session: str) -> str:
    with anyio.fail_after(30):
        while True:
            listed = (await http.get(url + "/jobs")).json()["jobs"]
            found = [job["id"] for job in listed if job["session"] == session]
            if found:
                return str(found[0])
            await anyio.sleep(0.05)
