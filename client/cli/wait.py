"""Waiting for a job on the terminal: its progress on the spinner, and Ctrl-C, which cancels
it in Blender, shows what it printed so far and exits 130 (the shell's code for SIGINT)."""

from __future__ import annotations

import sys

import click

from .._sync.handles import Job
from ..envelope import ExecResult
from ..errors import BlenderError, Conflict, ExecError
from ..jobs import JobInfo
from .exit_codes import EXIT_INTERRUPTED
from .terminal import Quiet, spinner


def follow(job: Job, label: str) -> ExecResult:
    """The job's result once it ends; on a terminal the spinner shows its progress events
    (a render's stage and fraction) and the last line it printed. Ctrl-C cancels the job and
    exits 130 (see interrupted)."""
    try:
        with spinner(label) as shown:
            if not shown.active:
                return job.result()
            for event in job.stream():
                if event.kind == "progress":
                    shown.update(f"{label}: {progress_text(event.data)}")
                elif event.kind in ("stdout", "stderr") and event.text.strip():
                    shown.update(f"{label}: {event.text.strip().splitlines()[-1][:80]}")
                elif event.done:
                    return event.to_result()
            return job.result()  # the stream ended early: ask for the outcome instead
    except KeyboardInterrupt:
        interrupted(job)
        raise  # unreachable: interrupted() always exits


def progress_text(data: object) -> str:
    """A progress event as a person reads it: its stage and how far, e.g. "rendering 40%"."""
    if not isinstance(data, dict):
        return str(data)
    parts = [str(data["stage"])] if data.get("stage") else []
    if isinstance(data.get("fraction"), (int, float)):
        parts.append(f"{100 * data['fraction']:.0f}%")
    return " ".join(parts) or str(data)


def interrupted(job: Job) -> None:
    """Ctrl-C: cancel the job, print its output so far, exit 130. A job inside a C call
    (a render, a long operator) cannot stop before the call returns: say so and wait for
    it, unless Ctrl-C comes again."""
    try:
        info = job.cancel()
        if not info.finished:
            click.echo(f"blender-http: job {job.id} is inside a call Blender cannot interrupt "
                       "(a render, a long operator, a sleep); it stops when that call returns. "
                       "Waiting for it: Ctrl-C again to leave it running.", err=True)
            info = _wait_or_leave(job)
    except Conflict:
        info = job.refresh()  # it finished before the cancel arrived
    except BlenderError as exc:
        click.echo(f"blender-http: could not cancel job {job.id}: {exc}", err=True)
        raise Quiet(EXIT_INTERRUPTED) from exc
    _print_output(info)
    what = "cancelled" if info.status == "cancelled" else f"had already {info.status}:"
    click.echo(f"blender-http: {what} job {job.id}", err=True)
    raise Quiet(EXIT_INTERRUPTED)


def _wait_or_leave(job: Job) -> JobInfo:
    try:
        return job.wait()
    except KeyboardInterrupt:
        click.echo(f"blender-http: left job {job.id} to stop by itself "
                   f"(`blender-http jobs status {job.id}`)", err=True)
        raise Quiet(EXIT_INTERRUPTED) from None


def _print_output(info: JobInfo) -> None:
    if info.envelope is None:
        return
    try:
        result = info.to_result()
        stdout, stderr = result.stdout, result.stderr
    except ExecError as exc:
        stdout, stderr = exc.stdout, exc.stderr
    for stream, text in ((sys.stdout, stdout), (sys.stderr, stderr)):
        if text:
            stream.write(text)
            stream.flush()
