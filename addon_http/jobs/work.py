"""The two kinds of work a job runs on Blender's main thread.

`Code` is the user's code with notebook-cell semantics; `Task` is a callable of the
server's own (a render, an export, a scene listing). The executor runs either the same
way: `prepare` on the main thread (a failure there is the server's), the returned
callable under interrupts and output capture, then `settle` fills in the answer.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .. import convert, summary
from ..errors import HttpError
from . import job as jobs
from .cells import compile_cell, describe_error

if TYPE_CHECKING:
    from .job import Job

_MISSING = object()
Binary = tuple[bytes, dict[str, str]]


class Namespaces(Protocol):
    """Where user code gets its globals: fresh or a session's, with the bindings set."""

    def namespace(self, session: str | None, args: dict[str, Any]) -> dict[str, Any]: ...


class Work(Protocol):
    # Set for user code: what tracebacks show and which session it runs in.
    source: str
    session: str | None
    # Set for a task: its name, shown by GET /jobs.
    task_name: str | None

    def prepare(self, job: Job, namespaces: Namespaces) -> Callable[[], Any]: ...

    def settle(self, job: Job, value: Any, error: BaseException | None,
               envelope: dict[str, Any]) -> tuple[str, Binary | None]: ...


class Code:
    """The user's code: the value of a final expression is the result; otherwise a global
    named `result` that the code set; otherwise None."""

    task_name: str | None = None

    def __init__(self, source: str, *, args: dict[str, Any] | None = None, session: str | None = None,
                 want_binary: bool = False, summarise: int | None = None) -> None:
        self.source = source
        self.args = args if args is not None else {}
        self.session = session
        # Answer a bytes or array result as raw bytes (Accept: application/octet-stream).
        self.want_binary = want_binary
        # Answer arrays and lists of more items than this as summaries (summary.py; MCP).
        self.summarise = summarise

    def prepare(self, job: Job, namespaces: Namespaces) -> Callable[[], Any]:
        namespace = namespaces.namespace(self.session, self.args)
        # The finished job stays in the store (GET /jobs): it must not keep the arguments
        # alive, which may be arrays over a request body of up to a gigabyte.
        self.args = {}
        return lambda: self._run(namespace)

    def _run(self, namespace: dict[str, Any]) -> Any:
        before = namespace.get("result", _MISSING)
        body, expr, stores_result = compile_cell(self.source)
        exec(body, namespace)
        if expr is not None:
            return eval(expr, namespace)
        after = namespace.get("result", _MISSING)
        if after is _MISSING or (after is before and not stores_result):
            return None
        return after

    def settle(self, job: Job, value: Any, error: BaseException | None,
               envelope: dict[str, Any]) -> tuple[str, Binary | None]:
        if error is not None:
            envelope["error"] = describe_error(error, self.source)
            return jobs.FAILED, None
        binary = convert.binary_payload(value) if self.want_binary else None
        if binary is not None:
            envelope["result"] = {"$binary": {"bytes": len(binary[0]), **binary[1]}}
            return jobs.SUCCEEDED, binary
        if self.summarise is not None:
            value, summarised = summary.summarise(value, self.summarise)
            if summarised:
                envelope["summarised"] = summarised
        envelope["result"] = convert.to_json(value)
        return jobs.SUCCEEDED, None


class Task:
    """A callable of the server's own; it gets the job (for progress events)."""

    source = ""
    session: str | None = None

    def __init__(self, name: str, fn: Callable[[Job], Any]) -> None:
        self.task_name: str | None = name
        self._fn = fn

    def prepare(self, job: Job, namespaces: Namespaces) -> Callable[[], Any]:
        return lambda: self._fn(job)

    def settle(self, job: Job, value: Any, error: BaseException | None,
               envelope: dict[str, Any]) -> tuple[str, Binary | None]:
        # The raw outcome goes to the route waiting for it; the envelope (what GET
        # /jobs/{id} shows) holds a JSON copy only when someone may read it later.
        job.value, job.exception = value, error
        if error is None:
            envelope["result"] = convert.to_json(value) if job.keep_result else None
            return jobs.SUCCEEDED, None
        if isinstance(error, HttpError):
            envelope["error"] = {**error.body()["error"], "line": None, "traceback": None}
        else:  # a task that raised anything else met a bug, not a caller's mistake
            envelope["error"] = {"type": "InternalError", "message": f"{type(error).__name__}: {error}",
                                 "line": None, "traceback": "".join(traceback.format_exception(error))}
        return jobs.FAILED, None


def code_job(source: str, *, args: dict[str, Any] | None = None, session: str | None = None,
             want_binary: bool = False, **job_options: Any) -> Job:
    """A job that runs user code."""
    return jobs.Job(Code(source, args=args, session=session, want_binary=want_binary), **job_options)
