"""Sessions: named namespaces, each living on the backend its name hashes to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from blender_http_addon.protocol import SESSION, SESSIONS

from ..forwarding.forward import Forward
from ..models import SESSION_PATTERN, SessionList
from .deps import GatewayDep
from .openapi import errors

router = APIRouter(tags=["sessions"])


@router.get(SESSIONS, summary="Sessions of every backend", response_model=SessionList, responses=errors())
async def list_sessions(request: Request, gateway: GatewayDep) -> Any:
    """Named sessions and how much they hold, from every healthy backend."""
    sessions: list[dict[str, Any]] = []
    for _backend, code, data in await gateway.gather_json(request, SESSIONS):
        if code == 200:
            sessions += data.get("sessions", [])
    return JSONResponse({"sessions": sessions})


@router.delete(SESSION, status_code=204, summary="Forget a session",
               responses={204: {"description": "Forgotten"}, **errors(404)})
async def delete_session(request: Request, gateway: GatewayDep,
                         name: Annotated[str, Path(pattern=SESSION_PATTERN)]) -> Response:
    """Forget a session and its variables (on the backend that holds it)."""
    return await gateway.forward(Forward(request, SESSION.format(name=name), session=name, busy=False))
