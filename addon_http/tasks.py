"""Running the server's own work (scene queries, renders, exports) as jobs, and turning a
finished job back into a value or the error the caller should see.

The work goes through the same queue as /exec, so it runs on Blender's main thread in
every mode and shares the timeouts, cancel and pumps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import jobs
from .errors import HttpError

if TYPE_CHECKING:
    from .service import Service

# How long a caller (of /exec or a task) waits past a job's deadline for the interrupt
# to land before it answers 504 anyway: a long C operator, e.g. a render, ends first.
TIMEOUT_GRACE_S = 2.0

Task = Callable[[jobs.Job], Any]


def call(app: Service, name: str, task: Task, *, timeout: float | None = None) -> Any:
    """Run task on the main thread, wait for it and return its value; its HttpError (or a
    timeout, cancel or shutdown) is raised here as the caller's answer."""
    job = app.submit_task(name, task, timeout=timeout)
    if not wait(job):
        raise HttpError(504, f"{name} ran past its timeout of {job.timeout:g} s and could not be "
                             f"interrupted yet; it is still running: see GET /jobs/{job.id}")
    try:
        return outcome(job)
    finally:
        job.forget_result()


def wait(job: jobs.Job) -> bool:
    """Wait until the job finished (up to its deadline plus a grace); False if it did not."""
    if job.deadline is None:
        return job.done.wait()
    return job.done.wait(max(0.0, job.deadline - time.monotonic()) + TIMEOUT_GRACE_S)


def outcome(job: jobs.Job) -> Any:
    """The value of a finished task job, or the HttpError that tells why there is none."""
    if job.status == jobs.SUCCEEDED:
        return job.value
    if isinstance(job.exception, HttpError):
        raise job.exception
    error = (job.envelope or {}).get("error") or {}
    message = error.get("message") or job.status
    if job.status == jobs.TIMED_OUT:
        raise HttpError(504, f"{job.task_name} ran past its timeout of {job.timeout:g} s "
                             "and was interrupted")
    if job.status == jobs.CANCELLED:
        if error.get("type") == "Unavailable":
            raise HttpError(503, message, headers={"Retry-After": "5"})
        raise HttpError(409, message, type="Cancelled")
    raise HttpError(500, message, type=error.get("type") or "InternalError")
