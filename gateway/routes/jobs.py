"""Jobs: submit, list, poll, cancel, stream. A job id names its backend, so any gateway
replica routes it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from .. import jobids, routing
from ..core import session_in
from ..deps import GatewayDep, errors, json_body, read_body
from ..models import ExecRequest, JobList, JobStatus, JobView

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[str, Path(description="The id from POST /jobs (it carries its backend)",
                           examples=["aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c2d1e0a4b5c6d"])]


@router.post("", status_code=202, summary="Queue code to run",
             openapi_extra=json_body(ExecRequest, text=True),
             responses={202: {"model": JobView, "description": "Queued; Location: /jobs/{id}"},
                        **errors(413, 415)})
async def submit_job(request: Request, gateway: GatewayDep) -> Response:
    """Queue code and answer at once with the job (poll it, stream it or cancel it)."""
    body = await read_body(request)
    owner = session_in(body, request.headers.get("content-type"))  # else pick() reads ?session=
    return await gateway.forward(request, "/jobs", route="/jobs", body=body, session=owner,
                                 rewrite=jobids.job_view)


@router.get("", summary="Recent jobs of every backend", response_model=JobList,
            responses=errors())
async def list_jobs(request: Request, gateway: GatewayDep,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    status: JobStatus | None = None) -> Any:
    """Recent jobs, newest first, gathered from every healthy backend."""
    params = {"limit": str(limit), **({"status": status} if status else {})}
    views: list[dict[str, Any]] = []
    for backend, code, data in await gateway.gather_json(request, "/jobs", params):
        if code != 200:
            return JSONResponse(data, status_code=code)
        views += [jobids.view(backend, job) for job in data.get("jobs", [])]
    views.sort(key=lambda job: job.get("created_at") or 0, reverse=True)
    return JSONResponse({"jobs": views[:limit]})


@router.get("/{job_id}", summary="A job's state", response_model=JobView,
            responses=errors(404))
async def get_job(request: Request, gateway: GatewayDep, job_id: JobId,
                  wait: Annotated[float | None, Query(ge=0, le=300, description="Seconds to "
                                                      "long-poll until it finishes")] = None) -> Response:
    """The job's status, timestamps, and its exec envelope once finished."""
    backend, local = routing.job_backend(gateway.pool, job_id)
    return await gateway.to(request, backend, f"/jobs/{local}", route="/jobs/{job_id}", busy=False,
                            rewrite=jobids.job_view)


@router.delete("/{job_id}", summary="Cancel a job", response_model=JobView,
               responses={202: {"model": JobView, "description": "Interrupt requested, still running"},
                          **errors(404, 409)})
async def cancel_job(request: Request, gateway: GatewayDep, job_id: JobId) -> Response:
    """Drop a queued job or interrupt a running one."""
    backend, local = routing.job_backend(gateway.pool, job_id)
    return await gateway.to(request, backend, f"/jobs/{local}", route="/jobs/{job_id}", busy=False,
                            rewrite=jobids.job_view)


@router.get("/{job_id}/events", summary="Stream a job's output (server-sent events)",
            responses={200: {"description": "`stdout`/`stderr` events ({\"text\"}) as printed, then "
                             "one `done` event with the envelope",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                       **errors(404)})
async def job_events(request: Request, gateway: GatewayDep, job_id: JobId) -> Response:
    """Server-sent events, streamed through as the backend sends them."""
    backend, local = routing.job_backend(gateway.pool, job_id)
    return await gateway.to(request, backend, f"/jobs/{local}/events", route="/jobs/{job_id}/events",
                            busy=False, rewrite_stream=jobids.events)


