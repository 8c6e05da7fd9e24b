"""MCP's JSON-RPC layer over streamable HTTP.

Two eras. Up to 2025-11-25 the version is negotiated in `initialize` (the client's, when
we speak it, else our newest handshake version) and later requests name theirs in the
MCP-Protocol-Version header; batches (JSON arrays) exist only in 2025-03-26 and older.
From 2026-07-28 there is no initialize: each request carries its version and
capabilities in `params._meta`, is checked against its routing headers (modern.py), and
every result says `resultType`. Malformed input gets a JSON-RPC error, never an HTTP 500;
notifications and responses alone get 202 with no body.

Which method does what is one table, METHODS; a tools/call runs through the route's
`call_tool`, inside `hooks.calling` (which follows its jobs: watch.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from . import modern, resources, tools, typed
from .errors import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    RpcError,
)

if TYPE_CHECKING:
    from ..files.folder import WorkFolder

log = logging.getLogger("blender_http")

VERSIONS = modern.HANDSHAKE_VERSIONS  # what initialize negotiates
LATEST = VERSIONS[-1]
BATCH_VERSIONS = frozenset({"2024-11-05", "2025-03-26"})
# Messages in one batch: each may be a tool call that runs on Blender's main thread.
MAX_BATCH = 100
# What of a client's method or tool name an error message repeats.
ECHO_CHARS = 80
CAPABILITIES = {"tools": {"listChanged": False}, "resources": {"subscribe": False, "listChanged": False}}

__all__ = ["BATCH_VERSIONS", "ECHO_CHARS", "HEADER_MISMATCH", "INTERNAL_ERROR", "INVALID_PARAMS",
           "INVALID_REQUEST", "LATEST", "MAX_BATCH", "METHOD_NOT_FOUND", "PARSE_ERROR",
           "UNSUPPORTED_PROTOCOL_VERSION", "VERSIONS", "RpcError", "handle", "handle_message"]

_ALL = tools.Selection()

# (tool name, arguments) -> a CallToolResult (a dict with "content" and maybe "isError").
CallTool = Callable[[str, dict[str, Any]], dict[str, Any]]


class Hooks(Protocol):
    """What the route does around the protocol: follows each tools/call while it runs
    (keyed by its request id), and hears the client's notifications."""

    def calling(self, request_id: Any) -> contextlib.AbstractContextManager[Any]: ...
    def notified(self, method: str, params: Mapping[str, Any]) -> None: ...
    def opened(self) -> None: ...


class _NoHooks:
    def calling(self, request_id: Any) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def notified(self, method: str, params: Mapping[str, Any]) -> None:
        pass

    def opened(self) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class _Context:
    call_tool: CallTool
    server_version: str
    offered: tools.Selection
    modern: bool
    hooks: Hooks
    # The version the request speaks: what of typed results it knows (typed.py).
    version: str
    files: WorkFolder | None
    request_id: Any = None
    method: str = ""


def handle(body: bytes, headers: Mapping[str, str], call_tool: CallTool, *,
           server_version: str, offered: tools.Selection = _ALL, hooks: Hooks | None = None,
           files: WorkFolder | None = None) -> dict[str, Any] | list[Any] | None:
    """The answer to one POST body: a response, a batch of them, or None (202, no body).
    tools/list lists the tools offered; call_tool refuses the others (calls.call_tool).
    files: the work folder that resources/* serve."""
    try:
        message = parse(body)
    except TooLong as exc:
        return _error(None, INVALID_REQUEST, f"a batch of more than {MAX_BATCH} messages (read no further "
                                             f"than message {exc.args[0]}); at most {MAX_BATCH} per request")
    except (ValueError, RecursionError) as exc:
        return _error(None, PARSE_ERROR, f"the body is not valid JSON: {exc}")
    return handle_message(message, headers, call_tool, server_version=server_version, offered=offered,
                          hooks=hooks, files=files)


def handle_message(message: Any, headers: Mapping[str, str], call_tool: CallTool, *,
                   server_version: str, offered: tools.Selection = _ALL, hooks: Hooks | None = None,
                   files: WorkFolder | None = None) -> dict[str, Any] | list[Any] | None:
    """handle() of a body already parsed."""
    is_modern = modern.is_modern(message, headers)
    version = (modern.MODERN_VERSIONS[-1] if is_modern
               else headers.get(modern.VERSION_HEADER) or typed.UNNAMED)
    context = _Context(call_tool, server_version, offered, is_modern, hooks or _NoHooks(), version, files)
    if isinstance(message, list):
        if version not in BATCH_VERSIONS:
            return _error(None, INVALID_REQUEST, f"protocol version {version} does not allow batches; "
                                                 "send one JSON-RPC message per request")
        if not message:
            return _error(None, INVALID_REQUEST, "an empty batch")
        if len(message) > MAX_BATCH:
            return _error(None, INVALID_REQUEST, f"a batch of {len(message)} messages; at most {MAX_BATCH} "
                                                 "per request")
        answers = [a for a in (_one(m, headers, context) for m in message) if a is not None]
        return answers or None
    return _one(message, headers, context)


class TooLong(ValueError):
    """A batch with more messages than MAX_BATCH (args: how many were read)."""


_DECODER = json.JSONDecoder()
_SPACE = frozenset(" \t\n\r")


def parse(body: bytes) -> Any:
    """The body's JSON. A batch (a JSON array) is read one message at a time and no further
    than MAX_BATCH + 1: reading all of a batch of 100,000 messages (9 MB) held the
    interpreter for a quarter of a second, for an answer that is a refusal anyway."""
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    start = _skip(text, 0)
    if not text.startswith("[", start):
        return json.loads(text)
    messages: list[Any] = []
    at = _skip(text, start + 1)
    if text.startswith("]", at):
        at = _skip(text, at + 1)
        if at != len(text):
            raise ValueError(f"extra data after the batch at {at}")
        return messages
    while True:
        message, at = _DECODER.raw_decode(text, at)
        messages.append(message)
        at = _skip(text, at)
        if text.startswith("]", at):
            at = _skip(text, at + 1)
            if at != len(text):
                raise ValueError(f"extra data after the batch at {at}")
            return messages
        if not text.startswith(",", at):
            raise ValueError(f"expected ',' or ']' at {at}")
        if len(messages) > MAX_BATCH:
            raise TooLong(len(messages))
        at = _skip(text, at + 1)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _SPACE:
        at += 1
    return at


def _one(message: Any, headers: Mapping[str, str], context: _Context) -> dict[str, Any] | None:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return _error(_id_of(message), INVALID_REQUEST, 'not a JSON-RPC 2.0 message (need "jsonrpc": "2.0")')
    method = message.get("method")
    if method is None and ("result" in message or "error" in message):
        return None  # a client's response to a request we never send
    if not isinstance(method, str):
        return _error(_id_of(message), INVALID_REQUEST, '"method" must be a string')
    params = message.get("params")
    if params is None:
        params = {}
    if "id" not in message:  # a notification: nothing to answer
        if isinstance(params, dict) and not context.modern:
            context.hooks.notified(method, params)
        return None
    request_id = message["id"]
    if request_id is None or isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return _error(None, INVALID_REQUEST, '"id" must be a string or an integer')
    if not isinstance(params, dict):
        return _error(request_id, INVALID_PARAMS, '"params" must be an object')
    try:
        if context.modern:
            modern.envelope(method, params, headers)
        handler = METHODS.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"method {echo(method)} is not supported")
        result = handler(params, dataclasses.replace(context, request_id=request_id, method=method))
        if context.modern:
            result = {**result, **modern.cache_hints(method), "resultType": "complete"}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
    except RpcError as exc:
        return {"jsonrpc": "2.0", "id": request_id, "error": exc.error()}
    except resources.Refused as exc:
        return _error(request_id, exc.code, exc.message)
    except Exception as exc:  # a bug in a tool must reach the client as an error, not a 500
        log.exception("MCP %s", method)
        return _error(request_id, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")


def _initialize(params: dict[str, Any], context: _Context) -> dict[str, Any]:
    if context.modern:
        raise RpcError(METHOD_NOT_FOUND, "protocol 2026-07-28 has no initialize: send each request with "
                                         "its version in params._meta, or server/discover")
    context.hooks.opened()
    return initialize_result(params.get("protocolVersion"), context.server_version)


def _discover(params: dict[str, Any], context: _Context) -> dict[str, Any]:
    return modern.discover(_server_info(context.server_version), CAPABILITIES, tools.INSTRUCTIONS)


def _ping(params: dict[str, Any], context: _Context) -> dict[str, Any]:
    return {}


def _list_tools(params: dict[str, Any], context: _Context) -> dict[str, Any]:
    # The list is fixed while the server runs, in the same order every time (cacheable).
    return {"tools": typed.listed(context.offered.tools, context.version)}


def _call_tool(params: dict[str, Any], context: _Context) -> dict[str, Any]:
    name = params.get("name")
    if not isinstance(name, str) or name not in tools.BY_NAME:
        raise RpcError(INVALID_PARAMS,
                       f"unknown tool {echo(name)}; the tools are "
                       f"{', '.join(tool['name'] for tool in context.offered.tools)}")
    arguments = params.get("arguments")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, '"arguments" must be an object')
    with context.hooks.calling(context.request_id):
        return typed.for_version(context.call_tool(name, arguments), context.version)


def _resources(params: dict[str, Any], context: _Context) -> dict[str, Any]:
    return resources.answer(context.method, params, context.files, context.version)


Method = Callable[[dict[str, Any], _Context], dict[str, Any]]
METHODS: dict[str, Method] = {
    "initialize": _initialize,
    "server/discover": _discover,
    "ping": _ping,
    "tools/list": _list_tools,
    "tools/call": _call_tool,
    **{method: _resources for method in sorted(resources.METHODS)},
}


def echo(value: Any) -> str:
    """A client's value as an error message repeats it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}... ({len(text)} characters)"


def initialize_result(requested: Any, server_version: str) -> dict[str, Any]:
    """The answer to initialize: the client's version when we speak it, else our newest."""
    version = requested if requested in VERSIONS else LATEST
    return {"protocolVersion": version, "capabilities": CAPABILITIES,
            "serverInfo": _server_info(server_version), "instructions": tools.INSTRUCTIONS}


def _server_info(server_version: str) -> dict[str, Any]:
    return {"name": tools.SERVER_NAME, "title": "Blender", "version": server_version}


def _id_of(message: Any) -> Any:
    if isinstance(message, dict) and isinstance(message.get("id"), (str, int)):
        return message["id"]
    return None


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
