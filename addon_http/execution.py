"""Running one job's code on the calling thread (Blender's main thread) and building its answer.

Notebook-cell semantics: the value of a final expression statement is the result;
otherwise a global named `result` that the code set; otherwise null.
"""

from __future__ import annotations

import ast
import builtins
import functools
import linecache
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import CodeType, TracebackType
from typing import Any

from . import convert, interrupt, jobs
from .capture import ThreadStream
from .errors import HttpError
from .sessions import SessionStore

FILENAME = "<exec>"
_MISSING = object()

Bindings = Callable[[], dict[str, Any]]


@functools.lru_cache(maxsize=256)
def compile_cell(source: str) -> tuple[CodeType, CodeType | None, bool]:
    """Code for all statements but a trailing expression, code for that expression, and
    whether the code assigns a name `result` anywhere."""
    tree = ast.parse(source, FILENAME, "exec")
    stores_result = any(isinstance(node, ast.Name) and node.id == "result"
                        and isinstance(node.ctx, ast.Store) for node in ast.walk(tree))
    last: ast.Expression | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body[-1].value)
        del tree.body[-1]
    # dont_inherit: this module's own __future__ flags must not change the user's code.
    body = compile(tree, FILENAME, "exec", dont_inherit=True)
    expr = compile(last, FILENAME, "eval", dont_inherit=True) if last is not None else None
    return body, expr, stores_result


def describe_error(exc: BaseException, source: str) -> dict[str, Any]:
    """The "error" object of an envelope: type, message, user line and a traceback that
    starts at the user's code, not at the server's frames."""
    tb = _first_user_frame(exc.__traceback__)
    linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
    try:
        formatted = "".join(traceback.TracebackException(
            type(exc), exc, tb, compact=True).format())
    finally:
        linecache.cache.pop(FILENAME, None)
    return {
        "type": type(exc).__name__,
        "message": _message(exc),
        "line": _user_line(exc, tb),
        "traceback": formatted,
    }


def _first_user_frame(tb: TracebackType | None) -> TracebackType | None:
    # None when the user's code never ran (a SyntaxError): no frames to show then.
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            return tb
        tb = tb.tb_next
    return None


def _user_line(exc: BaseException, tb: TracebackType | None) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        return exc.lineno
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _message(exc: BaseException) -> str:
    # User code defines the exception: its __str__ (or its exit code's __repr__) may
    # raise, and the answer must still say what was raised.
    try:
        if isinstance(exc, SystemExit):
            return f"the code called sys.exit({exc.code!r}); the server stays up"
        if isinstance(exc, SyntaxError):
            return exc.msg or str(exc)
        return str(exc)
    except Exception as failure:
        return f"<the exception's message could not be built: {type(failure).__name__}>"


class Executor:
    """Runs jobs one at a time on the thread that calls run(); other threads may interrupt."""

    def __init__(self, *, bindings: Bindings, workdir: str, sessions: SessionStore) -> None:
        self._bindings = bindings
        self._workdir = workdir
        self._sessions = sessions
        self._lock = threading.Lock()
        self._running: jobs.Job | None = None
        self._thread_id: int | None = None
        self._raised = False  # an interrupt was scheduled for the running job
        # One pair of streams for every job, never freed: print() in another thread holds
        # only a borrowed reference to sys.stdout between its writes (CPython 3.11), so
        # a stream freed when its job ends could crash the process under a user's thread.
        self._stdout = ThreadStream(None, None)
        self._stderr = ThreadStream(None, None)

    @property
    def busy(self) -> bool:
        return self._running is not None

    def interrupt(self, job: jobs.Job, exc_type: type[interrupt.JobInterrupt]) -> bool:
        """Raise exc_type inside job if it is running now; False if it is not."""
        with self._lock:
            if self._running is not job or self._thread_id is None:
                return False
            self._raised = True
            return interrupt.raise_in_thread(self._thread_id, exc_type)

    def run(self, job: jobs.Job) -> None:
        """Run job's code here and finish it; never raises."""
        job.status = jobs.RUNNING
        job.started_at = time.time()
        started = time.perf_counter()
        try:
            namespace = self._namespace(job) if job.task is None else {}
        except Exception as exc:
            stopped_before_start(job, jobs.FAILED, "InternalError",
                                 f"preparing the job failed: {type(exc).__name__}: {exc}")
            return
        saved = sys.stdout, sys.stderr
        sys.stdout = self._stdout.attach(job.stdout, saved[0])
        sys.stderr = self._stderr.attach(job.stderr, saved[1])
        try:
            try:
                value, error = self._run_code(job, namespace)
            except interrupt.JobInterrupt as exc:  # landed just after the code returned
                value, error = None, exc
            self._close_interrupts()
        finally:
            sys.stdout, sys.stderr = saved
        duration_ms = (time.perf_counter() - started) * 1000.0
        try:
            self._finish(job, value, error, duration_ms)
        except BaseException as exc:  # a waiter must never hang on an unfinished job
            stopped_before_start(job, jobs.FAILED, "InternalError",
                                 f"building the answer failed: {type(exc).__name__}: {exc}")

    def _run_code(self, job: jobs.Job, namespace: dict[str, Any]) -> tuple[Any, BaseException | None]:
        before = namespace.get("result", _MISSING)
        with self._lock:
            # A cancel or timeout that came between dequeue and now found nothing to interrupt.
            if job.stop_reason == jobs.TIMED_OUT:
                return None, interrupt.JobTimedOut()
            if job.stop_reason is not None:
                return None, interrupt.JobCancelled()
            self._running = job
            self._thread_id = threading.get_ident()
        try:
            if job.task is not None:
                return job.task(job), None
            body, expr, stores_result = compile_cell(job.code)
            exec(body, namespace)
            if expr is not None:
                return eval(expr, namespace), None
            after = namespace.get("result", _MISSING)
            if after is _MISSING or (after is before and not stores_result):
                return None, None
            return after, None
        except BaseException as exc:  # user code may raise anything, SystemExit included
            return None, exc

    def _close_interrupts(self) -> None:
        # After this no interrupt can be scheduled; one scheduled just before is withdrawn
        # or, if it fires first, caught and ignored: the code has already ended.
        while True:
            try:
                with self._lock:
                    self._running = None
                    raised, self._raised = self._raised, False
                if raised and self._thread_id is not None:
                    interrupt.clear_pending(self._thread_id)
                return
            except interrupt.JobInterrupt:
                continue

    def _namespace(self, job: jobs.Job) -> dict[str, Any]:
        if job.session:
            namespace = self._sessions.namespace(job.session)
        else:
            namespace = {"__name__": "__main__", "__builtins__": builtins}
        namespace.update(self._bindings())
        namespace["args"] = job.args
        namespace["WORKDIR"] = self._workdir
        return namespace

    def _finish(self, job: jobs.Job, value: Any, error: BaseException | None,
                duration_ms: float) -> None:
        envelope: dict[str, Any] = {
            "ok": error is None,
            "result": None,
            "stdout": job.stdout.getvalue(),
            "stderr": job.stderr.getvalue(),
            "duration_ms": round(duration_ms, 3),
        }
        truncated = [b.name for b in (job.stdout, job.stderr) if b.truncated]
        if truncated:
            envelope["truncated"] = truncated
        binary = None
        if job.task is not None and not isinstance(error, interrupt.JobInterrupt):
            status = jobs.SUCCEEDED if error is None else jobs.FAILED
            _finish_task(job, envelope, value, error)
        elif error is None:
            status = jobs.SUCCEEDED
            binary = convert.binary_payload(value) if job.want_binary else None
            if binary is not None:
                envelope["result"] = {"$binary": {"bytes": len(binary[0]), **binary[1]}}
            else:
                envelope["result"] = convert.to_json(value)
        elif isinstance(error, interrupt.JobInterrupt):
            status = jobs.TIMED_OUT if isinstance(error, interrupt.JobTimedOut) else jobs.CANCELLED
            envelope["error"] = _stopped_error(job, status, error)
        else:
            status = jobs.FAILED
            envelope["error"] = describe_error(error, job.code)
        job.finish(status, envelope, binary)


def _finish_task(job: jobs.Job, envelope: dict[str, Any], value: Any,
                 error: BaseException | None) -> None:
    # The raw outcome goes to the route waiting for it; the envelope (what GET /jobs/{id}
    # shows) holds a JSON copy only when someone may read it later.
    job.value, job.exception = value, error
    if error is None:
        envelope["result"] = convert.to_json(value) if job.keep_result else None
    elif isinstance(error, HttpError):
        envelope["error"] = {**error.body()["error"], "line": None, "traceback": None}
    else:  # a task that raised anything else met a bug, not a caller's mistake
        envelope["error"] = {"type": "InternalError", "message": f"{type(error).__name__}: {error}",
                             "line": None, "traceback": "".join(traceback.format_exception(error))}


def _stopped_error(job: jobs.Job, status: str, exc: BaseException) -> dict[str, Any]:
    info = describe_error(exc, job.code)
    if status == jobs.TIMED_OUT:
        info["type"] = "Timeout"
        info["message"] = f"the code ran past its timeout of {job.timeout:g} s and was interrupted"
    else:
        info["type"] = "Cancelled"
        info["message"] = "the job was cancelled while running"
    return info


def failure_envelope(job: jobs.Job, error_type: str, message: str,
                     duration_ms: float | None = 0.0) -> dict[str, Any]:
    """The envelope of a job that failed outside its own code, with the output so far."""
    return {
        "ok": False, "result": None, "stdout": job.stdout.getvalue(), "stderr": job.stderr.getvalue(),
        "duration_ms": duration_ms, "job": job.id,
        "error": {"type": error_type, "message": message, "line": None, "traceback": None},
    }


def stopped_before_start(job: jobs.Job, status: str, error_type: str, message: str) -> None:
    """Finish a job without (or despite) running it: cancelled, timed out or refused."""
    job.finish(status, failure_envelope(job, error_type, message))
