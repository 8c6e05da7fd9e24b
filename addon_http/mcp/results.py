"""What a tool call answers (an MCP CallToolResult): JSON as text content, images as
image content, and failures as tool errors (isError) that the model reads and acts on.

The builders keep a text item's value (under VALUE); `finish` writes its text within the
call's budget (budget.py), once the call is over."""

from __future__ import annotations

import base64
from typing import Any

from ..errors import HttpError
from . import budget

# A text item's JSON value, until finish() writes it as its "text".
VALUE = "_value"


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


def finish(result: dict[str, Any], max_chars: int, keep: budget.Keep) -> dict[str, Any]:
    """result with the text of its text items written, together at most max_chars characters
    (images are left as they are: they have their own cap)."""
    pending = [item for item in result["content"] if VALUE in item]
    others = sum(len(item.get("text", "")) for item in result["content"] if item.get("type") == "text"
                 and VALUE not in item)
    texts = [budget.dumps(item[VALUE]) for item in pending]
    if others + sum(len(text) for text in texts) > max_chars and pending:
        # the largest one is cut to what the others leave
        largest = max(range(len(pending)), key=lambda i: len(texts[i]))
        room = max_chars - others - sum(len(t) for i, t in enumerate(texts) if i != largest)
        texts[largest] = budget.fit(pending[largest][VALUE], max(room, budget.MIN_PIECE), keep,
                                    texts[largest])
    for item, text in zip(pending, texts, strict=True):
        del item[VALUE]
        item["text"] = text
    return result


def _text(value: Any) -> dict[str, Any]:
    return {"type": "text", VALUE: value}
