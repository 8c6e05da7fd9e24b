"""The `blender-http` command: the group, and where each command lives (commands/, one
module per command, imported when it runs or --help lists it). Exit codes: exit_codes.py."""

from __future__ import annotations

import codecs
import importlib
import sys

import click

from .._version import __version__

# Command name -> "module:attribute" in commands/. Loaded on use: the server commands start
# Blender and should not wait for the HTTP client library to load first.
COMMANDS = {
    "serve": "serve:serve",
    "start": "start:start",
    "stop": "stop:stop",
    "gateway": "gateway:gateway",
    "status": "status:status",
    "exec": "exec:exec_command",
    "render": "render:render",
    "jobs": "jobs:jobs",
    "batch": "batch:batch",
    "install": "install:install",
    "find-blender": "find_blender:find_blender",
    "mcp": "mcp:mcp_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attr = COMMANDS[name].split(":")
            command: click.Command = getattr(importlib.import_module(f"{__package__}.commands.{module}"),
                                             attr)
            return command
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blender-http")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Run Python inside a live Blender from anything that speaks HTTP."""
    _printable_stdout()
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _printable_stdout() -> None:
    """What Blender printed never ends a command with UnicodeEncodeError: a pipe or file on
    Windows carries the ANSI code page (e.g. cp1252), so stdout writes what that cannot
    encode as \\u escapes, as Python's stderr always does (a console is UTF-8 anyway)."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if codecs.lookup(encoding).name != "utf-8" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="backslashreplace")
