"""`blender-http jobs ...`: submit, status, wait, cancel, list, logs."""

from __future__ import annotations

import datetime
import sys

import click

from ...errors import ExecError, failure_text
from ...jobs import JobInfo
from ..exit_codes import EXIT_FAILED
from ..support import (
    client_errors,
    client_options,
    code_options,
    connect,
    parse_args,
    print_result,
    read_code,
)
from ..terminal import Failed, Quiet, emit_json, spinner
from ..wait import progress_text


@click.group()
def jobs() -> None:
    """Background jobs: submit code, follow it, cancel it."""


@jobs.command()
@code_options
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@client_options
def submit(source: str | None, code: str | None, args_json: str | None, session: str | None,
           timeout: float | None, as_json: bool, url: str | None, token: str | None) -> None:
    """Queue code to run; print the job's id at once."""
    text = read_code(code, source)
    args = parse_args(args_json)
    with connect(url, token) as blender, client_errors(as_json):
        job = blender.submit(text, args=args, session=session, timeout=timeout)
    if as_json:
        emit_json(_view(job.info))
    else:
        click.echo(job.id)


@jobs.command("status")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job (and its envelope) as JSON.")
@client_options
def job_status(job_id: str, as_json: bool, url: str | None, token: str | None) -> None:
    """A job's status: queued, running, succeeded, failed, cancelled or timed_out."""
    with connect(url, token) as blender, client_errors(as_json):
        info = blender.job(job_id).info
    if as_json:
        emit_json(_view(info))
    else:
        click.echo(info.status)


@jobs.command()
@click.argument("job_id")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished job's envelope as JSON.")
@client_options
def wait(job_id: str, timeout: float | None, as_json: bool, url: str | None, token: str | None) -> None:
    """Wait for a job, then print its output and result like `exec` (exit 1 if it failed
    or is still running after --timeout)."""
    with connect(url, token) as blender, client_errors(as_json):
        job = blender.job(job_id)
        with spinner(f"job {job_id} {job.status}") as shown:
            if shown.active and timeout is None:
                # On a terminal, follow the events so that a render's progress shows.
                for event in job.stream():
                    if event.kind == "progress":
                        shown.update(f"job {job_id}: {progress_text(event.data)}")
            info = job.info if job.info.finished else job.wait(timeout)
        if not info.finished:
            if as_json:
                emit_json(_view(info))
            raise Failed(f"job {job_id} is still {info.status}")
        if as_json:
            emit_json(info.envelope)
            if not (info.envelope or {}).get("ok"):
                raise Quiet(EXIT_FAILED)
            return
        print_result(info.to_result())


@jobs.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@client_options
def cancel(job_id: str, as_json: bool, url: str | None, token: str | None) -> None:
    """Drop a queued job or interrupt a running one (exit 1 if it had already finished)."""
    with connect(url, token) as blender, client_errors(as_json):
        info = blender.job(job_id).cancel()
    if as_json:
        emit_json(_view(info))
    else:
        click.echo(info.status)


@jobs.command("list")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many.")
@click.option("--status", "status_filter", default=None,
              type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]),
              help="Only jobs in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@client_options
def list_jobs(limit: int | None, status_filter: str | None, as_json: bool, url: str | None,
              token: str | None) -> None:
    """Recent jobs, newest first: id, status, session, created (one per line, tab-separated)."""
    with connect(url, token) as blender, client_errors(as_json):
        found = blender.jobs(limit=limit, status=status_filter)
    if as_json:
        emit_json([_view(info) for info in found])
        return
    rows = [(i.id, i.status, i.session or "-", _when(i.created_at)) for i in found]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "status", "session", "created", box=None)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    for row in rows:
        click.echo("\t".join(row))


@jobs.command()
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="Stream the output as it is printed, until the job ends.")
@client_options
def logs(job_id: str, follow: bool, url: str | None, token: str | None) -> None:
    """A job's stdout and stderr; -f follows a running job live (exit 1 if the job failed)."""
    with connect(url, token) as blender, client_errors():
        job = blender.job(job_id)
        if not follow:
            if not job.info.finished:
                raise Failed(f"job {job_id} is {job.status}: use -f to follow its output")
            _print_logs(job.info)
            return
        for event in job.stream():
            if event.kind in ("stdout", "stderr"):
                stream = sys.stdout if event.kind == "stdout" else sys.stderr
                stream.write(event.text)
                stream.flush()
            elif event.kind == "progress" and sys.stderr.isatty():
                click.echo(f"[progress] {progress_text(event.data)}", err=True)
        if not job.info.finished:
            raise Failed(f"the event stream of job {job_id} ended before the job did")
        _fail_if_failed(job.info)


def _print_logs(info: JobInfo) -> None:
    envelope = info.envelope or {}
    sys.stdout.write(envelope.get("stdout") or "")
    sys.stderr.write(envelope.get("stderr") or "")
    sys.stdout.flush()
    sys.stderr.flush()
    _fail_if_failed(info)


def _fail_if_failed(info: JobInfo) -> None:
    try:
        info.to_result()
    except ExecError as exc:
        click.echo(failure_text(exc), err=True)
        raise Quiet(EXIT_FAILED) from exc


def _view(info: JobInfo) -> dict[str, object]:
    view: dict[str, object] = {"id": info.id, "status": info.status, "session": info.session,
                               "created_at": info.created_at, "started_at": info.started_at,
                               "finished_at": info.finished_at}
    if info.envelope is not None:
        view["envelope"] = info.envelope
    return view


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).isoformat(timespec="seconds")

