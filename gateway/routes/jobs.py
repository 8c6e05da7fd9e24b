"""Jobs: submit, list, poll, cancel, stream. A job id names its backend, so any gateway
replica routes it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from blender_http_addon.protocol import JOB, JOB_EVENTS, JOBS, MAX_LONG_POLL_S

from ..core import Gateway
from ..forwarding import idempotency
from ..forwarding.forward import Body, Forward, Rewrite, StreamRewrite
from ..models import ExecRequest, JobList, JobStatus, JobView
from ..workers import choice, jobids
from .deps import GatewayDep, exec_body
from .openapi import KEY_REUSED_EXAMPLE, KEY_REUSED_TEXT, errors, json_body

router = APIRouter(tags=["jobs"])
# The gateway's job ids are its own (they name their backend): its parameter is job_id.
GATEWAY_JOB = JOB.replace("{id}", "{job_id}")
GATEWAY_JOB_EVENTS = JOB_EVENTS.replace("{id}", "{job_id}")

JobId = Annotated[str, Path(description="The id from POST /jobs (it carries its backend)",
                           examples=["aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c2d1e0a4b5c6d"])]


@router.post(JOBS, status_code=202, summary="Queue code to run",
             openapi_extra=json_body(ExecRequest, text=True),
             responses={202: {"model": JobView, "description": "Queued; Location: /jobs/{id}"},
                        **errors(413, 415, 422, examples={422: KEY_REUSED_EXAMPLE},
                                 descriptions={422: KEY_REUSED_TEXT})})
async def submit_job(request: Request, gateway: GatewayDep) -> Response:
    """Queue code and answer at once with the job (poll it, stream it or cancel it)."""
    return await gateway.forward(job_forward(request, *await exec_body(request)))


def job_forward(request: Request, body: Body, session: str | None) -> Forward:
    """What POST /jobs sends on, as exec_forward(); the answer's job view made the gateway's."""
    return Forward(request, JOBS, body=body, session=session, key=idempotency.caller_key(request.scope),
                   rewrite=jobids.job_view)


@router.get(JOBS, summary="Recent jobs of every backend", response_model=JobList,
            responses=errors())
async def list_jobs(request: Request, gateway: GatewayDep,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    status: JobStatus | None = None) -> Any:
    """Recent jobs, newest first, gathered from every healthy backend."""
    params = {"limit": str(limit), **({"status": status} if status else {})}
    views: list[dict[str, Any]] = []
    for backend, code, data in await gateway.gather_json(request, JOBS, params):
        if code != 200:
            return JSONResponse(data, status_code=code)
        views += [jobids.view(backend, job) for job in data.get("jobs", [])]
    views.sort(key=lambda job: job.get("created_at") or 0, reverse=True)
    return JSONResponse({"jobs": views[:limit]})


@router.get(GATEWAY_JOB, summary="A job's state", response_model=JobView,
            responses=errors(404))
async def get_job(request: Request, gateway: GatewayDep, job_id: JobId,
                  wait: Annotated[float | None, Query(ge=0, le=MAX_LONG_POLL_S, description="Seconds to "
                                                      "long-poll until it finishes")] = None) -> Response:
    """The job's status, timestamps, and its exec envelope once finished."""
    return await gateway.forward(_job(request, gateway, job_id, JOB, rewrite=jobids.job_view))


@router.delete(GATEWAY_JOB, summary="Cancel a job", response_model=JobView,
               responses={202: {"model": JobView, "description": "Interrupt requested, still running"},
                          **errors(404, 409)})
async def cancel_job(request: Request, gateway: GatewayDep, job_id: JobId) -> Response:
    """Drop a queued job or interrupt a running one."""
    return await gateway.forward(_job(request, gateway, job_id, JOB, rewrite=jobids.job_view))


@router.get(GATEWAY_JOB_EVENTS, summary="Stream a job's output (server-sent events)",
            responses={200: {"description": "`stdout`/`stderr` events ({\"text\"}) as printed, then "
                             "one `done` event with the envelope",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                       **errors(404)})
async def job_events(request: Request, gateway: GatewayDep, job_id: JobId) -> Response:
    """Server-sent events, streamed through as the backend sends them."""
    return await gateway.forward(_job(request, gateway, job_id, JOB_EVENTS,
                                      rewrite_stream=jobids.events))


def _job(request: Request, gateway: Gateway, job_id: str, template: str, *,
         rewrite: Rewrite | None = None, rewrite_stream: StreamRewrite | None = None) -> Forward:
    """A request about one job, for the backend its id names (it does not occupy the worker)."""
    backend, local = choice.job_backend(gateway.pool, job_id)
    return Forward(request, template.format(id=local), backend=backend, busy=False, rewrite=rewrite,
                   rewrite_stream=rewrite_stream)
