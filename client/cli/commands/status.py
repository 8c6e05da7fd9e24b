"""`blender-http status`: is the server up, and how loaded."""

from __future__ import annotations

import time
from typing import Any

import click

from ..._sync.client import Blender
from ...errors import TransportError, Unavailable
from ..support import client_errors, client_options, connect
from ..terminal import emit_json


@click.command()
@client_options
@click.option("--json", "as_json", is_flag=True, help="Print /health as JSON.")
@click.option("--wait", "wait_s", type=float, default=None, metavar="SECONDS",
              help="Wait up to SECONDS for the server (or a gateway's first worker) to answer, "
                   "e.g. right after starting it in the background.")
def status(url: str | None, token: str | None, as_json: bool, wait_s: float | None) -> None:
    """Is the server up? Its mode, Blender version and load (exit 3 if unreachable)."""
    with connect(url, token) as blender, client_errors(as_json):
        health = _health(blender, wait_s)
    if as_json:
        emit_json(health)
        return
    click.echo(f"url\t{blender.url}")
    for key, value in health.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, (list, dict)):
            value = len(value)
        click.echo(f"{key}\t{value}")


def _health(blender: Blender, wait_s: float | None) -> dict[str, Any]:
    """/health, asked again (every 0.2 s) while the server cannot answer yet and wait_s lasts."""
    deadline = time.monotonic() + (wait_s or 0.0)
    while True:
        try:
            return blender.health()
        except (TransportError, Unavailable):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
