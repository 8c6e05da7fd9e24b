"""`blender-http start`: a Blender with the server inside, in its own process."""

from __future__ import annotations

import click

from ...local import launcher
from ..server_options import server_config, server_options
from ..terminal import Unreachable, spinner


@click.command()
@server_options
@click.option("--background", "-b", is_flag=True, help="Headless: blender --background.")
@click.option("--blender", "blender_path", default=None, help="Blender executable [env BLENDER_PATH].")
@click.option("--file", "blend_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A .blend file to open.")
@click.option("--factory-startup", is_flag=True, help="Ignore user preferences and startup file.")
@click.option("--xvfb", is_flag=True,
              help="Give the window a virtual display of its own (xvfb-run) that lives as long "
                   "as Blender: for machines without a desktop.")
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="Seconds to wait for Blender to answer /health.")
def start(host: str | None, port: int | None, token: str | None, workdir: str | None,
          background: bool, blender_path: str | None, blend_file: str | None,
          factory_startup: bool, xvfb: bool, timeout: float) -> None:
    """Start a Blender with the server inside; return once it runs jobs."""
    config = server_config(host=host, port=port, token=token, workdir=workdir)  # refuse unsafe settings early
    problem = launcher.display_problem(background=background, xvfb=xvfb)
    if problem:
        raise Unreachable(problem)
    if launcher.under_xvfb_run() and not (background or xvfb):
        click.echo("blender-http: warning: xvfb-run ends its display when `start` returns, and "
                   "Blender's window with it: use `blender-http start --xvfb` instead", err=True)
    env = {f"BLENDER_HTTP_{k.upper()}": str(v) for k, v in
           {"host": host, "port": port, "token": token, "workdir": workdir}.items() if v is not None}
    try:
        blender = launcher.find_blender(blender_path)
        with spinner(f"starting {blender}"):
            launched = launcher.start(blender=blender, background=background, env_overrides=env,
                                      blend_file=blend_file, factory_startup=factory_startup,
                                      timeout=timeout, token=config.token, xvfb=xvfb)
    except launcher.LaunchError as exc:
        raise Unreachable(str(exc)) from exc
    click.echo(f"blender-http: {launched.mode} Blender (pid {launched.pid}) listening on "
               f"{launched.url}", err=True)
    click.echo(launched.url)
