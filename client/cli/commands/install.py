"""`blender-http install`: the add-on into a Blender, enabled and checked."""

from __future__ import annotations

import sys

import click

from ...local import discovery, installer
from ..terminal import Failed, Unreachable, spinner


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
