"""`blender-http serve`: Blender as a Python module (bpy) in this process."""

from __future__ import annotations

import logging
import os

import click

from blender_http_addon.config import ConfigError

from ...local import embedded, state
from ..server_options import server_config, server_options
from ..terminal import Unreachable


@click.command()
@server_options
@click.option("--ready-file", default=None, type=click.Path(dir_okay=False),
              help="Write {pid, port, url, mode} here once listening (useful with --port 0).")
@click.option("--no-record", is_flag=True,
              help="Do not record this server for other commands (a server another program "
                   "started for itself: a gateway's worker, the Blender of `mcp --spawn`).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="warning", show_default=True,
              help="info logs one line per request: method, path, status, milliseconds.")
def serve(host: str | None, port: int | None, token: str | None, workdir: str | None,
          ready_file: str | None, no_record: bool, log_level: str) -> None:
    """Serve from Blender as a Python module (bpy) in this process, recorded like `start`
    until it exits (so `stop`, `status` and `exec` find it)."""
    config = server_config(host=host, port=port, token=token, workdir=workdir, ready_file=ready_file)
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("blender_http").setLevel(log_level.upper())
    recorded: list[int] = []
    listening: list[str] = []

    def ready(url: str, version: str) -> None:
        listening.append(url)
        if not no_record:
            recorded.append(_record_serve(url, config.token))
        click.echo(f"blender-http: Blender {version} (module mode) listening on {url}", err=True)

    try:
        embedded.serve(config, on_ready=ready)
    except embedded.BpyMissing as exc:
        raise Unreachable(str(exc)) from exc
    except ConfigError as exc:  # a setting this Blender cannot honour (BLENDER_HTTP_CYCLES_DEVICE)
        raise click.UsageError(str(exc)) from exc
    except OSError as exc:
        raise Unreachable(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
    finally:
        for recorded_port in recorded:
            state.remove(recorded_port, pid=os.getpid())
    if listening:
        click.echo("blender-http: stopped", err=True)


def _record_serve(url: str, token: str | None) -> int:
    port = int(url.rsplit(":", 1)[1])
    state.save(port, {"pid": os.getpid(), "port": port, "url": url, "mode": "module",
                      "token": token, "by": "serve"})
    return port
