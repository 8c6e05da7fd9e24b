"""MCP resources: the work folder's files, named `blender-http://work/<path>`
(resource_uris.py). resources/list pages them, resources/templates/list gives the one
template, resources/read answers one file whole: text when it is UTF-8, else base64.

Every call has bounds: a page of at most PAGE files after looking at most paged.MAX_ENTRIES
names, and a read of at most MAX_READ_BYTES (a larger file is paged with the read_file
tool). A read goes through the work folder's own access (files/folder.py): a name at a time from an open
folder, never through a symbolic link."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from ..errors import HttpError
from . import resource_uris, tools

if TYPE_CHECKING:
    from ..files.folder import WorkFolder

METHODS = frozenset({"resources/list", "resources/templates/list", "resources/read"})
PAGE = 100
# As much as one read_file page. /mcp is answered on Blender's main thread in module and
# background mode (pumps/parked.py): reading, base64 and JSON of 1 MB took 12-25 ms on the
# build machine, of 16 MiB 250-400 ms, which every other request would wait for.
MAX_READ_BYTES = tools.MAX_MAX_CHARS
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
# Resource not found: -32002 until 2025-11-25; later revisions say -32602 (SEP-2164).
NOT_FOUND_UNTIL_2025 = -32002


class Refused(Exception):
    """A resources request the server refuses: a JSON-RPC error (code, message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def answer(method: str, params: dict[str, Any], files: WorkFolder | None, version: str) -> dict[str, Any]:
    """The result of one resources/* request."""
    if files is None:
        raise Refused(METHOD_NOT_FOUND, f"{method}: this server has no work folder")
    if method == "resources/templates/list":
        return {"resourceTemplates": [{
            "uriTemplate": resource_uris.TEMPLATE, "name": "work-folder-file", "title": "A work-folder file",
            "description": "A file of the work folder Blender and the agent share, by its relative path "
                           "(e.g. renders/<job>.png, exports/scene.glb, mcp-results/<id>.json)."}]}
    if method == "resources/list":
        return _listing(files, params.get("cursor"))
    return _read(files, params.get("uri"), version)


def _listing(files: WorkFolder, cursor: Any) -> dict[str, Any]:
    found = files.page(_after(cursor), PAGE)
    out: dict[str, Any] = {"resources": [
        {"uri": resource_uris.uri(item["path"]), "name": item["path"],
         "mimeType": resource_uris.mime_type(item["path"]), "size": item["size"]}
        for item in found.files]}
    if found.resume is not None:
        out["nextCursor"] = base64.urlsafe_b64encode(
            json.dumps(list(found.resume)).encode("utf-8", "surrogateescape")).decode("ascii")
    return out


def _after(cursor: Any) -> tuple[str, ...] | None:
    """The path parts a cursor (a nextCursor of ours) continues after."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8", "surrogateescape")
        parts = json.loads(text)
    except (AttributeError, ValueError, binascii.Error, UnicodeError):
        parts = None
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise Refused(INVALID_PARAMS, "resources/list: the cursor is not one this server answered; "
                                      "start again without a cursor")
    return tuple(parts)


def _read(files: WorkFolder, uri: Any, version: str) -> dict[str, Any]:
    if not isinstance(uri, str):
        raise Refused(INVALID_PARAMS, 'resources/read needs "uri", a string')
    path = resource_uris.path_of(uri)
    if path is None:
        raise Refused(INVALID_PARAMS, f"{_echo(uri)} is not a resource of this server; its resources are "
                                      f"{resource_uris.TEMPLATE}")
    try:
        handle, size = files.open(path)
    except HttpError as exc:
        code = INVALID_PARAMS if exc.status != 404 or version > "2025-11-25" else NOT_FOUND_UNTIL_2025
        raise Refused(code, f"resource {_echo(uri)}: {exc.message}") from None
    with handle:
        data = handle.read(MAX_READ_BYTES + 1) if size <= MAX_READ_BYTES else b""
    if size > MAX_READ_BYTES or len(data) > MAX_READ_BYTES:  # or it grew meanwhile
        raise Refused(INVALID_PARAMS, f"resource {_echo(uri)} is {max(size, len(data)):,} bytes, more than "
                                      f"the {MAX_READ_BYTES:,} a read answers; page it with the read_file "
                                      f"tool (path {path!r}, offset, limit)")
    content: dict[str, Any] = {"uri": uri, "mimeType": resource_uris.mime_type(path)}
    try:
        content["text"] = data.decode("utf-8")
    except UnicodeDecodeError:
        content["blob"] = base64.b64encode(data).decode("ascii")
    return {"contents": [content]}


def _echo(value: str) -> str:
    return repr(value) if len(value) <= 200 else f"{value[:200]!r}... ({len(value)} characters)"
