"""What the server commands (serve, start) share: the options that configure a server, and
the add-on's Config built from them. Light on imports, like terminal.py."""

from __future__ import annotations

from typing import Any

import click

from blender_http_addon.config import Config, ConfigError
from blender_http_addon.mcp import tools


def server_options(func: Any) -> Any:
    """--host, --port, --token and --workdir."""
    func = click.option("--token", default=None,
                        help="Bearer token for every route but /health [env BLENDER_HTTP_TOKEN].")(func)
    func = click.option("--port", type=int, default=None,
                        help="Port; 0 picks a free one [env BLENDER_HTTP_PORT, default 7777].")(func)
    func = click.option("--host", default=None,
                        help="Address to bind [env BLENDER_HTTP_HOST, default 127.0.0.1].")(func)
    func = click.option("--workdir", default=None, type=click.Path(file_okay=False),
                        help="Folder behind /files and WORKDIR [default: a scratch folder].")(func)
    return func


def server_config(**overrides: Any) -> Config:
    """The server's Config from the environment and the options given; unsafe settings are
    a usage error."""
    try:
        config = Config.from_env(**overrides)
        config.validate()
        tools.choose(config.mcp_read_only, config.mcp_tools, config.mcp_exclude_tools)
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    return config
