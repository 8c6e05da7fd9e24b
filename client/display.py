"""How a notebook shows what Blender sent back: an ExecResult as HTML or Markdown (its
`_repr_html_` and `_repr_markdown_` call here), PNG and JPEG bytes as the image.

A leaf of the core: the standard library only, so the result classes can show themselves in
Jupyter without importing the notebook extension (ext/notebook.py), which builds on this.
"""

from __future__ import annotations

import base64
import html
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .envelope import ExecResult

IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def image_type(data: bytes) -> str | None:
    """The image media type of data by its signature, or None."""
    for signature, media in IMAGE_TYPES.items():
        if data.startswith(signature):
            return media
    return None


def as_bytes(value: Any) -> bytes | None:
    """A result's bytes: the server sends bytes as {"$bytes": base64}."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict) and set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
        return base64.b64decode(value["$bytes"])
    return None


class Image:
    """Image bytes that a notebook shows as the image."""

    def __init__(self, data: bytes, media: str) -> None:
        self.data, self.media = data, media

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {self.media: self.data, "text/plain": f"<{self.media}, {len(self.data)} bytes>"}


def displayable(value: Any) -> Any:
    """What a notebook shows for a result: an image for image bytes, else the value."""
    data = as_bytes(value)
    media = image_type(data) if data is not None else None
    return Image(data, media) if data is not None and media else value


def result_html(result: ExecResult) -> str:
    """An ExecResult as a small HTML block: the result, what the code printed, timings."""
    parts = ['<div class="blender-http-result">']
    if result.stdout:
        parts.append(f"<pre>{html.escape(result.stdout)}</pre>")
    if result.stderr:
        parts.append(f'<pre style="color:#b00">{html.escape(result.stderr)}</pre>')
    data = as_bytes(result.result)
    media = image_type(data) if data is not None else None
    if data is not None and media:
        parts.append(f'<img src="data:{media};base64,{base64.b64encode(data).decode()}"/>')
    elif result.result is not None:
        parts.append(f"<pre><b>{html.escape(_text(result.result))}</b></pre>")
    parts.append(f"<small>{html.escape(_footer(result))}</small></div>")
    return "".join(parts)


def result_markdown(result: ExecResult) -> str:
    """An ExecResult as Markdown: what the code printed, the result as JSON, timings."""
    parts = []
    if result.stdout:
        parts.append(f"```\n{result.stdout.rstrip()}\n```")
    if result.result is not None:
        parts.append(f"**result**\n```json\n{_text(result.result)}\n```")
    parts.append(f"*{_footer(result)}*")
    return "\n\n".join(parts)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _footer(result: ExecResult) -> str:
    took = f"{result.duration_ms:.1f} ms" if result.duration_ms is not None else "?"
    return f"ran in Blender in {took}" + (f", job {result.job}" if result.job else "")
