"""What a tool call answers (an MCP CallToolResult): JSON as text content, images as
image content, files as resource_link content, and failures as tool errors (isError) that
the model reads and acts on.

The builders keep a text item's value (under VALUE); `finish` writes its text within the
call's budget (budget.py), once the call is over. A typed tool (one with an outputSchema)
also answers that same JSON as structuredContent; typed.py drops what a client's protocol
version does not know."""

from __future__ import annotations

import base64
import json
from typing import Any

from ..errors import HttpError
from . import budget, resource_uris

# A text item's JSON value, until finish() writes it as its "text".
VALUE = "_value"


def data(value: Any) -> dict[str, Any]:
    """A successful call whose value is JSON."""
    return {"content": [_text(value)], "isError": False}


def image(png: bytes, details: dict[str, Any]) -> dict[str, Any]:
    """A PNG as image content, and what it shows as text."""
    return {"content": [{"type": "image", "data": base64.b64encode(png).decode("ascii"),
                         "mimeType": "image/png"}, _text(details)], "isError": False}


def with_file(result: dict[str, Any], path: str, size: int, description: str) -> dict[str, Any]:
    """result with a resource_link to a work-folder file it made (a render, an export)."""
    result["content"].append(resource_uris.link(path, size, description))
    return result


def failure(error: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A call that failed: the error (type, message, and whatever else it carries), and
    extra facts beside it (e.g. the output printed before it)."""
    return {"content": [_text({"ok": False, "error": error, **extra})], "isError": True}


def from_http_error(exc: HttpError) -> dict[str, Any]:
    """The tool error for an HttpError raised by the work behind a tool."""
    return failure({"status": exc.status, **exc.body()["error"]})


def finish(result: dict[str, Any], max_chars: int, keep: budget.Keep, *, typed: bool = False
           ) -> dict[str, Any]:
    """result with the text of its text items written, together at most max_chars characters
    (images are left as they are: they have their own cap). An answer over its budget also
    links the file that holds it whole. typed: a successful answer's JSON is also its
    structuredContent (the very JSON of its text, cut or not: output_schemas.py admits both)."""
    kept: list[tuple[str, int]] = []  # the files of whole answers, to link

    def keeping(text: str) -> tuple[str, int]:
        kept.append(keep(text))
        return kept[-1]

    _write_texts(result, max_chars, keeping)
    texts = [item["text"] for item in result["content"] if item.get("type") == "text"]
    if typed and not result.get("isError") and len(texts) == 1:
        result["structuredContent"] = json.loads(texts[0])
    for path, size in kept:
        result["content"].append(resource_uris.link(path, size, "the whole answer, as JSON"))
    return result


def _write_texts(result: dict[str, Any], max_chars: int, keep: budget.Keep) -> None:
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


def _text(value: Any) -> dict[str, Any]:
    return {"type": "text", VALUE: value}
