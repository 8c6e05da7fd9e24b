"""POST /exec: run code on a backend and wait for it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from blender_http_addon.protocol import EXEC, OCTET

from ..forwarding import idempotency
from ..forwarding.forward import Body, Forward
from ..models import ExecRequest, ExecResult
from ..workers.jobids import exec_envelope
from .deps import GatewayDep, exec_body
from .openapi import CANCELLED_EXAMPLE, ERROR_TEXT, KEY_REUSED_TEXT, errors, json_body

router = APIRouter(tags=["exec"])


@router.post(
    EXEC, summary="Run code and wait for its result",
    openapi_extra=json_body(ExecRequest, text=True),
    responses={
        200: {"model": ExecResult, "description": "The code ran; with Accept: application/octet-stream "
              "a bytes or numpy result is the raw body (X-Result-Dtype, X-Result-Shape)",
              "content": {OCTET: {"schema": {"type": "string", "format": "binary"}}}},
        # 409: its job cancelled by DELETE /jobs/{id} (exec jobs are listed in GET /jobs too).
        **errors(409, 413, 415, 422, 504, examples={409: CANCELLED_EXAMPLE},
                 descriptions={409: "Cancelled by DELETE /jobs/{id} while it ran",
                               422: f"{ERROR_TEXT[422]}; or: {KEY_REUSED_TEXT}"}),
    })
async def exec_code(request: Request, gateway: GatewayDep) -> Response:
    """Run Python in Blender: the value of the last expression comes back as JSON.

    Sessions (`session` in the body) always run on the same backend. A text body (the code
    itself, e.g. `curl --data-binary @script.py`) takes `?session=` and `?timeout=` instead.
    A multipart form sends binary arguments (`curl -F code=... -F points=@points.npy`): each
    part other than `request`/`code` is bound as `args[name]`; it streams through unbuffered."""
    return await gateway.forward(exec_forward(request, *await exec_body(request)))


def exec_forward(request: Request, body: Body, session: str | None) -> Forward:
    """What POST /exec sends on: its body, on the session's backend (None: pick() reads
    ?session=), with the caller's Idempotency-Key; the answer's job id made the gateway's."""
    return Forward(request, EXEC, body=body, session=session, key=idempotency.caller_key(request.scope),
                   rewrite=exec_envelope)
