"""Running a tool call: its arguments checked, its work done as a job on Blender's main
thread through the service (like the HTTP routes), its answer shaped as MCP content.

Code tools (exec_python, submit_job) run the user's code as `Code` jobs; the others run
server tasks (`Task`) through api.outcome.run_task, or need no Blender at all (files,
jobs). Scene tools live in scene_calls.py."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..api import outcome
from ..errors import HttpError
from ..files import paged
from ..jobs import job as jobs
from ..jobs.work import Code
from ..protocol import MAX_LONG_POLL_S, MAX_TIMEOUT_S
from . import budget, handles, results, scene_calls, tools
from .arguments import Arguments

if TYPE_CHECKING:
    from ..service import Service
    from .watch import Call

Handler = Callable[["Service", Arguments], dict[str, Any]]

# Files of answers over their budget kept in RESULTS_FOLDER: the newest this many.
KEPT_RESULTS = 50


def call_tool(service: Service, name: str, arguments: dict[str, Any], *,
              inline: bool = False, offered: tools.Selection | None = None,
              call: Call | None = None) -> dict[str, Any]:
    """The CallToolResult of one call, its text within the call's budget (max_chars); a
    failure is a tool error, never an exception. A tool not offered (read-only,
    BLENDER_HTTP_MCP_TOOLS, ...: offered, else the server's selection) is refused with a
    tool error. call: the running call (watch.py) that follows and cancels the jobs this
    one submits."""
    max_chars = tools.DEFAULT_MAX_CHARS
    try:
        refusal = (offered or service.mcp_tools).refusal(name)
        if refusal is not None:
            raise HttpError(403, refusal)
        args = Arguments(name, arguments, tools.BY_NAME[name]["inputSchema"], inline=inline, call=call,
                         cancel=service.cancel)
        max_chars = args.budget()
        result = HANDLERS[name](service, args)
    except HttpError as exc:
        result = results.from_http_error(exc)
    return results.finish(result, max_chars, lambda text: _keep(service, name, text),
                          typed="outputSchema" in tools.BY_NAME[name])


def _keep(service: Service, tool: str, text: str) -> tuple[str, int]:
    """Writes an answer over its budget to the work folder, where read_file reads it; keeps
    only the newest KEPT_RESULTS such files."""
    relative = f"{tools.RESULTS_FOLDER}/{tool}-{secrets.token_hex(6)}.json"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: written escaped, as json_text.utf8 does
        data = text.encode("utf-8", "backslashreplace")
    path, size, _ = service.files.write(relative, [data])
    _prune(path.parent)
    return relative, size


def _prune(folder: Any) -> None:
    with contextlib.suppress(OSError):
        entries = [entry for entry in os.scandir(folder)
                   if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False)]
        entries.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime_ns, reverse=True)
        for entry in entries[KEPT_RESULTS:]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


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
    if envelope.get("summarised"):
        out["summarised"] = (f"{envelope['summarised']} large array(s) or list(s) answered as a summary "
                             "($array, $list); call again with full=true for every item")
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
    work = Code(code, args=args.mapping("args"), session=args.session(),
                summarise=None if args.flag("full") else tools.SUMMARY_ITEMS)
    # submit_job's job outlives its call: only a cancel_job stops it.
    return service.submit(work, timeout=timeout, keep_result=keep_result, inline=inline,
                          on_submit=None if keep_result else args.submitted)


def get_job(service: Service, args: Arguments) -> dict[str, Any]:
    job = service.get_job(args.required_text("job_id"))
    wait = args.number("wait", 0.0, 0.0, MAX_LONG_POLL_S)
    if wait:
        args.waiting_for(job)
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
    """One page of the work folder's files; `next` continues it (the walk of each page is
    bounded: files/paged.py)."""
    limit = args.integer("limit", tools.FILES_PAGE, 1, tools.MAX_FILES_PAGE) or tools.FILES_PAGE
    found = service.files.page(paged.after_parts(args.text("after"), "after"), limit)
    return results.data({"root": str(service.files.root), "files": found.files, "next": found.next_after})


def read_file(service: Service, args: Arguments) -> dict[str, Any]:
    """One page of a file: `limit` bytes from `offset` (as many as fit the budget when no
    limit is given), shortened until the answer fits the budget; text as it is (never cut
    inside a UTF-8 character), anything else as base64."""
    path = args.required_text("path")
    offset = args.integer("offset", 0, 0, 2**62) or 0
    max_chars = args.budget()
    limit = args.integer("limit", max_chars, 1, tools.MAX_MAX_CHARS) or max_chars
    handle, size = service.files.open(path)
    with handle:
        handle.seek(min(offset, size))
        chunk = handle.read(min(limit, max_chars))
    while True:
        page = _page(path, size, offset, chunk)
        over = len(budget.dumps(page)) - max_chars
        if over <= 0 or not chunk:
            return results.data(page)
        # Each byte takes at least a character, or 4/3 in base64: cut in proportion.
        chunk = chunk[:max(0, min(len(chunk) - 1, len(chunk) * max_chars // (max_chars + over) - 8))]


def _page(path: str, size: int, offset: int, chunk: bytes) -> dict[str, Any]:
    page: dict[str, Any] = {"path": path, "size": size, "offset": offset}
    try:
        content, encoding = _utf8(chunk, whole=offset + len(chunk) >= size), "utf-8"
        chunk = chunk[:len(content.encode("utf-8"))]
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(chunk).decode("ascii"), "base64"
    end = offset + len(chunk)
    page.update({"length": len(chunk), "next_offset": end if end < size else None,
                 "encoding": encoding, "content": content})
    return page


def _utf8(chunk: bytes, *, whole: bool) -> str:
    """chunk as UTF-8 text; when the file goes on, less the start of a character cut at its
    end (the next page begins with it)."""
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        if whole or exc.reason != "unexpected end of data" or exc.start == 0 \
                or len(chunk) - exc.start > 3:
            raise
        return chunk[:exc.start].decode("utf-8")


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
    "open_session": handles.open_session,
    **scene_calls.HANDLERS,
}
