"""Tool calls while they run: the Blender jobs each one submitted, so that a client's
cancel reaches them, and so that whoever streams a call's progress can follow them.

A client names the call it cancels by its JSON-RPC request id, which is only unique per
client: calls are kept under (caller, request id), the caller being the MCP session
(Mcp-Session-Id) the request came with, so one client cannot cancel another's call that
happens to carry the same id."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..jobs.job import Job

Cancel = Callable[[Job], None]


class Call:
    """One tools/call: its jobs, whether it was cancelled, and its answer once there."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.jobs: list[Job] = []
        # Each job's events (Job.event_log), held from the start: a job that answered its
        # caller forgets them, before whoever follows the call may have read them all.
        self.logs: dict[str, list[tuple[str, Any]]] = {}
        self.cancelled: str | None = None  # why, once cancelled
        # Cancelled by the client's notifications/cancelled: it wants no answer (the protocol
        # says the receiver of a cancel should not send one).
        self.withdrawn = False
        self.answer: Any = None
        self._owned: list[tuple[Job, Cancel]] = []
        self._over = threading.Event()
        # A job is added on the thread that submits it while a cancel may come on another:
        # each owned job is stopped exactly once, whichever comes first.
        self._lock = threading.Lock()

    @property
    def over(self) -> bool:
        return self._over.is_set()

    def add(self, job: Job, cancel: Cancel | None) -> None:
        """A job the call follows: one it submitted (cancel stops it; a job submitted after
        a cancel is stopped at once), or one it only waits for (cancel None: get_job)."""
        self.logs[job.id] = job.event_log()
        self.jobs.append(job)
        if cancel is None:
            return
        with self._lock:
            self._owned.append((job, cancel))
            stop = self.cancelled is not None
        if stop:
            cancel(job)

    def cancel(self, reason: str) -> None:
        """Stop every job of the call (a queued one is dropped, a running one interrupted)."""
        with self._lock:
            if self.cancelled is not None:
                return
            self.cancelled = reason
            owned = list(self._owned)
        for job, cancel in owned:
            cancel(job)

    def finish(self, answer: Any) -> None:
        self.answer = answer
        self._over.set()

    def wait(self, timeout: float) -> bool:
        """True once the call answered; waits at most timeout seconds."""
        return self._over.wait(timeout)


class Running:
    """The calls running now, by (caller, request id)."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, Any], Call] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def tracking(self, caller: str, request_id: Any, call: Call | None = None) -> Iterator[Call]:
        """call (or a new one) registered under (caller, request_id) while the block runs."""
        call = call or Call()
        key = (caller, _id_key(request_id))
        with self._lock:
            self._calls[key] = call
        try:
            yield call
        finally:
            with self._lock:
                if self._calls.get(key) is call:
                    del self._calls[key]

    def cancel(self, caller: str, request_id: Any, reason: str) -> bool:
        """Cancel the caller's call of that id; False when there is none (it ended, or
        it is another caller's)."""
        with self._lock:
            call = self._calls.get((caller, _id_key(request_id)))
        if call is None:
            return False
        call.withdrawn = True
        call.cancel(reason)
        return True


def _id_key(request_id: Any) -> tuple[str, Any]:
    # 1 and "1" are different ids in JSON-RPC.
    return (type(request_id).__name__, request_id)
