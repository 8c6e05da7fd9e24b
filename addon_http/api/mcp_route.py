"""POST /mcp: the Model Context Protocol over streamable HTTP. The protocol is in
mcp/jsonrpc.py and the tools in mcp/calls.py; this route checks the HTTP side (media types,
the version header), keeps each tools/call under its caller and request id so that a
client's notifications/cancelled reaches its jobs (mcp/watch.py), and, for a client that
accepts an event stream or speaks 2026-07-28, follows a call on this connection's thread
(mcp/progress.py): progress notifications when it sent a progressToken and takes a stream,
and a cancel when it hangs up.

The caller is the MCP session: `initialize` (2025-11-25 and older) answers a fresh
Mcp-Session-Id, which the client sends back. It names the client, nothing more: the server
keeps no state per session. Protocol 2026-07-28 has no session id; its client cancels by
closing the connection."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .. import json_text
from ..config import Config, ConfigError
from ..errors import HttpError
from ..http.request import Request
from ..http.response import Response
from ..mcp import calls, jsonrpc, modern, profile, progress, tools
from ..mcp.errors import RpcError
from ..mcp.watch import Call, Running
from ..protocol import EVENT_STREAM, JSON, mcp_call_followed
from .exec_request import media_type

if TYPE_CHECKING:
    from ..service import Service

SESSION_HEADER = "Mcp-Session-Id"


def offered(config: Config) -> tools.Selection:
    """The tools /mcp offers under config; a tool name that is no tool's is refused (the
    server does not start)."""
    try:
        return tools.choose(config.mcp_read_only, config.mcp_tools, config.mcp_exclude_tools)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def running_calls() -> Running:
    """The registry of running tool calls a service keeps (its mcp_calls)."""
    return Running()


def post_mcp(service: Service, req: Request) -> Response:
    """MCP JSON-RPC: server/discover, initialize, tools/list, tools/call; notifications get 202."""
    kind, _ = media_type(req.content_type)
    if kind and kind != JSON:
        raise HttpError(415, f"Content-Type {kind!r} is not supported on /mcp; send application/json")
    version = req.headers.get(modern.VERSION_HEADER)
    if version is not None and version not in modern.ALL_VERSIONS:
        refusal = modern.unsupported(version)
        return _json({"jsonrpc": "2.0", "id": None, "error": refusal.error()}, status=400)
    accept = req.headers.get("Accept", "")
    if accept and not any(t in accept for t in (JSON, "*/*", "application/*")):
        raise HttpError(406, "/mcp answers application/json; accept it", type="NotAcceptable")
    body = req.body()
    hooks = _Hooks(service, req)
    # Following a call needs this thread free of Blender's: a request served on the main
    # thread itself (pumps/main_loop.py hands any that accepts a stream, and any 2026-07-28
    # tool call, to a thread) runs as it always did.
    if not req.inline and mcp_call_followed(req.headers):
        try:
            message = jsonrpc.parse(body)
        except ValueError:  # TooLong too: handle() answers it below
            pass
        else:
            if _followed(message, req.headers):
                return _follow(service, req, message, hooks)
            return _answer(jsonrpc.handle_message(message, req.headers, hooks.call_tool,
                                                  server_version=_version(service), offered=hooks.offered,
                                                  hooks=hooks, files=service.files), req, hooks)
    answer = jsonrpc.handle(body, req.headers, hooks.call_tool, server_version=_version(service),
                            offered=hooks.offered, hooks=hooks, files=service.files)
    return _answer(answer, req, hooks)


def _followed(message: Any, headers: Mapping[str, str]) -> bool:
    """A call of a known tool whose client may want its progress (it sent a token) or may
    cancel by hanging up (2026-07-28). A request that fails the 2026-07-28 checks is not
    followed: its error is a plain JSON answer with its HTTP status."""
    if not isinstance(message, dict) or message.get("method") != "tools/call" or "id" not in message:
        return False
    params = message.get("params")
    if not isinstance(params, dict) or params.get("name") not in tools.BY_NAME:
        return False
    is_modern = modern.is_modern(message, headers)
    if is_modern:
        try:
            modern.envelope("tools/call", params, headers)
        except RpcError:
            return False
    return _progress_token(message) is not None or is_modern


def _follow(service: Service, req: Request, message: dict[str, Any], hooks: _Hooks) -> Response:
    """Run the call on a thread of its own while this one follows it."""
    call = Call()
    hooks.follow = call

    def run() -> None:
        answer = None
        try:
            answer = jsonrpc.handle_message(message, req.headers, hooks.call_tool,
                                            server_version=_version(service), offered=hooks.offered,
                                            hooks=hooks, files=service.files)
        finally:
            call.finish(answer)

    threading.Thread(target=run, name="blender-http-mcp-call", daemon=True).start()
    token = _progress_token(message)
    if token is None or not req.accepts(EVENT_STREAM):  # no progress: its answer alone
        progress.wait(call, req.peer_closed)
        return _answer(call.answer, req, hooks)
    return Response(stream=progress.sse(call, token, message.get("id"), req.peer_closed),
                    content_type=EVENT_STREAM, headers=dict(progress.SSE_HEADERS))


def _progress_token(message: dict[str, Any]) -> Any:
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    return token if isinstance(token, (str, int)) and not isinstance(token, bool) else None


def _answer(answer: Any, req: Request, hooks: _Hooks) -> Response:
    if answer is None:
        return Response(status=202)
    if hooks.withdrawn and req.accepts(EVENT_STREAM):
        # The client cancelled the call with notifications/cancelled: no answer, as the
        # protocol asks, in the one form a request may get none (an event stream that ends).
        return Response(stream=iter(()), content_type=EVENT_STREAM)
    headers = {SESSION_HEADER: hooks.minted} if hooks.minted else {}
    status = modern.http_status(answer) if _is_modern(answer, req) else 200
    return _json(answer, status=status, headers=headers)


def _is_modern(answer: Any, req: Request) -> bool:
    """A 2026-07-28 exchange, whose errors carry their HTTP status (older ones answer 200)."""
    version = req.headers.get(modern.VERSION_HEADER)
    if version is not None:
        return version not in jsonrpc.VERSIONS
    error = answer.get("error") if isinstance(answer, dict) else None
    return isinstance(error, dict) and error.get("code") in (jsonrpc.HEADER_MISMATCH,
                                                             jsonrpc.UNSUPPORTED_PROTOCOL_VERSION)


def _json(answer: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=json_text.utf8(answer, default=str), content_type=JSON,
                    headers=headers or {})


def _version(service: Service) -> str:
    return str(service.health()["addon"])


class _Hooks:
    """One request's side of the protocol: who the caller is, the call being followed (when
    this thread follows one), the session id minted for an initialize."""

    def __init__(self, service: Service, req: Request) -> None:
        self.service = service
        self.req = req
        version = req.headers.get(modern.VERSION_HEADER)
        # A 2026-07-28 call is cancelled by hanging up, never by a notification: kept under
        # a caller no notification can name.
        self.caller = (secrets.token_hex(8) if version is not None and version not in jsonrpc.VERSIONS
                       else req.headers.get(SESSION_HEADER) or "")
        # The tools this request may see and call (a gateway's read-only key narrows them).
        self.offered = profile.for_request(service.mcp_tools, req.headers)
        self.follow: Call | None = None
        self.minted: str | None = None
        self.withdrawn = False  # the call was cancelled by the client's notification
        self._current: Call | None = None

    def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return calls.call_tool(self.service, name, arguments, inline=self.req.inline, offered=self.offered,
                               call=self._current)

    @contextlib.contextmanager
    def calling(self, request_id: Any) -> Iterator[Call]:
        with self.service.mcp_calls.tracking(self.caller, request_id, self.follow) as call:
            self._current = call
            try:
                yield call
            finally:
                self._current = None
                self.withdrawn = call.withdrawn

    def notified(self, method: str, params: Mapping[str, Any]) -> None:
        if method == "notifications/cancelled" and "requestId" in params:
            reason = params.get("reason")
            self.service.mcp_calls.cancel(self.caller, params["requestId"],
                                          reason if isinstance(reason, str) else "cancelled by the client")

    def opened(self) -> None:
        if not self.caller:
            self.minted = secrets.token_urlsafe(18)
