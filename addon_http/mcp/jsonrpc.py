"""MCP's JSON-RPC layer over streamable HTTP, answered with application/json.

Stateless: no Mcp-Session-Id is issued, so any connection may send any request. The
protocol version is negotiated in `initialize` (the client's, when we speak it, else our
newest); later requests name theirs in the MCP-Protocol-Version header. Batches (JSON
arrays) exist only in 2025-03-26 and older. Malformed input gets a JSON-RPC error, never
an HTTP 500; notifications and responses alone get 202 with no body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import resources, tools, typed

if TYPE_CHECKING:
    from ..files.folder import WorkFolder

log = logging.getLogger("blender_http")

VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST = VERSIONS[-1]
BATCH_VERSIONS = frozenset({"2024-11-05", "2025-03-26"})
# Messages in one batch: each may be a tool call that runs on Blender's main thread.
MAX_BATCH = 100
# What of a client's method or tool name an error message repeats.
ECHO_CHARS = 80
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700, -32600, -32601, -32602, -32603)

_ALL = tools.Selection()

# (tool name, arguments) -> a CallToolResult (a dict with "content" and maybe "isError").
CallTool = Callable[[str, dict[str, Any]], dict[str, Any]]


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def handle(body: bytes, headers: Mapping[str, str], call_tool: CallTool, *,
           server_version: str, offered: tools.Selection = _ALL,
           files: WorkFolder | None = None) -> dict[str, Any] | list[Any] | None:
    """The answer to one POST body: a response, a batch of them, or None (202, no body).
    tools/list lists the tools offered; call_tool refuses the others (calls.call_tool).
    files: the work folder that resources/* serve."""
    version = headers.get("MCP-Protocol-Version") or typed.UNNAMED
    try:
        message = _parse(body)
    except TooLong as exc:
        return _error(None, INVALID_REQUEST, f"a batch of more than {MAX_BATCH} messages (read no further "
                                             f"than message {exc.args[0]}); at most {MAX_BATCH} per request")
    except (ValueError, RecursionError) as exc:
        return _error(None, PARSE_ERROR, f"the body is not valid JSON: {exc}")
    if isinstance(message, list):
        if version not in BATCH_VERSIONS:
            return _error(None, INVALID_REQUEST, f"protocol version {version} does not allow batches; "
                                                 "send one JSON-RPC message per request")
        if not message:
            return _error(None, INVALID_REQUEST, "an empty batch")
        if len(message) > MAX_BATCH:
            return _error(None, INVALID_REQUEST, f"a batch of {len(message)} messages; at most {MAX_BATCH} "
                                                 "per request")
        answers = [a for a in (_one(m, call_tool, server_version, offered, version, files) for m in message)
                   if a is not None]
        return answers or None
    return _one(message, call_tool, server_version, offered, version, files)


class TooLong(ValueError):
    """A batch with more messages than MAX_BATCH (args: how many were read)."""


_DECODER = json.JSONDecoder()
_SPACE = frozenset(" \t\n\r")


def _parse(body: bytes) -> Any:
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


def _one(message: Any, call_tool: CallTool, server_version: str,
         offered: tools.Selection, version: str, files: WorkFolder | None) -> dict[str, Any] | None:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return _error(_id_of(message), INVALID_REQUEST, 'not a JSON-RPC 2.0 message (need "jsonrpc": "2.0")')
    method = message.get("method")
    if method is None and ("result" in message or "error" in message):
        return None  # a client's response to a request we never send
    if not isinstance(method, str):
        return _error(_id_of(message), INVALID_REQUEST, '"method" must be a string')
    if "id" not in message:
        return None  # a notification: nothing to answer
    request_id = message["id"]
    if request_id is None or isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return _error(None, INVALID_REQUEST, '"id" must be a string or an integer')
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return _error(request_id, INVALID_PARAMS, '"params" must be an object')
    try:
        return {"jsonrpc": "2.0", "id": request_id,
                "result": _dispatch(method, params, call_tool, server_version, offered, version, files)}
    except (RpcError, resources.Refused) as exc:
        return _error(request_id, exc.code, exc.message)
    except Exception as exc:  # a bug in a tool must reach the client as an error, not a 500
        log.exception("MCP %s", method)
        return _error(request_id, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")


def _dispatch(method: str, params: dict[str, Any], call_tool: CallTool,
              server_version: str, offered: tools.Selection, version: str,
              files: WorkFolder | None) -> dict[str, Any]:
    if method == "initialize":
        return initialize_result(params.get("protocolVersion"), server_version)
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": typed.listed(offered.tools, version)}
    if method == "tools/call":
        name = params.get("name")
        if not isinstance(name, str) or name not in tools.BY_NAME:
            raise RpcError(INVALID_PARAMS,
                           f"unknown tool {echo(name)}; the tools are "
                           f"{', '.join(tool['name'] for tool in offered.tools)}")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, '"arguments" must be an object')
        return typed.for_version(call_tool(name, arguments), version)
    if method in resources.METHODS:
        return resources.answer(method, params, files, version)
    raise RpcError(METHOD_NOT_FOUND, f"method {echo(method)} is not supported")


def echo(value: Any) -> str:
    """A client's value as an error message repeats it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}... ({len(text)} characters)"


def initialize_result(requested: Any, server_version: str) -> dict[str, Any]:
    """The answer to initialize: the client's version when we speak it, else our newest."""
    version = requested if requested in VERSIONS else LATEST
    return {"protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False},
                             "resources": {"subscribe": False, "listChanged": False}},
            "serverInfo": {"name": tools.SERVER_NAME, "title": "Blender", "version": server_version},
            "instructions": tools.INSTRUCTIONS}


def _id_of(message: Any) -> Any:
    if isinstance(message, dict) and isinstance(message.get("id"), (str, int)):
        return message["id"]
    return None


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
