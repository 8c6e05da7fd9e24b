"""The gateway's own state: health (open, for probes) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from blender_http_addon.protocol import HEALTH

from .. import __version__
from ..metrics import CONTENT_TYPE
from ..models import GatewayHealth
from ..scopes import KEY_HOLDER
from .deps import GatewayDep
from .openapi import errors

router = APIRouter(tags=["gateway"])


@router.get(HEALTH, summary="Gateway health (no key needed; the workers with a key)",
            response_model=GatewayHealth,
            responses={503: {"model": GatewayHealth, "description": "No backend is healthy"}},
            openapi_extra={"security": []})
async def health(gateway: GatewayDep, request: Request) -> JSONResponse:
    """ok: every backend healthy; degraded: some; down: none (then 503). The workers (URLs,
    pids, load) are shown to a caller with an API key only; without one, the status alone."""
    backends = gateway.pool.all()
    healthy = sum(1 for b in backends if b.healthy)
    status = "ok" if healthy and healthy == len(backends) else "degraded" if healthy else "down"
    body: dict[str, Any] = {"status": status, "version": __version__}
    if request.scope.get("state", {}).get(KEY_HOLDER, False):
        body.update(healthy=healthy, total=len(backends), waiting=sum(b.waiting for b in backends),
                    running=sum(b.running for b in backends), backends=[b.view() for b in backends])
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"description": "Prometheus text format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}},
                       401: errors()[401]})
async def metrics(gateway: GatewayDep) -> Response:
    """Requests and latency by route and backend, queue depth per backend, worker restarts."""
    return Response(gateway.metrics.render(), media_type=CONTENT_TYPE)
