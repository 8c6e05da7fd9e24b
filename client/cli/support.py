"""What the client commands share: the --url/--token and code options, turning client
errors into exit codes, and printing results."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import settings
from .._sync.client import Blender
from ..envelope import ExecResult
from ..errors import (
    AuthError,
    BlenderError,
    ConnectionLost,
    ExecError,
    ServerError,
    StatusError,
    TransportError,
    Unavailable,
    failure_text,
)
from .exit_codes import EXIT_FAILED
from .terminal import Failed, Quiet, Unreachable, emit_json

F = TypeVar("F", bound=Callable[..., Any])


def client_options(func: F) -> F:
    """--url and --token on a command that talks to a server."""
    func = click.option("--token", default=None,
                        help="Bearer token [env BLENDER_HTTP_TOKEN, else the one `start` recorded].")(func)
    func = click.option("--url", default=None,
                        help="Server URL [env BLENDER_HTTP_URL, else the server `start` recorded, "
                             "else http://127.0.0.1:7777].")(func)
    return func


def code_options(func: F) -> F:
    """The code to run and how: shared by `exec` and `jobs submit`."""
    func = click.option("--timeout", type=float, default=None,
                        help="Seconds before the server interrupts the code.")(func)
    func = click.option("--session", default=None, help="Run in this named persistent namespace.")(func)
    func = click.option("--args", "args_json", default=None, metavar="JSON",
                        help="A JSON object bound to `args` in the code.")(func)
    func = click.option("-c", "code", default=None, metavar="CODE", help="The code to run.")(func)
    return click.argument("source", required=False, metavar="[FILE | -]")(func)


def connect(url: str | None, token: str | None) -> Blender:
    """A client for the server this command talks to."""
    try:
        chosen_url, chosen_token = settings.choose(url, token)
    except settings.AmbiguousServer as exc:
        raise click.UsageError(str(exc)) from exc
    return Blender(chosen_url, token=chosen_token)


@contextlib.contextmanager
def client_errors(as_json: bool = False) -> Iterator[None]:
    """Exit codes for the client's failures: unreachable 3, everything else 1. With
    as_json the error shape goes to stdout as well, for scripts."""
    try:
        yield
    except BlenderError as exc:
        if as_json:
            emit_json(error_document(exc))
        if isinstance(exc, ExecError):
            print_failure(exc, as_json=as_json)
            raise Quiet(EXIT_FAILED) from exc
        if isinstance(exc, AuthError) and exc.status == 401:
            raise Failed(f"{exc} (give the token with --token or BLENDER_HTTP_TOKEN)") from exc
        if isinstance(exc, ConnectionLost):
            # Not 3: a script that retries on "cannot reach Blender" would run the code twice.
            raise Failed(str(exc)) from exc
        if isinstance(exc, TransportError | Unavailable) or (
                isinstance(exc, ServerError) and exc.status in (502, 504)):
            raise Unreachable(str(exc)) from exc
        raise Failed(str(exc)) from exc


def error_document(exc: BlenderError) -> dict[str, Any]:
    """The one error shape for any client failure (the envelope for a failed exec)."""
    if isinstance(exc, ExecError):
        return exc.envelope
    if isinstance(exc, StatusError) and isinstance(exc.body, dict) and "error" in exc.body:
        return exc.body
    return {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}}


def print_result(result: ExecResult) -> None:
    """The code's own output, then its result: strings as they are, anything else as JSON."""
    _write(sys.stdout, result.stdout)
    _write(sys.stderr, result.stderr)
    if result.result is None:
        return
    value = result.result
    click.echo(value if isinstance(value, str) else json.dumps(value))


def print_failure(exc: ExecError, *, as_json: bool = False) -> None:
    """What a failed run printed, then its traceback, on stderr (stdout stays parseable)."""
    if not as_json:
        _write(sys.stdout, exc.stdout)
        _write(sys.stderr, exc.stderr)
    click.echo(failure_text(exc), err=True)


def read_code(code: str | None, source: str | None) -> str:
    """The code of -c, or of a file, or of stdin for "-"."""
    if code is not None and source is not None:
        raise click.UsageError("give either -c CODE or a FILE, not both")
    if code is not None:
        return require_code(code)
    if source is None:
        raise click.UsageError("no code: give -c CODE, a FILE, or - to read stdin")
    if source == "-":
        return require_code(sys.stdin.read())
    try:
        return require_code(Path(source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {source}: {exc}", param_hint="FILE") from exc


def require_code(text: str) -> str:
    """The code, refused when it is blank: the server would answer 400 for it anyway."""
    if not text.strip():
        raise click.UsageError("the code is empty")
    return text


def parse_args(text: str | None) -> dict[str, Any] | None:
    """--args: a JSON object."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--args") from exc
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object, e.g. '{\"n\": 3}'", param_hint="--args")
    return value


def _write(stream: Any, text: str) -> None:
    if text:
        stream.write(text)
        stream.flush()
