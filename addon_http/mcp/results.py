"""What a tool call answers (an MCP CallToolResult): JSON as text content, images as
image content, and failures as tool errors (isError) that the model reads and acts on."""

from __future__ import annotations

import base64
from typing import Any

from .. import json_text
from ..errors import HttpError


def data(value: Any) -> dict[str, Any]:
    """A successful call whose value is JSON."""
    return {"content": [_text(value)], "isError": False}


def image(png: bytes, details: dict[str, Any]) -> dict[str, Any]:
    """A PNG as image content, and what it shows as text."""
    return {"content": [{"type": "image", "data": base64.b64encode(png).decode("ascii"),
                         "mimeType": "image/png"}, _text(details)], "isError": False}


def failure(error: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A call that failed: the error (type, message, and whatever else it carries), and
    extra facts beside it (e.g. the output printed before it)."""
    return {"content": [_text({"ok": False, "error": error, **extra})], "isError": True}


def from_http_error(exc: HttpError) -> dict[str, Any]:
    """The tool error for an HttpError raised by the work behind a tool."""
    return failure({"status": exc.status, **exc.body()["error"]})


def _text(value: Any) -> dict[str, Any]:
    return {"type": "text", "text": json_text.dumps(value, ensure_ascii=False, default=str)}
