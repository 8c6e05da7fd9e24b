"""What every command shares with the terminal: the exceptions that end a command with an
exit code (exit_codes.py), JSON output and the spinner. Light on imports: the server
commands (serve, start, stop) load this and not the HTTP client."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .exit_codes import EXIT_FAILED, EXIT_UNREACHABLE


class Unreachable(click.ClickException):
    """Blender cannot be reached or started (exit 3)."""

    exit_code = EXIT_UNREACHABLE


class Failed(click.ClickException):
    """The code, the job or the request failed (exit 1)."""

    exit_code = EXIT_FAILED


class Quiet(click.exceptions.Exit):
    """Exit with a status after the output has already said why."""


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=None, separators=(",", ":")))


class spinner:
    """A rich spinner on a terminal; nothing when output is piped or captured."""

    def __init__(self, text: str) -> None:
        self._status: Any = None
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status(text)

    @property
    def active(self) -> bool:
        """True when the spinner shows (stderr is a terminal)."""
        return self._status is not None

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def __enter__(self) -> spinner:
        if self._status is not None:
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)
