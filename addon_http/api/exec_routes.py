"""Routes for running code and following it: /exec, /jobs, /sessions, /health, /shutdown.
Each handler is a few lines that delegate to the service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .. import json_text
from ..errors import HttpError
from ..http import multipart
from ..http.request import Request
from ..http.response import Response
from ..jobs import job as jobs
from ..jobs.work import Code
from ..protocol import (
    EVENT_STREAM,
    EXEC,
    IDEMPOTENCY_HEADER,
    JOBS,
    MAX_IDEMPOTENCY_KEY,
    MAX_LONG_POLL_S,
    OCTET,
)
from . import outcome
from .exec_request import ExecRequest, parse_exec, parse_exec_form
from .queries import float_query, int_query

if TYPE_CHECKING:
    from ..service import Service


def health(service: Service, req: Request) -> Response:
    """Liveness and load; never waits on the main thread."""
    return Response.json(service.health())


def exec_code(service: Service, req: Request) -> Response:
    """Run code and answer its envelope (or raw bytes with Accept: application/octet-stream)."""
    key = idempotency_key(req)  # checked before the body is read: a bad key costs no upload
    # A keyed job keeps its answer: a repeat of the request is answered with it too.
    job = _submit(service, req, EXEC, _exec_request(service, req), key,
                  want_binary=req.accepts(OCTET), keep_result=key is not None)
    if not outcome.wait(job):
        return outcome.still_running(job)
    try:
        return outcome.exec_answer(job)
    finally:
        job.forget_result()


def submit_job(service: Service, req: Request) -> Response:
    """Queue code to run; answer at once with the job's URL."""
    key = idempotency_key(req)  # checked before the body is read: a bad key costs no upload
    job = _submit(service, req, JOBS, _exec_request(service, req), key)
    return Response.json(job.view(), status=202, headers={"Location": f"/jobs/{job.id}"})


def _exec_request(service: Service, req: Request) -> ExecRequest:
    """The request in a JSON or text body, or a multipart form (under its own limit)."""
    if multipart.is_multipart(req.content_type):
        form = multipart.read_form(req, service.config.max_multipart_bytes)
        return parse_exec_form(form, req.query)
    return parse_exec(req.content_type, req.body(), req.query)


def _submit(service: Service, req: Request, route: str, request: ExecRequest, key: str | None, *,
            want_binary: bool = False, keep_result: bool = True) -> jobs.Job:
    code = Code(request.code, args=request.args, session=request.session, want_binary=want_binary)
    # The route is part of the request: a key sent to /exec and then to /jobs is reused (422).
    fingerprint = request.fingerprint(req.method, route) if key is not None else ""
    return service.submit(code, timeout=request.timeout, keep_result=keep_result, inline=req.inline,
                          key=key, fingerprint=fingerprint)


def idempotency_key(req: Request) -> str | None:
    """The request's Idempotency-Key, if any (400 when it is empty or too long)."""
    key = req.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise HttpError(400, f"{IDEMPOTENCY_HEADER} must be 1-{MAX_IDEMPOTENCY_KEY} characters")
    return key


def list_jobs(service: Service, req: Request) -> Response:
    """Recent jobs, newest first (?limit=, ?status=)."""
    limit = int_query(req, "limit", 100, 1, service.config.job_retention)
    status = req.query.get("status")
    if status is not None and status not in jobs.FINISHED | {jobs.QUEUED, jobs.RUNNING}:
        raise HttpError(400, f"unknown status {status!r}")
    views = [job.view(with_envelope=False) for job in service.store.recent(limit, status)]
    return Response.json({"jobs": views})


def get_job(service: Service, req: Request) -> Response:
    """A job's state; ?wait=seconds long-polls until it finishes."""
    job = service.get_job(req.params["id"])
    wait = float_query(req, "wait", 0.0, 0.0, MAX_LONG_POLL_S)
    if wait:
        job.done.wait(wait)
    return Response.json(job.view())


def cancel_job(service: Service, req: Request) -> Response:
    """Drop a queued job or interrupt a running one."""
    job = service.get_job(req.params["id"])
    if job.finished:
        raise HttpError(409, f"job {job.id} already finished ({job.status})")
    service.cancel(job)
    stopped = job.done.wait(1.0)
    return Response.json(job.view(), status=200 if stopped else 202)


def job_events(service: Service, req: Request) -> Response:
    """Server-sent events: stdout/stderr chunks as printed, then one "done" with the envelope."""
    job = service.get_job(req.params["id"])
    last = req.headers.get("Last-Event-ID", "")
    start = int(last) + 1 if last.isdigit() else 0
    return Response(content_type=EVENT_STREAM, stream=_sse(job, start),
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _sse(job: jobs.Job, start: int) -> Iterator[bytes]:
    yield b": stream of job " + job.id.encode() + b"\n\n"  # headers go out before any event
    for index, kind, data in job.events(start):
        if kind == "heartbeat":
            yield b": keep-alive\n\n"
            continue
        payload = {"text": data} if kind in ("stdout", "stderr") else data
        text = json_text.dumps(payload)
        yield f"id: {index}\nevent: {kind}\ndata: {text}\n\n".encode("ascii")


def list_sessions(service: Service, req: Request) -> Response:
    """Named sessions and how much they hold, by name, a page at a time (?limit=, ?offset=)."""
    limit = int_query(req, "limit", 100, 1, service.config.max_sessions)
    offset = int_query(req, "offset", 0, 0, 2**31)
    views, total = service.sessions.page(limit, offset)
    return Response.json({"sessions": views, "total": total, "limit": limit, "offset": offset})


def delete_session(service: Service, req: Request) -> Response:
    """Forget a session and its variables."""
    if not service.sessions.delete(req.params["name"]):
        raise HttpError(404, f"no session {req.params['name']!r}")
    return Response.empty()


def shutdown(service: Service, req: Request) -> Response:
    """Finish the running job, refuse the rest with 503, stop."""
    service.shutdown()
    return Response.json({"ok": True, "message": "shutting down"}, status=202)
