"""Dependencies of the routes: the gateway object comes from the app, so tests can swap it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from blender_http_addon.protocol import JSON, MIB, OCTET

from .core import Gateway
from .errors import GatewayError
from .models import CODE_PATTERN, ErrorResponse


async def get_gateway(request: Request) -> Gateway:
    # async: FastAPI would run a plain function in its thread pool, a thread hop per request.
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

ERROR_TEXT = {
    400: "Malformed request", 401: "Missing or wrong API key", 404: "Not found",
    409: "Conflict (the job already finished)", 413: "Body too large",
    415: "Unsupported content type", 422: "The code raised or did not compile",
    501: "Not supported by this Blender", 502: "The backend died or could not be reached",
    503: "No healthy backend, or the backend's queue is full", 504: "The code ran past its timeout",
}


# Bodies the gateway reads whole (exec, jobs, render) stop here; files and imports stream.
MAX_BUFFERED_BODY = 64 * MIB


async def read_body(request: Request, limit: int = MAX_BUFFERED_BODY) -> bytes:
    """The request body, or 413 in the one error shape once it grows past limit."""
    declared = request.headers.get("content-length", "")
    too_big = GatewayError(413, f"the body is over the gateway's limit of {limit // MIB} MiB",
                           type="PayloadTooLarge")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers, all in the one error shape."""
    return {code: {"model": ErrorResponse, "description": ERROR_TEXT.get(code, "Error")}
            for code in (400, 401, 502, 503, *codes)}


def json_body(model: Any, *, text: bool = False, required: bool = True) -> dict[str, Any]:
    """An OpenAPI requestBody for a body the route reads raw (forwarded as it came)."""
    schema = model.model_json_schema()
    examples = schema.get("examples", [])
    content: dict[str, Any] = {JSON: {
        "schema": schema, "examples": {f"example{i + 1}": {"value": e} for i, e in enumerate(examples)}}}
    if text:
        content["text/plain"] = {"schema": {"type": "string", "minLength": 1,
                                            "pattern": CODE_PATTERN},
                                 "example": "import bpy\nlen(bpy.data.objects)"}
    return {"requestBody": {"required": required, "content": content}}


def binary_body(description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": {
        OCTET: {"schema": {"type": "string", "format": "binary"}}}}}


def binary_answer(media: str | tuple[str, ...], description: str, **extra: Any) -> dict[str, Any]:
    kinds = (media,) if isinstance(media, str) else media
    return {"description": description,
            "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in kinds},
            **extra}
