"""Running a tool call: its arguments checked, its work done as a job on Blender's main
thread through the service (like the HTTP routes), its answer shaped as MCP content.

Code tools (exec_python, submit_job) run the user's code as `Code` jobs; the others run
server tasks (`Task`) through api.outcome.run_task, or need no Blender at all (files,
jobs). Scene tools live in scene_calls.py."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..api import outcome
from ..errors import HttpError
from ..jobs import job as jobs
from ..jobs.work import Code
from ..protocol import MAX_LONG_POLL_S, MAX_TIMEOUT_S
from . import results, scene_calls, tools
from .arguments import Arguments

if TYPE_CHECKING:
    from ..service import Service

Handler = Callable[["Service", Arguments], dict[str, Any]]


def call_tool(service: Service, name: str, arguments: dict[str, Any], *,
              inline: bool = False) -> dict[str, Any]:
    """The CallToolResult of one call; a failure is a tool error, never an exception."""
    try:
        args = Arguments(name, arguments, tools.BY_NAME[name]["inputSchema"], inline=inline)
        return HANDLERS[name](service, args)
    except HttpError as exc:
        return results.from_http_error(exc)


def exec_python(service: Service, args: Arguments) -> dict[str, Any]:
    """Run code now; the result, or a tool error with the traceback."""
    job = _submit(service, args, keep_result=False, inline=args.inline)
    if not outcome.wait(job):
        return results.failure({"type": "Timeout", "job": job.id, "message": (
            f"the code ran past its timeout of {job.timeout:g} s and could not be interrupted yet "
            f"(a long C operator ends first); it is still running: get_job {job.id}")})
    try:
        return _envelope_result(service, job.envelope or {}, job.id)
    finally:
        job.forget_result()


def _envelope_result(service: Service, envelope: dict[str, Any], job_id: str) -> dict[str, Any]:
    out = {key: envelope.get(key) for key in ("result", "stdout", "stderr", "duration_ms")}
    out["job"] = job_id
    if envelope.get("truncated"):
        out["truncated"] = envelope["truncated"]
    if envelope.get("ok"):
        return results.data(out)
    del out["result"]
    error = dict(envelope.get("error") or {})
    error["changes"] = ("changes the code made before it failed were kept"
                        + (f'; one undo step ("HTTP: exec {job_id}") reverts them'
                           if service.mode == "gui" else ""))
    return results.failure(error, **out)


def submit_job(service: Service, args: Arguments) -> dict[str, Any]:
    """Queue code; the job at once."""
    return results.data(_submit(service, args, keep_result=True).view())


def _submit(service: Service, args: Arguments, *, keep_result: bool, inline: bool = False) -> jobs.Job:
    code = args.required_text("code")
    if not code.strip() or "\x00" in code:
        raise HttpError(400, "'code' must be Python source (not empty, no NUL)")
    timeout = args.number("timeout", None, 1e-3, MAX_TIMEOUT_S)
    work = Code(code, args=args.mapping("args"), session=args.session())
    return service.submit(work, timeout=timeout, keep_result=keep_result, inline=inline)


def get_job(service: Service, args: Arguments) -> dict[str, Any]:
    job = service.get_job(args.required_text("job_id"))
    wait = args.number("wait", 0.0, 0.0, MAX_LONG_POLL_S)
    if wait:
        _wait_for(service, job, wait, args.inline)
    return results.data(job.view())


def _wait_for(service: Service, job: jobs.Job, seconds: float, inline: bool) -> None:
    """Wait for job to finish; on the main thread, by running the queue meanwhile (nobody
    else would run the job this thread waits for)."""
    if not inline:
        job.done.wait(seconds)
        return
    deadline = time.monotonic() + seconds
    while not job.done.is_set() and (left := deadline - time.monotonic()) > 0:
        service.step(min(left, 0.05))


def cancel_job(service: Service, args: Arguments) -> dict[str, Any]:
    job = service.get_job(args.required_text("job_id"))
    if not job.finished:
        service.cancel(job)
        job.done.wait(1.0)
    return results.data(job.view())


def list_files(service: Service, args: Arguments) -> dict[str, Any]:
    return results.data({"root": str(service.files.root), "files": service.files.listing()})


def read_file(service: Service, args: Arguments) -> dict[str, Any]:
    path = args.required_text("path")
    limit = args.integer("max_bytes", 1024 * 1024, 1, 64 * 1024 * 1024) or 1
    handle, size = service.files.open(path)
    with handle:
        if size > limit:
            raise HttpError(413, f"{path} has {size} bytes, more than max_bytes={limit}")
        content = handle.read()
    try:
        return results.data({"path": path, "size": size, "encoding": "utf-8",
                             "content": content.decode("utf-8")})
    except UnicodeDecodeError:
        return results.data({"path": path, "size": size, "encoding": "base64",
                             "content": base64.b64encode(content).decode("ascii")})


def write_file(service: Service, args: Arguments) -> dict[str, Any]:
    path, content = args.required_text("path"), args.required_text("content")
    encoding = args.text("encoding") or "utf-8"
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "write_file: content is not valid base64") from None
    elif encoding == "utf-8":
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise HttpError(400, f"write_file: content holds a lone surrogate at {exc.start}, which UTF-8 "
                                 "cannot carry; send bytes as base64") from None
    else:
        raise HttpError(400, "write_file: encoding must be utf-8 or base64")
    if len(data) > service.config.max_file_bytes:
        raise HttpError(413, f"the file is larger than the server's limit of {service.config.max_file_bytes}")
    written, size, created = service.files.write(path, [data])
    return results.data({"path": written.relative_to(service.files.root).as_posix(), "size": size,
                         "created": created})


HANDLERS: dict[str, Handler] = {
    "exec_python": exec_python,
    "submit_job": submit_job,
    "get_job": get_job,
    "cancel_job": cancel_job,
    "list_files": list_files,
    "read_file": read_file,
    "write_file": write_file,
    **scene_calls.HANDLERS,
}
