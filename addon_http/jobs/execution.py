"""Running one job on the calling thread (Blender's main thread) and building its answer.

The executor runs both kinds of work (work.py) alike: it captures their output,
lets other threads interrupt them (cancel, timeout) and finishes the job whatever
happens, so a waiter never hangs on it.
"""

from __future__ import annotations

import builtins
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from . import interrupt, stdio
from . import job as jobs
from .capture import ThreadStream
from .cells import describe_error
from .sessions import SessionStore

Bindings = Callable[[], dict[str, Any]]


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
        self._stdio = stdio.guard()

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def running_job(self) -> jobs.Job | None:
        """The job running now, if any (a glance: it may end at once)."""
        return self._running

    def interrupt(self, job: jobs.Job, exc_type: type[interrupt.JobInterrupt]) -> bool:
        """Raise exc_type inside job if it is running now; False if it is not."""
        with self._lock:
            if self._running is not job or self._thread_id is None:
                return False
            if self._raised:  # one interrupt per job: the first reason stands
                return True
            self._raised = True
            return interrupt.raise_in_thread(self._thread_id, exc_type)

    def run(self, job: jobs.Job) -> None:
        """Run job's work here and finish it; never raises."""
        job.status = jobs.RUNNING
        job.started_at = time.time()
        started = time.perf_counter()
        try:
            work = job.work.prepare(job, self)
        except Exception as exc:
            stopped_before_start(job, jobs.FAILED, "InternalError",
                                 f"preparing the job failed: {type(exc).__name__}: {exc}")
            return
        saved = sys.stdout, sys.stderr
        sys.stdout = self._stdout.attach(job.stdout, saved[0])
        sys.stderr = self._stderr.attach(job.stderr, saved[1])
        try:
            value, error = self._run_and_close(job, work)
        finally:
            sys.stdout, sys.stderr = saved
            self._stdio.restore()  # before another thread opens a socket onto a closed fd
            if job.session:
                self._sessions.release(job.session)
        duration_ms = (time.perf_counter() - started) * 1000.0
        try:
            self._finish(job, value, error, duration_ms)
        except BaseException as exc:  # a waiter must never hang on an unfinished job
            stopped_before_start(job, jobs.FAILED, "InternalError",
                                 f"building the answer failed: {type(exc).__name__}: {exc}")

    def _run_work(self, job: jobs.Job, work: Callable[[], Any]) -> tuple[Any, BaseException | None]:
        with self._lock:
            # A cancel or timeout that came between dequeue and now found nothing to interrupt.
            if job.stop_reason == jobs.TIMED_OUT:
                return None, interrupt.JobTimedOut()
            if job.stop_reason is not None:
                return None, interrupt.JobCancelled()
            self._running = job
            self._thread_id = threading.get_ident()
        try:
            return work(), None
        except BaseException as exc:  # user code may raise anything, SystemExit included
            return None, exc

    def _run_and_close(self, job: jobs.Job, work: Callable[[], Any]) -> tuple[Any, BaseException | None]:
        """Run the work, then close the job to interrupts. The one interrupt a job can get
        lands wherever the thread next checks for it: in the code, just after it returned,
        or at the start of a call below (Python checks on entering a function); each place
        is inside this loop, so it never escapes to the pump with the job unfinished."""
        outcome: tuple[Any, BaseException | None] | None = None
        while True:
            try:
                if outcome is None:
                    outcome = self._run_work(job, work)
                self._close_interrupts()
                return outcome
            except interrupt.JobInterrupt as exc:
                if outcome is None:  # landed just after the code returned: it stopped it
                    outcome = None, exc

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

    def namespace(self, session: str | None, args: dict[str, Any]) -> dict[str, Any]:
        """The globals of user code: a session's (main thread only) or fresh ones, with
        bpy, C, D, args and WORKDIR bound."""
        if session:
            namespace = self._sessions.namespace(session)
        else:
            namespace = {"__name__": "__main__", "__builtins__": builtins}
        namespace.update(self._bindings())
        namespace["args"] = args
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
        if isinstance(error, interrupt.JobInterrupt):
            status = jobs.TIMED_OUT if isinstance(error, interrupt.JobTimedOut) else jobs.CANCELLED
            envelope["error"] = _stopped_error(job, status, error)
            binary = None
        else:
            status, binary = job.work.settle(job, value, error, envelope)
        job.finish(status, envelope, binary)


def _stopped_error(job: jobs.Job, status: str, exc: BaseException) -> dict[str, Any]:
    info = describe_error(exc, job.work.source)
    if status == jobs.TIMED_OUT:
        info["type"] = "Timeout"
        info["message"] = f"the code ran past its timeout of {job.timeout:g} s and was interrupted"
    else:
        info["type"] = "Cancelled"
        info["message"] = "the job was cancelled while running"
    # The frames show where the code stopped; the last line would name the internal class that
    # stopped it (blender_http_addon.jobs.interrupt.JobCancelled): say what happened instead.
    internal = "".join(traceback.format_exception_only(type(exc), exc))
    text = info["traceback"] or ""
    if text.endswith(internal):
        info["traceback"] = f"{text[:-len(internal)]}{info['type']}: {info['message']}\n"
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
