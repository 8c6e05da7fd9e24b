"""`blender-http mcp`: the add-on's MCP tools over stdio, for clients that start a command
(Claude Desktop's "command" config).

The tools are the add-on's own definitions (blender_http_addon.mcp.tools, pure data), so
the list is there at once, with or without a Blender; each call is forwarded as JSON-RPC
to the server's POST /mcp. Until a Blender answers, a call is a tool error that says so
(the server never hangs at start). With --spawn it starts a Blender of its own in the
background and stops it on exit. --read-only, --tools and --exclude-tools choose the tools
offered, as BLENDER_HTTP_MCP_READ_ONLY / _TOOLS / _EXCLUDE_TOOLS do on the add-on: the others
are not listed, and a call of one is refused here with a tool error.

A call whose client sent a progressToken asks the server for an event stream and passes each
notifications/progress on; a call the client cancels (the SDK cancels its handler) is
cancelled upstream with notifications/cancelled, under this process's own Mcp-Session-Id,
so the server stops its Blender job.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import click
import httpx
from httpx_sse import EventSource

from blender_http_addon.mcp import jsonrpc, tools
from blender_http_addon.protocol import EVENT_STREAM

from ... import settings
from ...local import launcher, mcp_spawn
from ..support import client_options

CALL_TIMEOUT_S = 7 * 24 * 3600.0  # a call lasts as long as its code; the server enforces timeouts
CANCEL_TIMEOUT_S = 5.0
SPAWN_POLL_S = 0.1
SURROGATE = re.compile("[\ud800-\udfff]")
# (progress, total, message): passes a progress notification on to the stdio client.
Progress = Callable[[float, float | None, str | None], Awaitable[None]]


class Upstream:
    """Where calls go: a running server, or the one --spawn is starting."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.url, self.token = url, token
        self.starting: str | None = None  # why there is no url yet
        self.spawn: mcp_spawn.Spawn | None = None
        self._spawn_over = threading.Event()  # set once the spawn succeeded or failed
        self._next_id = 0
        # Names this process to the server, which keys a cancel on it and the request id.
        self.session = secrets.token_urlsafe(18)

    def spawn_in_background(self, kind: str, blender: str | None) -> None:
        self.starting = f"a {kind} Blender is starting; try again in a few seconds"
        try:
            spawn = self.spawn = mcp_spawn.Spawn(kind, blender)
        except OSError as exc:  # its folder: see blender_http.local.temp
            self.starting = f"could not start a {kind} Blender: {exc}"
            self._spawn_over.set()
            return

        def run() -> None:
            try:
                spawned = spawn.start()
                self.url, self.token, self.starting = spawned.url, spawned.token, None
            except launcher.LaunchError as exc:
                self.starting = f"could not start a {kind} Blender: {exc}"
            finally:
                self._spawn_over.set()

        threading.Thread(target=run, name="blender-http-spawn", daemon=True).start()

    async def call(self, http: httpx.AsyncClient, name: str, arguments: dict[str, Any],
                   progress: Progress | None = None) -> dict[str, Any]:
        """The add-on's CallToolResult for one call, or a tool error saying why there is none.
        A call that comes while --spawn's Blender starts waits for it (a client that tries
        once would give up), as long as the start-up may take."""
        deadline = time.monotonic() + mcp_spawn.START_TIMEOUT_S
        while self.url is None and self.starting is not None and not self._spawn_over.is_set() \
                and time.monotonic() < deadline:
            await anyio.sleep(SPAWN_POLL_S)
        if self.url is None:
            return _error(self.starting or "no Blender to talk to")
        self._next_id += 1
        request_id = self._next_id
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if progress is not None:
            params["_meta"] = {"progressToken": request_id}
        message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
        # The newest handshake version the add-on speaks, so it answers structuredContent and
        # resource_link as the tools listed here (with their outputSchema) promise.
        headers = {"Mcp-Session-Id": self.session, "MCP-Protocol-Version": jsonrpc.LATEST,
                   "Accept": f"application/json, {EVENT_STREAM}" if progress else "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            answer, status, text = await self._post(http, message, headers, progress)
        except httpx.HTTPError as exc:
            return _error(f"no Blender answers at {self.url} ({type(exc).__name__}: {exc}). Start one "
                          "with `blender-http start` (or run this with --spawn), then call again.")
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_TIMEOUT_S):
                await self._cancel(http, request_id, headers)
            raise
        if not isinstance(answer, dict):
            return _error(f"{self.url}/mcp answered {status}: {text[:300]}")
        if "result" in answer:
            return dict(_utf8_safe(answer["result"]))
        error = answer.get("error") or {}
        return _error(f"{self.url}/mcp answered {status}: "
                      f"{error.get('message') or json.dumps(error)[:300]}")

    async def _post(self, http: httpx.AsyncClient, message: dict[str, Any], headers: dict[str, str],
                    progress: Progress | None) -> tuple[Any, int, str]:
        """The server's JSON-RPC answer, its status and text; progress notifications on an
        event stream are passed to progress on the way."""
        assert self.url is not None
        url = self.url.rstrip("/") + "/mcp"
        async with http.stream("POST", url, json=message, headers=headers) as response:
            if progress is not None and response.headers.get("content-type", "").startswith(EVENT_STREAM):
                async for event in EventSource(response).aiter_sse():
                    data = event.json()
                    if data.get("method") == "notifications/progress":
                        note = data.get("params") or {}
                        await progress(note.get("progress", 0.0), note.get("total"), note.get("message"))
                    elif "id" in data:
                        return data, response.status_code, event.data
                return None, response.status_code, "the event stream ended without an answer"
            text = (await response.aread()).decode("utf-8", "replace")
        try:
            return json.loads(text), response.status_code, text
        except ValueError:
            return None, response.status_code, text

    async def _cancel(self, http: httpx.AsyncClient, request_id: int, headers: dict[str, str]) -> None:
        """Tell the server the call of request_id is cancelled: it stops the call's jobs."""
        assert self.url is not None
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": request_id, "reason": "cancelled by the MCP client"}}
        with contextlib.suppress(httpx.HTTPError):
            await http.post(self.url.rstrip("/") + "/mcp", json=cancel,
                            headers={**headers, "Accept": "application/json"})


def _utf8_safe(value: Any) -> Any:
    """value with every lone surrogate (a string UTF-8 cannot carry: a file name that is not
    UTF-8) written as its JSON escape, \\udXXX: stdio is UTF-8, and the SDK's writer fails on
    one (the client then waits forever). A tool's text is JSON, where the escape means the
    same character."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)
        return value
    if isinstance(value, dict):
        return {key: _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_utf8_safe(item) for item in value]
    return value


def _error(message: str, kind: str = "Unavailable", **extra: Any) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": json.dumps({"ok": False, "error": {
        "type": kind, "message": message, **extra}})}], "isError": True}


def build_server(upstream: Upstream, http: httpx.AsyncClient, offered: tools.Selection) -> Any:
    """The SDK's low-level server with the add-on's tools (those offered), forwarding each call."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    listed = types.ListToolsResult(tools=[types.Tool.model_validate(tool) for tool in offered.tools])

    async def list_tools(ctx: Any, params: Any) -> Any:
        return listed

    async def call_tool(ctx: Any, params: Any) -> Any:
        refusal = offered.refusal(params.name)
        if refusal is not None:
            return types.CallToolResult.model_validate(_error(refusal, "Forbidden", status=403))
        meta = ctx.meta or {}
        # The SDK names the token in Python's style in what it hands over; the wire's name too.
        wants = meta.get("progress_token", meta.get("progressToken")) is not None
        progress = ctx.session.report_progress if wants else None
        result = await upstream.call(http, params.name, dict(params.arguments or {}), progress)
        return types.CallToolResult.model_validate(result)

    return Server(tools.SERVER_NAME, instructions=tools.INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool)


async def serve_stdio(upstream: Upstream, offered: tools.Selection) -> None:
    from mcp.server.stdio import stdio_server

    async with httpx.AsyncClient(timeout=httpx.Timeout(CALL_TIMEOUT_S, connect=5.0)) as http, \
            stdio_server() as (read_stream, write_stream):
        server = build_server(upstream, http, offered)
        await server.run(read_stream, write_stream, server.create_initialization_options())


@click.command("mcp")
@client_options
@click.option("--spawn", type=click.Choice(["module", "background"]), default=None,
              help="Start a Blender of its own (bpy module or blender --background) and stop it on exit.")
@click.option("--blender", "blender_path", default=None, help="Blender executable for --spawn background.")
@click.option("--read-only", is_flag=True, default=False,
              help="Leave out the tools that run code or change the scene "
                   f"({', '.join(tools.READ_ONLY_LEFT_OUT)}).")
@click.option("--tools", "only", default="", metavar="A,B",
              help="Offer only these tools (comma-separated names).")
@click.option("--exclude-tools", "exclude", default="", metavar="A,B",
              help="Never offer these tools (comma-separated names).")
def mcp_command(url: str | None, token: str | None, spawn: str | None, blender_path: str | None,
                read_only: bool, only: str, exclude: str) -> None:
    """Serve the MCP tools over stdio, forwarding to a running Blender (or one it starts)."""
    offered = _offered(read_only, only, exclude)
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise click.UsageError(f"the MCP SDK is not installed ({exc}): pip install 'blender-http[mcp]'") \
            from exc
    if spawn:
        upstream = Upstream(None, None)
        upstream.spawn_in_background(spawn, blender_path)
    else:
        try:
            upstream = Upstream(*settings.choose(url, token))
        except settings.AmbiguousServer as exc:
            raise click.UsageError(str(exc)) from exc
    try:
        anyio.run(serve_stdio, upstream, offered)
    finally:
        if upstream.spawn is not None:
            upstream.spawn.close()


def _offered(read_only: bool, only: str, exclude: str) -> tools.Selection:
    """The tools to offer; a name that is no tool's is a usage error."""
    def names(text: str) -> tuple[str, ...]:
        return tuple(name.strip() for name in text.split(",") if name.strip())

    try:
        return tools.choose(read_only, names(only), names(exclude), settings=("--tools", "--exclude-tools"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
