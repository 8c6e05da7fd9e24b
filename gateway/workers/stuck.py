"""When a worker counts as stuck: its running job was asked to stop (its timeout passed, or a
cancel) and has not stopped kill_after seconds later (C code ignores the interrupt), or it
has left /health unanswered and made no progress that long.

Silence alone tells nothing: a long C call that holds Python's lock (`foreach_set` on a huge
array, the JSON of a huge result) keeps /health waiting as long as it runs. For a worker the
gateway spawned, progress is its process's CPU time (progress.py): a silent worker whose
process keeps using CPU is working, one that is stopped or uses none for kill_after seconds
is hung. For a worker without a process of ours to look at, silence while busy is all there
is to go by.

The worker itself says which job runs and whether it was asked to stop (`stop_requested` in
its job view): it knows each job's timeout, default included, for /exec and /jobs alike."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import progress

if TYPE_CHECKING:
    from .backends import Backend

log = logging.getLogger("blender_http_gateway.backends")


def watch(backend: Backend, running: dict[str, Any] | None, kill_after: float,
          replace: Callable[[Backend, str], bool] | None) -> None:
    """After a health check: replace a stuck worker (replace(), the supervisor, for the ones
    it spawned) or route around it (the others); a worker no longer stuck is used again."""
    why = reason(backend, running, time.monotonic(), kill_after)
    if why is None:
        if backend.stuck is not None and backend.failures == 0 and not (backend.stopping or backend.left_dns):
            log.info("backend %s is no longer stuck", backend.key)
            backend.stuck, backend.healthy = None, True
        return
    if replace is not None and replace(backend, why):
        return
    if backend.stuck is None:
        log.warning("backend %s is stuck, routing around it: %s", backend.key, why)
    backend.stuck, backend.healthy, backend.last_error = why, False, why


def reason(backend: Backend, running: dict[str, Any] | None, now: float, kill_after: float) -> str | None:
    """Why backend is stuck at now, or None; remembers when its running job became overdue.
    running: the job view the worker reports running (None when idle or not answering)."""
    if backend.silent_since is not None:
        silent = now - backend.silent_since
        current = progress.sample(backend.pid) if backend.pid is not None else None
        if current is None:
            if (backend.busy or backend.inflight) and silent > kill_after:
                return f"it has not answered /health for {silent:.0f} s while busy"
            return None
        stalled = backend.stall.seconds(now, current)
        if stalled <= kill_after:
            return None  # working: a long call that holds the lock
        how = ("its process is stopped" if current.state in "Tt" else
               f"its process is not running (state {current.state})" if not current.runnable else
               "its process has used no CPU time")
        return f"it has not answered /health for {silent:.0f} s and {how} for {stalled:.0f} s"
    backend.stall.reset()
    requested = running.get("stop_requested") if running else None
    if not running or not requested:
        backend.overdue_since = backend.overdue_job = None
        return None
    job = str(running.get("id"))
    if backend.overdue_job != job:
        backend.overdue_since, backend.overdue_job = now, job
        return None
    assert backend.overdue_since is not None
    overdue = now - backend.overdue_since
    if overdue <= kill_after:
        return None
    why = "its timeout" if requested == "timed_out" else f"being {requested}"
    return f"its job {job} has run {overdue:.0f} s past {why} without stopping"
