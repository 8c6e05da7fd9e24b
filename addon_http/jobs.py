"""A job: one piece of code to run on the main thread, its state, output and answer.

A job runs either the user's code or a task: an internal callable (a render, an export,
a scene listing) that the server's own routes hand to the main thread, so that they share
the queue, the timeouts, cancel and every pump with /exec.
"""

from __future__ import annotations

import collections
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .capture import OutputBuffer

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

    def __init__(self, code: str, *, args: dict[str, Any] | None = None,
                 session: str | None = None, timeout: float | None = None,
                 want_binary: bool = False, keep_result: bool = True,
                 max_output_bytes: int = 1024 * 1024,
                 task: Callable[[Job], Any] | None = None, task_name: str | None = None) -> None:
        self.id = secrets.token_hex(8)
        self.code = code
        # Run instead of code when set; its raw return value (or exception) is kept for
        # the route that submitted it, which builds its own answer from it.
        self.task = task
        self.task_name = task_name
        self.value: Any = None
        self.exception: BaseException | None = None
        self.args = args if args is not None else {}
        self.session = session
        self.timeout = timeout
        self.want_binary = want_binary
        # /exec answers are delivered once; only /jobs keep theirs for later reads.
        self.keep_result = keep_result
        self.status = QUEUED
        self.created_at = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.deadline = time.monotonic() + timeout if timeout else None
        # Why the job was stopped from outside: CANCELLED, TIMED_OUT or "shutdown".
        self.stop_reason: str | None = None
        self.envelope: dict[str, Any] | None = None
        self.binary: tuple[bytes, dict[str, str]] | None = None
        self.done = Done(self)
        self._events: list[tuple[str, Any]] = []
        self._changed: threading.Condition | None = None
        self.stdout = OutputBuffer("stdout", max_output_bytes, self._add_event)
        self.stderr = OutputBuffer("stderr", max_output_bytes, self._add_event)

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

    def progress(self, **data: Any) -> None:
        """Report how far a task got, as a "progress" event ({"fraction": ..} or {"stage": ..})."""
        self._add_event("progress", data)

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


class JobStore:
    """The recent jobs by id, oldest finished ones dropped past the retention bound."""

    def __init__(self, retention: int) -> None:
        self.retention = retention
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > self.retention:
                self._evict()

    def _evict(self) -> None:
        # Look at the oldest few only (this runs on every submit); unfinished jobs are
        # never dropped, someone may still wait for them, so the store can briefly
        # hold more than the bound while old jobs run.
        oldest = next(iter(self._jobs.values()))
        if oldest.finished:  # the usual case, in O(1)
            del self._jobs[oldest.id]
            return
        excess = len(self._jobs) - self.retention
        for key, job in list(itertools.islice(self._jobs.items(), excess + 16)):
            if excess <= 0:
                break
            if job.finished:
                del self._jobs[key]
                excess -= 1

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, limit: int, status: str | None = None) -> list[Job]:
        """Newest first."""
        with self._lock:
            jobs = list(reversed(self._jobs.values()))
        if status is not None:
            jobs = [j for j in jobs if j.status == status]
        return jobs[:limit]


class QueueFull(Exception):
    """More jobs wait than the configured bound."""


class JobQueue:
    """Jobs waiting for the main thread, bounded; a queued job can be taken out again."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: collections.deque[Job | None] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        # Called after every put or wake: how a pump that waits on more than this queue
        # (main_loop.py) learns of new work.
        self.on_put: Callable[[], None] | None = None

    def __len__(self) -> int:
        if not self._items:  # the common case, asked once per request: no generator
            return 0
        return sum(1 for item in self._items if item is not None)

    def put(self, job: Job) -> None:
        """Enqueue, or raise QueueFull."""
        with self._cond:
            if len(self._items) >= self.maxsize:
                raise QueueFull
            self._items.append(job)
            self._cond.notify()
        if self.on_put is not None:
            self.on_put()

    def wake(self) -> None:
        """Make a blocked get() return None (used to stop the blocking pump)."""
        with self._cond:
            self._items.append(None)
            self._cond.notify()
        if self.on_put is not None:
            self.on_put()

    def get(self, timeout: float | None = None) -> Job | None:
        """The next job, blocking; None when woken or timed out."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: self._items, timeout):
                return None
            return self._items.popleft()

    def get_nowait(self) -> Job | None:
        if not self._items:  # a put racing with this is seen on the next look (on_put wakes)
            return None
        with self._cond:
            return self._items.popleft() if self._items else None

    def remove(self, job: Job) -> bool:
        """Take a job out before it starts; False when it already left the queue."""
        with self._cond:
            try:
                self._items.remove(job)
            except ValueError:
                return False
            return True

    def drain(self) -> list[Job]:
        """Take out every waiting job."""
        with self._cond:
            jobs = [j for j in self._items if j is not None]
            self._items.clear()
            return jobs
