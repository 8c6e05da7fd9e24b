"""/mcp: the Model Context Protocol (streamable HTTP) with tools to run code, read the scene,
render and manage jobs. The tools route like HTTP requests and sit behind the same API keys."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from blender_http.envelope import exec_body
from blender_http_addon import protocol
from blender_http_addon.config import is_loopback

from . import jobids, routing
from .core import Answer, Gateway
from .errors import GatewayError

INSTRUCTIONS = """Tools for a live Blender. exec_python runs Python in Blender (bpy, C = bpy.context,
D = bpy.data are bound; the last expression is the result; pass values in `args`, never format
them into code). Use a `session` name to keep variables between calls. Long work: submit_job,
then get_job(wait=...) or cancel_job. get_scene lists objects; render returns a PNG."""


def build_mcp(gateway: Gateway) -> MCPServer:
    """The MCP server whose tools call the gateway's backends."""
    server: MCPServer = _quietly_built()

    @server.tool()
    async def exec_python(code: str, args: dict[str, Any] | None = None, session: str | None = None,
                          timeout: float | None = None) -> dict[str, Any]:
        """Run Python inside Blender and return its result, stdout and stderr."""
        backend, answer = await _call(gateway, "POST", protocol.EXEC, session=session,
                                      json_body=exec_body(code, args, session, timeout))
        return _envelope(backend, answer)

    @server.tool()
    async def get_scene(limit: int = 100, offset: int = 0, type: str | None = None,
                        session: str | None = None) -> dict[str, Any]:
        """The scene: frame range, render settings, camera and its objects (paged)."""
        _, answer = await _call(gateway, "GET", protocol.SCENE, session=session,
                                params={"limit": limit, "offset": offset, "type": type})
        return _json(answer)

    @server.tool()
    async def get_object(name: str, session: str | None = None) -> dict[str, Any]:
        """One object in detail: transform, hierarchy, modifiers, materials, mesh counts."""
        path = protocol.OBJECT.format(name=quote(name, safe=""))
        _, answer = await _call(gateway, "GET", path, session=session)
        return _json(answer)

    @server.tool()
    async def render(engine: str | None = None, width: int | None = None, height: int | None = None,
                     samples: int | None = None, camera: str | None = None, frame: int | None = None,
                     session: str | None = None) -> Image:
        """Render the scene to a PNG image (unset options keep the scene's settings)."""
        options = {"engine": engine, "width": width, "height": height, "samples": samples,
                   "camera": camera, "frame": frame}
        _, answer = await _call(gateway, "POST", protocol.RENDER, session=session,
                                json_body={k: v for k, v in options.items() if v is not None})
        if answer.status != 200:
            _json(answer)
        return Image(data=answer.content, format="png")

    @server.tool()
    async def submit_job(code: str, args: dict[str, Any] | None = None, session: str | None = None,
                         timeout: float | None = None) -> dict[str, Any]:
        """Queue code to run; returns the job (poll with get_job, stop with cancel_job)."""
        backend, answer = await _call(gateway, "POST", protocol.JOBS, session=session,
                                      json_body=exec_body(code, args, session, timeout))
        return jobids.view(backend, _json(answer))

    @server.tool()
    async def get_job(job_id: str, wait: float = 0.0) -> dict[str, Any]:
        """A job's status and, once finished, its result; wait = seconds to wait for it (≤ 300)."""
        backend, local = _job(gateway, job_id)
        wait = min(max(wait, 0.0), protocol.MAX_LONG_POLL_S)
        _, answer = await _call(gateway, "GET", protocol.JOB.format(id=local), backend=backend,
                                busy=False, params={"wait": wait or None})
        return jobids.view(backend, _json(answer))

    @server.tool()
    async def cancel_job(job_id: str) -> dict[str, Any]:
        """Drop a queued job or interrupt a running one."""
        backend, local = _job(gateway, job_id)
        _, answer = await _call(gateway, "DELETE", protocol.JOB.format(id=local), backend=backend,
                                busy=False)
        return jobids.view(backend, _json(answer))

    return server


def _quietly_built() -> MCPServer:
    # The SDK calls logging.basicConfig (with a rich handler) when a server is built; the
    # gateway's logging belongs to whoever runs it, and rich output per request is slow.
    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    try:
        return MCPServer(name="blender-http", instructions=INSTRUCTIONS)
    finally:
        if placeholder is not None:
            root.removeHandler(placeholder)


def transport_security(host: str) -> TransportSecuritySettings:
    """Host checks for /mcp: loopback names on a loopback bind (DNS rebinding); beyond loopback
    the API key is what guards it (the Host is whatever the load balancer uses)."""
    if is_loopback(host):
        return TransportSecuritySettings(allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                                         allowed_origins=["http://127.0.0.1:*", "http://localhost:*"])
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


async def _call(gateway: Gateway, method: str, path: str, **kwargs: Any) -> tuple[Any, Answer]:
    try:
        return await gateway.call(method, path, **kwargs)
    except GatewayError as exc:
        raise ToolError(f"{exc.type}: {exc.message}") from exc


def _job(gateway: Gateway, job_id: str) -> tuple[Any, str]:
    try:
        return routing.job_backend(gateway.pool, job_id)
    except GatewayError as exc:
        raise ToolError(f"{exc.type}: {exc.message}") from exc


def _json(answer: Answer) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        raise ToolError(f"the backend answered {answer.status} with no JSON") from None
    if answer.status >= 400 and isinstance(data, dict) and data.get("ok") is False:
        raise ToolError(json.dumps(data.get("error", data)))
    if not isinstance(data, dict):
        raise ToolError(f"unexpected answer: {data!r}"[:500])
    return data


def _envelope(backend: Any, answer: Answer) -> dict[str, Any]:
    data = _json(answer) if answer.status >= 500 else answer.json()
    if isinstance(data.get("job"), str):
        data["job"] = routing.job_id(backend, data["job"])
    if data.get("ok") is False:
        # The code itself failed: the model reads the error, the output and the traceback.
        raise ToolError(json.dumps(data))
    return dict(data)
