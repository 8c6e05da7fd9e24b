"""The `blender-http` command. Exit codes: 0 ok, 1 the code (or the request) failed, 2 usage,
3 cannot reach or start Blender. The server commands live here; the client commands in
cli_exec.py, cli_jobs.py and cli_install.py."""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

import click

from blender_http_addon.config import Config, ConfigError

from . import __version__, launcher, state
from .cli_terminal import Unreachable, spinner

# The client commands, imported when run (or listed in --help): the server commands start
# Blender and should not wait for the HTTP client library to load first.
CLIENT_COMMANDS = {
    "status": "cli_exec:status",
    "exec": "cli_exec:exec_command",
    "render": "cli_render:render",
    "jobs": "cli_jobs:jobs",
    "batch": "cli_batch:batch",
    "install": "cli_install:install",
    "find-blender": "cli_install:find_blender",
    "mcp": "cli_mcp:mcp_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *CLIENT_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in CLIENT_COMMANDS:
            module, attr = CLIENT_COMMANDS[name].split(":")
            command: click.Command = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
            return command
        return super().get_command(ctx, name)


def _server_options(func: Any) -> Any:
    func = click.option("--token", default=None,
                        help="Bearer token for every route but /health [env BLENDER_HTTP_TOKEN].")(func)
    func = click.option("--port", type=int, default=None,
                        help="Port; 0 picks a free one [env BLENDER_HTTP_PORT, default 7777].")(func)
    func = click.option("--host", default=None,
                        help="Address to bind [env BLENDER_HTTP_HOST, default 127.0.0.1].")(func)
    func = click.option("--workdir", default=None, type=click.Path(file_okay=False),
                        help="Folder behind /files and WORKDIR [default: a scratch folder].")(func)
    return func


@click.group(cls=_LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blender-http")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Run Python inside a live Blender from anything that speaks HTTP."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@main.command()
@_server_options
@click.option("--ready-file", default=None, type=click.Path(dir_okay=False),
              help="Write {pid, port, url, mode} here once listening (useful with --port 0).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="warning", show_default=True,
              help="info logs one line per request: method, path, status, milliseconds.")
def serve(host: str | None, port: int | None, token: str | None, workdir: str | None,
          ready_file: str | None, log_level: str) -> None:
    """Serve from Blender as a Python module (bpy) in this process, recorded like `start`
    until it exits (so `stop`, `status` and `exec` find it)."""
    from . import embedded

    config = _config(host=host, port=port, token=token, workdir=workdir, ready_file=ready_file)
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("blender_http").setLevel(log_level.upper())
    recorded: list[int] = []

    def ready(url: str, version: str) -> None:
        recorded.append(_record_serve(url, config.token))
        click.echo(f"blender-http: Blender {version} (module mode) listening on {url}", err=True)

    try:
        embedded.serve(config, on_ready=ready)
    except embedded.BpyMissing as exc:
        raise Unreachable(str(exc)) from exc
    except OSError as exc:
        raise Unreachable(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
    finally:
        for recorded_port in recorded:
            state.remove(recorded_port, pid=os.getpid())
    if recorded:
        click.echo("blender-http: stopped", err=True)


def _record_serve(url: str, token: str | None) -> int:
    port = int(url.rsplit(":", 1)[1])
    state.save(port, {"pid": os.getpid(), "port": port, "url": url, "mode": "module",
                      "token": token, "by": "serve"})
    return port


@main.command()
@_server_options
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
    config = _config(host=host, port=port, token=token, workdir=workdir)  # refuse unsafe settings early
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


@main.command()
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
    from .settings import default_token

    try:
        how = launcher.stop_url(url, token if token is not None else default_token(), timeout)
    except launcher.LaunchError as exc:
        raise Unreachable(str(exc)) from exc
    click.echo(f"blender-http: {url} {how}")


def _config(**overrides: Any) -> Config:
    try:
        config = Config.from_env(**overrides)
        config.validate()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return config


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("gateway_args", nargs=-1, type=click.UNPROCESSED)
def gateway(gateway_args: tuple[str, ...]) -> None:
    """The FastAPI gateway (needs the [gateway] extra); every argument goes to it, try
    `blender-http gateway --help`."""
    try:
        from blender_http_gateway.cli import main as gateway_main
    except ImportError as exc:
        raise click.UsageError(f"the gateway is not installed ({exc}): "
                               "pip install 'blender-http[gateway]'") from exc
    gateway_main(args=list(gateway_args), prog_name="blender-http gateway")


if __name__ == "__main__":
    main()
