"""`blender-http stop`: stop a server that `start` launched or `serve` runs, or one by URL."""

from __future__ import annotations

import click

from ...local import launcher, state
from ...settings import default_token
from ..terminal import Unreachable


@click.command()
@click.option("--port", type=int, default=None, help="Which recorded server (default: the only one).")
@click.option("--all", "stop_all", is_flag=True, help="Stop every recorded server.")
@click.option("--url", default=None,
              help="A server no record names (e.g. started from the add-on's panel): stop its "
                   "server only; a Blender with a window keeps running.")
@click.option("--token", default=None, help="Token for --url [env BLENDER_HTTP_TOKEN].")
@click.option("--timeout", type=float, default=30.0, show_default=True,
              help="Seconds for the running job to finish before SIGTERM.")
def stop(port: int | None, stop_all: bool, url: str | None, token: str | None,
         timeout: float) -> None:
    """Stop a server that `start` launched or `serve` runs: the running job finishes first,
    then the process exits (a GUI Blender that `start` launched quits)."""
    records = state.load_all()
    if url is not None:
        records = [r for r in records if r.get("url") == url.rstrip("/")]
        if not records:
            _stop_unrecorded(url.rstrip("/"), token, timeout)
            return
    if port is not None:
        records = [r for r in records if r.get("port") == port]
    if not records:
        raise Unreachable("no server started by `blender-http start` or `serve` is recorded"
                          + (f" on port {port}" if port is not None else "")
                          + " (for one started another way, e.g. from the add-on's panel, "
                            "give --url)")
    # Records whose process is gone (a crash) are removed and said so; only live servers
    # make the choice ambiguous.
    gone = [r for r in records if isinstance(r.get("pid"), int) and not launcher.alive(r["pid"])]
    records = [r for r in records if r not in gone]
    for record in gone:
        click.echo(f"blender-http: {record.get('url')} (pid {record.get('pid')}) "
                   f"{launcher.stop(record, timeout=timeout)}")
    if len(records) > 1 and not stop_all:
        ports = ", ".join(str(r["port"]) for r in records)
        raise click.UsageError(f"several servers run (ports {ports}): give --port or --all")
    for record in records:
        how = launcher.stop(record, timeout=timeout)
        click.echo(f"blender-http: {record['url']} (pid {record['pid']}) {how}")


def _stop_unrecorded(url: str, token: str | None, timeout: float) -> None:
    try:
        how = launcher.stop_url(url, token if token is not None else default_token(), timeout)
    except launcher.LaunchError as exc:
        raise Unreachable(str(exc)) from exc
    click.echo(f"blender-http: {url} {how}")
