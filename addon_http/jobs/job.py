"""A job: one piece of work to run on the main thread, its state, output and answer.

What runs is the job's work (work.py): the user's code, or a task, an internal callable
(a render, an export, a scene listing) that the server's own routes hand to the main
thread, so that they share the queue, the timeouts, cancel and every pump with /exec.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .capture import OutputBuffer

if TYPE_CHECKING:
    from .work import Work

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, TIMED_OUT = "succeeded", "failed", "cancelled", "timed_out"
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT})


# Guards the lazy creation of each job's condition (see Job._condition).
_CREATE = threading.Lock()


class Done:
    """The job-finished flag with threading.Event's waiting side, built on its job's
    condition, which the job's "done" event notifies.

    Most jobs are /exec requests answered on the thread that ran them: nobody waits, so
    the condition is only made when a waiter (or an event listener) first needs it."""

    __slots__ = ("_flag", "_job")

    def __init__(self, job: Job) -> None:
        self._job = job
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        changed = self._job._condition()
        with changed:
            return changed.wait_for(lambda: self._flag, timeout)


class Job:
    """State shared by the HTTP thread that waits and the main thread that runs it."""

    def __init__(self, work: Work, *, timeout: float | None = None, keep_result: bool = True,
                 max_output_bytes: int = 1024 * 1024) -> None:
        self.id = secrets.token_hex(8)
        self.work = work
        # A task's raw return value (or exception), kept for the route that submitted it,
        # which builds its own answer from it.
        self.value: Any = None
        self.exception: BaseException | None = None
        self.timeout = timeout
        # /exec answers are delivered once; only /jobs keep theirs for later reads.
        self.keep_result = keep_result
        self.status = QUEUED
        self.created_at = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.deadline = time.monotonic() + timeout if timeout else None
        # Why the job was stopped from outside: CANCELLED or TIMED_OUT.
        self.stop_reason: str | None = None
        self.envelope: dict[str, Any] | None = None
        self.binary: tuple[bytes, dict[str, str]] | None = None
        self.done = Done(self)
        self._events: list[tuple[str, Any]] = []
        self._changed: threading.Condition | None = None
        self.stdout = OutputBuffer("stdout", max_output_bytes, self._add_event)
        self.stderr = OutputBuffer("stderr", max_output_bytes, self._add_event)

    @property
    def session(self) -> str | None:
        return self.work.session

    @property
    def task_name(self) -> str | None:
        return self.work.task_name

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def finish(self, status: str, envelope: dict[str, Any],
               binary: tuple[bytes, dict[str, str]] | None = None) -> None:
        """Record the outcome and wake everyone waiting on the job."""
        self.finished_at = time.time()
        envelope["job"] = self.id
        self.envelope = envelope
        self.binary = binary
        self.status = status  # last: a reader that sees it finished finds the envelope too
        self.done._flag = True
        self._add_event("done", envelope)  # wakes waiters and event listeners alike

    def forget_result(self) -> None:
        """Drop the answer once delivered, keeping the summary, so retention stays small."""
        if not self.keep_result and self.envelope is not None:
            error = self.envelope.get("error")
            self.envelope = {"ok": self.envelope.get("ok"), "job": self.id}
            if error is not None:
                self.envelope["error"] = {"type": error.get("type"), "message": error.get("message")}
            self.binary = None
            self.value = self.exception = None
            self._events = []
            self.stdout.release()
            self.stderr.release()

    def drop_result(self, reason: str) -> None:
        """Drop a kept result to bound memory, keeping the summary and saying why."""
        keep, self.keep_result = self.keep_result, False
        self.forget_result()
        self.keep_result = keep
        if self.envelope is not None:
            self.envelope["result_dropped"] = reason

    def progress(self, **data: Any) -> None:
        """Report how far a task got, as a "progress" event ({"fraction": ..} or {"stage": ..})."""
        self._add_event("progress", data)

    def event_log(self) -> list[tuple[str, Any]]:
        """The (kind, data) events so far, a list that grows as they come; forget_result
        starts a new one, so whoever holds this one still reads what happened."""
        return self._events

    def _condition(self) -> threading.Condition:
        if self._changed is None:
            with _CREATE:
                if self._changed is None:
                    self._changed = threading.Condition(threading.Lock())
        return self._changed

    def _add_event(self, kind: str, data: Any) -> None:
        # Appended before looking for a condition: a listener that makes one later finds
        # the event when it checks under the lock, and one that checked before is waiting,
        # so the notify (which takes the lock) cannot slip in between.
        self._events.append((kind, data))
        changed = self._changed
        if changed is not None:
            with changed:
                changed.notify_all()

    def events(self, start: int = 0, *, heartbeat: float = 15.0) -> Iterator[tuple[int, str, Any]]:
        """(index, kind, data) for every event from start on, blocking for new ones until
        "done"; yields (index, "heartbeat", None) when nothing happened for a while."""
        index = start
        changed = self._condition()
        while True:
            with changed:
                if index >= len(self._events):
                    if self.done.is_set() and index >= len(self._events):
                        return
                    changed.wait(heartbeat)
                batch = self._events[index:]
            if not batch:
                yield index, "heartbeat", None
                continue
            for kind, data in batch:
                yield index, kind, data
                index += 1
                if kind == "done":
                    return

    def view(self, *, with_envelope: bool = True) -> dict[str, Any]:
        """The JSON description of the job for /jobs."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "session": self.session,
            "task": self.task_name,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        if self.stop_reason and not self.finished:
            out["stop_requested"] = self.stop_reason
        if with_envelope and self.envelope is not None:
            out["envelope"] = self.envelope
        return out
