"""The FastAPI application: routers, the edge layer, error shapes, OpenAPI and /mcp."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from blender_http_addon.protocol import HEALTH

from . import __version__
from .core import Gateway
from .docs_pages import add_docs
from .edge.auth import KeyCheck
from .edge.browser import BrowserCheck
from .edge.middleware import Edge
from .edge.throttle import Throttle
from .errors import STATUS_TYPES, GatewayError, error_response
from .forwarding.fastlane import FastLane
from .models import ErrorResponse
from .routes import ROUTERS, WHOLE_BODY_FORWARDS
from .routes.openapi import ERROR_EXAMPLES
from .serving.lane import Lane
from .settings import GatewaySettings, load_settings

log = logging.getLogger("blender_http_gateway")

TAGS = [
    {"name": "exec", "description": "Run Python inside Blender and wait for the result. `bpy`, "
                                    "`C` (context), `D` (data), `args` and `WORKDIR` are bound."},
    {"name": "jobs", "description": "Queue code, poll it (`?wait=` long-polls), stream its output "
                                    "as server-sent events, cancel it. Job ids name their backend."},
    {"name": "sessions", "description": "Named namespaces that keep variables between calls; each "
                                        "lives on the backend its name hashes to."},
    {"name": "files", "description": "The work folder of a backend (`WORKDIR` in code), streamed "
                                     "both ways."},
    {"name": "scene", "description": "Read the scene and its objects, render, export and import."},
    {"name": "mcp", "description": "The Model Context Protocol for agents: the add-on's tools, "
                                   "each MCP session kept on one worker."},
    {"name": "gateway", "description": "The gateway's own health and metrics."},
]

DESCRIPTION = """Run Python inside live Blenders over HTTP.

The gateway speaks the add-on's API (same paths and bodies) in front of one or many Blender
workers: it checks API keys, picks the least busy worker, keeps sessions and jobs on the worker
that owns them, and streams events and files through.

**Try it:** press *Authorize*, paste an API key, open `POST /exec`, *Try it out*, *Execute*.
Every error has one shape: `{"ok": false, "error": {"type": ..., "message": ...}}`."""


class GatewayApp(FastAPI):
    # The edge (request ids, keys, metrics, the access log) and the hot path, in front of
    # FastAPI's own stack: its layers (error pages, telemetry, body limits) cost CPU on every
    # request and do nothing for one the edge refuses or the fast lane answers.
    front: ASGIApp | None = None
    # The same steps beneath ASGI, for the requests the gateway's protocol hands it.
    lane: Lane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is not None and scope["type"] == "http":
            await self.front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def behind(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's own stack, where the front passes every other request on."""
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """The schema, with bearer auth declared and our error shape for malformed requests."""
        return _openapi(self)


def create_app(settings: GatewaySettings, gateway: Gateway | None = None) -> FastAPI:
    """The gateway app for settings; backends start and stop with the app's lifespan."""
    gateway = gateway or Gateway(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()
            if edge.access is not None:
                edge.access.flush()  # the last access lines

    app = GatewayApp(title="blender-http gateway", version=__version__, description=DESCRIPTION,
                     lifespan=lifespan, docs_url=None, redoc_url=None, openapi_tags=TAGS,
                     swagger_ui_parameters={"persistAuthorization": True,
                                            "displayRequestDuration": True})
    app.state.gateway = gateway
    for router in ROUTERS:
        app.include_router(router)
    if settings.mcp:
        from .routes.mcp import router as mcp_router

        app.include_router(mcp_router)
    add_docs(app)
    _error_handlers(app)
    keys = KeyCheck(settings.all_api_keys(), read_only=settings.read_only_api_keys())
    browsers = BrowserCheck(open_gateway=not keys.enabled, allowed_origins=settings.allowed_origins)
    # The fast lane runs inside the edge: keys, metrics and the access log still apply.
    routes = [route for router in ROUTERS for route in router.routes]
    edge = Edge(FastLane(app.behind, gateway=gateway, routes=routes), keys=keys, browsers=browsers,
                metrics=gateway.metrics, log_access=settings.access_log,
                throttle=Throttle(burst=settings.auth_failures))
    app.front = edge
    app.lane = Lane(edge, gateway, routes, WHOLE_BODY_FORWARDS)
    return app


def app_from_env() -> FastAPI:
    """The app of one of several gateway processes (`--workers N`): settings from the
    environment the command line filled. uvicorn starts it afresh: its logging too."""
    settings = load_settings()
    settings.configure_logging()
    return create_app(settings)


def _error_handlers(app: FastAPI) -> None:
    async def gateway_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        return exc.response()

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                             for e in exc.errors())
        return error_response(400, "BadRequest", problems)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, STATUS_TYPES.get(exc.status_code, "Error"),
                              str(exc.detail), headers=dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "InternalError", f"the gateway failed: {type(exc).__name__}")

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, with bearer auth declared and FastAPI's own 422 shape replaced by ours."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes, tags=app.openapi_tags)
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "An API key of the gateway"}
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    if "ErrorResponse" not in schemas:
        schemas["ErrorResponse"] = ErrorResponse.model_json_schema(
            ref_template="#/components/schemas/{model}")
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {})
            if "HTTPValidationError" in str(validation):
                # FastAPI's validation answer is our 400: only routes with parameters have one.
                del responses["422"]
                responses.setdefault("400", {"description": "Malformed request", "content": {
                    "application/json": {"schema": error_ref, "example": ERROR_EXAMPLES[400]}}})
            if path != HEALTH:
                operation["security"] = [{"bearer": []}]
    app.openapi_schema = schema
    return schema
