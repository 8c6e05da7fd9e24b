"""Jupyter and IPython: `%load_ext blender_http` gives the `%%blender` cell magic, shows PNG
and JPEG bytes (a render, a screenshot, an image result) inline, and renders an ExecResult
as HTML or Markdown.

    %%blender --session scene
    import bpy
    print(len(bpy.data.objects))
    bpy.data.objects[0].name
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import shlex
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import ExecError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .envelope import ExecResult
    from .sync_client import Blender

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


# -- ExecResult in a notebook -------------------------------------------------------------

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


# -- the extension ------------------------------------------------------------------------

class CellFailed(ExecError):
    """The cell's code failed in Blender: IPython shows Blender's traceback, not the client's."""

    def _render_traceback_(self) -> list[str]:
        from .cli_support import failure_text

        return failure_text(self).splitlines()


class Clients:
    """One client per server URL, kept for the kernel's life."""

    def __init__(self) -> None:
        self._open: dict[str | None, Blender] = {}

    def get(self, url: str | None) -> Blender:
        if url not in self._open:
            from .sync_client import Blender

            self._open[url] = Blender(url)
        return self._open[url]


def run_cell(blender: Blender, cell: str, session: str | None, timeout: float | None) -> Any:
    """Run a cell in Blender: its printed output goes to the notebook, its result back."""
    try:
        result = blender.exec(cell, session=session, timeout=timeout)
    except ExecError as exc:
        sys.stdout.write(exc.stdout)
        sys.stderr.write(exc.stderr)
        raise CellFailed(exc.envelope, exc.status) from None
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return None if result.result is None else displayable(result.result)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """`%load_ext blender_http`: the %%blender magic and inline images."""
    clients = Clients()

    def blender(line: str, cell: str) -> Any:
        """Run the cell in Blender; print its output and show its result (images inline).
        Options: --session NAME, --url URL, --timeout SECONDS."""
        options = magic_options(line)
        return run_cell(clients.get(options.url), cell, options.session, options.timeout)

    ipython.magics_manager.register_function(blender, magic_kind="cell", magic_name="blender")
    assert ipython.display_formatter is not None
    formatters = ipython.display_formatter.formatters
    for media in IMAGE_TYPES.values():
        formatters[media].for_type(bytes, _image_formatter(media))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        from IPython.core.error import UsageError

        raise UsageError(f"%%blender: {message}")


def magic_options(line: str) -> argparse.Namespace:
    """The options on the %%blender line."""
    parser = _Parser(prog="%%blender", add_help=False)
    parser.add_argument("--session", default=None)
    parser.add_argument("--url", default=None)
    parser.add_argument("--timeout", type=float, default=None)
    return parser.parse_args(shlex.split(line))


def _image_formatter(media: str) -> Any:
    def show(data: bytes) -> bytes | None:
        return data if image_type(data) == media else None  # None: other bytes print as usual
    return show
