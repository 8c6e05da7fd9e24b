"""`blender-http install` and `blender-http find-blender`."""

from __future__ import annotations

import sys

import click

from . import discovery, installer
from .cli_terminal import Failed, Unreachable, emit_json, spinner


@click.command()
@click.option("--blender", "blender_path", default=None,
              help="A Blender executable, or a Python with the bpy module "
                   "[default: the one find-blender finds].")
@click.option("--bpy", "use_bpy", is_flag=True, help="Install into this Python's bpy module.")
@click.option("--no-save", is_flag=True,
              help="Enable it for the check only; leave the user preferences as they are.")
def install(blender_path: str | None, use_bpy: bool, no_save: bool) -> None:
    """Install the add-on into Blender and enable it: the legacy add-on for Blender < 4.2,
    the extension for 4.2+. A background Blender installs it and checks it registered."""
    if blender_path and use_bpy:
        raise click.UsageError("give either --blender or --bpy")
    target = sys.executable if use_bpy else blender_path
    if target is None:
        found = discovery.find()
        if found is None:
            raise Unreachable("no Blender found: pass --blender PATH or set BLENDER_PATH")
        target = found.path
    try:
        with spinner(f"installing into {target}"):
            done = installer.install(target, save=not no_save)
    except installer.InstallError as exc:
        raise Failed(str(exc)) from exc
    where = f" in {done.path}" if done.path else ""
    kept = "enabled and saved in the preferences" if done.saved else "enabled (preferences not saved)"
    click.echo(f"installed the blender-http {done.form} ({done.module}) into Blender {done.version}"
               f"{where}; {kept}")


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
