"""The one mapping from a finished job to what its caller is answered.

/exec answers the job's envelope with the status below; a task route answers the
task's value, or the same status with the error shape. Both wait the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import HttpError
from ..http.response import Response
from ..jobs import job as jobs
from ..jobs.execution import failure_envelope
from ..jobs.work import Task
from ..protocol import OCTET

if TYPE_CHECKING:
    from ..service import Service

# How long a caller waits past a job's deadline for the interrupt to land before it
# answers 504 anyway: a long C operator, e.g. a render, ends first.
TIMEOUT_GRACE_S = 2.0
RETRY_AFTER_SHUTDOWN = {"Retry-After": "5"}


def wait(job: jobs.Job) -> bool:
    """Wait until the job finished (up to its deadline plus a grace); False if it did not."""
    if job.deadline is None:
        return job.done.wait()
    return job.done.wait(max(0.0, job.deadline - time.monotonic()) + TIMEOUT_GRACE_S)


def status_of(job: jobs.Job) -> int:
    """The HTTP status of a finished job."""
    if job.status == jobs.SUCCEEDED:
        return 200
    if job.status == jobs.TIMED_OUT:
        return 504
    if isinstance(job.exception, HttpError):  # a task's own answer, e.g. 404 for a name
        return job.exception.status
    error_type = _error(job).get("type")
    if job.status == jobs.CANCELLED:
        return 503 if error_type == "Unavailable" else 409
    if error_type == "InternalError" or job.work.task_name is not None:
        return 500
    return 422


def exec_answer(job: jobs.Job) -> Response:
    """A finished /exec job: its envelope (or raw bytes) with its status."""
    if job.binary is not None and job.status == jobs.SUCCEEDED:
        data, headers = job.binary
        return Response(body=data, content_type=OCTET, headers={**headers, "X-Job-Id": job.id})
    status = status_of(job)
    return Response.json(job.envelope, status=status, headers=RETRY_AFTER_SHUTDOWN if status == 503 else {})


def still_running(job: jobs.Job) -> Response:
    """An /exec job past its deadline whose interrupt has not landed yet: 504 now."""
    return Response.json(failure_envelope(job, "Timeout", _still_running_message(job), duration_ms=None),
                         status=504)


def run_task(service: Service, name: str, fn: Callable[[jobs.Job], Any], *,
             timeout: float | None = None, inline: bool = False,
             on_submit: Callable[[jobs.Job], None] | None = None) -> Any:
    """Run fn on the main thread as a job, wait for it and return its value; a failure
    (its HttpError, a timeout, cancel or shutdown) is raised as the caller's answer.
    inline: the caller is the main thread (see Service.submit). on_submit: told of the job
    before it runs (an MCP call follows and cancels its jobs)."""
    job = service.submit(Task(name, fn), timeout=timeout, keep_result=False, inline=inline,
                         on_submit=on_submit)
    if not wait(job):
        raise HttpError(504, _still_running_message(job), type="Timeout")
    try:
        return task_value(job)
    finally:
        job.forget_result()


def task_value(job: jobs.Job) -> Any:
    """The value of a finished task job, or the HttpError that tells why there is none."""
    if job.status == jobs.SUCCEEDED:
        return job.value
    if isinstance(job.exception, HttpError):
        raise job.exception
    status = status_of(job)
    error = _error(job)
    if job.status == jobs.TIMED_OUT:
        message = f"{job.task_name} ran past its timeout of {job.timeout:g} s and was interrupted"
    else:
        message = error.get("message") or job.status
    error_type = "Cancelled" if status == 409 else error.get("type") or "InternalError"
    raise HttpError(status, message, type=error_type,
                    headers=RETRY_AFTER_SHUTDOWN if status == 503 else None)


def _still_running_message(job: jobs.Job) -> str:
    what = job.task_name or "the code"
    return (f"{what} ran past its timeout of {job.timeout:g} s and could not be interrupted yet "
            f"(a long C operator ends first); it is still running: see GET /jobs/{job.id}")


def _error(job: jobs.Job) -> dict[str, Any]:
    return (job.envelope or {}).get("error") or {}
