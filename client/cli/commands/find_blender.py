"""`blender-http find-blender`: the Blender that `start` and `install` would use."""

from __future__ import annotations

import click

from ...local import discovery
from ..terminal import Failed, Unreachable, emit_json, spinner


@click.command("find-blender")
@click.option("--blender", "blender_path", default=None, help="Check this executable instead.")
@click.option("--all", "find_all", is_flag=True, help="List every Blender found, best first.")
@click.option("--json", "as_json", is_flag=True, help="Print path, version and source as JSON.")
def find_blender(blender_path: str | None, find_all: bool, as_json: bool) -> None:
    """The Blender `start` and `install` would use: --blender, BLENDER_PATH, PATH, then the
    usual install places (Linux, macOS, Windows, snap, flatpak). Prints path and version."""
    if blender_path and not discovery.is_executable(blender_path):
        raise Unreachable(f"{blender_path} is not an executable file")
    with spinner("looking for Blender"):
        if find_all and not blender_path:
            found = discovery.find_all()
        else:
            one = discovery.find(blender_path)
            found = [one] if one is not None else []
    if as_json:
        emit_json([{"path": f.path, "version": f.version, "source": f.source} for f in found])
    else:
        for item in found:
            click.echo(f"{item.path}\t{item.version or 'unknown'}")
    if not found:
        raise Unreachable("no Blender found: install one, or set BLENDER_PATH")
    if blender_path and found[0].version is None:
        raise Failed(f"{blender_path} does not answer --version like Blender")
