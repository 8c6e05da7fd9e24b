"""Jupyter and IPython: `%load_ext blender_http` gives the `%%blender` cell magic and shows
PNG and JPEG bytes (a render, a screenshot, an image result) inline. How an ExecResult and
image bytes look is display.py's, in the core: an ExecResult shows as HTML or Markdown
without this extension.

    %%blender --session scene
    import bpy
    print(len(bpy.data.objects))
    bpy.data.objects[0].name
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from ..display import IMAGE_TYPES, displayable, image_type
from ..errors import ExecError, failure_text

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .._sync.client import Blender


class CellFailed(ExecError):
    """The cell's code failed in Blender: IPython shows Blender's traceback, not the client's."""

    def _render_traceback_(self) -> list[str]:
        return failure_text(self).splitlines()


class Clients:
    """One client per server URL, kept for the kernel's life."""

    def __init__(self) -> None:
        self._open: dict[str | None, Blender] = {}

    def get(self, url: str | None) -> Blender:
        if url not in self._open:
            from .._sync.client import Blender

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
