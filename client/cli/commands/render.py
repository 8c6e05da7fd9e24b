"""`blender-http render`: render the scene to a PNG, with progress on a terminal."""

from __future__ import annotations

from typing import Any

import click

from ..support import client_errors, client_options, connect
from ..wait import follow


@click.command()
@click.option("-o", "--output", default="render.png", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the PNG.")
@click.option("--engine", default=None,
              help="CYCLES, BLENDER_WORKBENCH or EEVEE (BLENDER_EEVEE, BLENDER_EEVEE_NEXT in 4.2+); "
                   "default: the scene's (EEVEE in a new scene: slow without a GPU).")
@click.option("--width", type=int, default=None, help="Pixels [default: the scene's, 1920].")
@click.option("--height", type=int, default=None, help="Pixels [default: the scene's, 1080].")
@click.option("--samples", type=int, default=None, help="Cycles/EEVEE samples [default: the scene's].")
@click.option("--camera", default=None, help="Camera object [default: the scene's].")
@click.option("--frame", type=int, default=None, help="Frame [default: the current one].")
@client_options
def render(output: str, url: str | None, token: str | None, **options: Any) -> None:
    """Render the scene to a PNG (the scene's settings are left as they were); prints the
    file's path. On a terminal the spinner shows the render's stage; Ctrl-C cancels it."""
    with connect(url, token) as blender, client_errors():
        job = blender.submit_render(**options)
        done = follow(job, "rendering").result
        blender.download(done["path"], output)
        blender.delete_file(done["path"])  # the work folder keeps no copy
    click.echo(f"blender-http: {done['width']}x{done['height']} PNG, {done['size']} bytes", err=True)
    click.echo(output)
