"""`blender-http exec`: run code in Blender, as a job that Ctrl-C cancels."""

from __future__ import annotations

import contextlib
from typing import IO, Any

import click

from ..support import (
    client_errors,
    client_options,
    code_options,
    connect,
    parse_args,
    print_result,
    read_code,
)
from ..terminal import emit_json
from ..wait import follow


@click.command("exec")
@code_options
@click.option("--arg", "file_args", multiple=True, metavar="NAME=@FILE",
              help="Send a file as args[NAME]: a .npy file arrives as a numpy array, any other "
                   "file as bytes (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole envelope as JSON.")
@client_options
def exec_command(source: str | None, code: str | None, args_json: str | None, session: str | None,
                 timeout: float | None, file_args: tuple[str, ...], as_json: bool, url: str | None,
                 token: str | None) -> None:
    """Run Python in Blender: -c CODE, a FILE, or - for stdin.

    Prints what the code printed, then its result (strings as they are, anything else as
    JSON). Exit 1 with the traceback on stderr if the code fails. Ctrl-C cancels the code in
    Blender, prints what it printed so far and exits 130."""
    text = read_code(code, source)
    args = parse_args(args_json)
    with contextlib.ExitStack() as files:
        args = _with_files(args, file_args, files)
        _run(text, args, session, timeout, as_json, url, token)


def _with_files(args: dict[str, Any] | None, specs: tuple[str, ...],
                files: contextlib.ExitStack) -> dict[str, Any] | None:
    """args plus one open binary file per --arg NAME=@FILE (sent as multipart parts)."""
    if not specs:
        return args
    merged: dict[str, Any] = dict(args or {})
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path.startswith("@") or len(path) < 2:
            raise click.BadParameter(f"{spec!r}: use NAME=@FILE (JSON values go in --args)",
                                     param_hint="--arg")
        if name in merged:
            raise click.BadParameter(f"{name!r} is given twice", param_hint="--arg")
        handle: IO[bytes] = files.enter_context(click.open_file(path[1:], "rb"))
        merged[name] = handle
    return merged


def _run(text: str, args: dict[str, Any] | None, session: str | None, timeout: float | None,
         as_json: bool, url: str | None, token: str | None) -> None:
    with connect(url, token) as blender, client_errors(as_json):
        # Submitted as a job rather than POST /exec, so that Ctrl-C can cancel it in Blender
        # and a terminal can show its progress.
        job = blender.submit(text, args=args, session=session, timeout=timeout)
        result = follow(job, "running in Blender")
    if as_json:
        emit_json(result.envelope)
    else:
        print_result(result)

