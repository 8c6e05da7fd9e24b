"""The hot path: `POST /exec` and `POST /jobs` go straight to their route's function.

Those routes read their body raw and forward it: FastAPI's routing, dependency injection,
exception middleware and exit stacks do nothing for them but cost about half of the
gateway's CPU per request. The routes stay declared (OpenAPI, Swagger UI); this layer calls
the same functions with the same arguments, so what they do is defined in one place. A route
whose function takes anything else than (request, gateway) is left to FastAPI.

Most such requests do not even pass through ASGI: serving/lane.py answers them through
respond() beneath it. FastLane takes the rest, which need uvicorn's request cycle (a large
or chunked body, Expect: 100-continue, forwarded-for headers)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from blender_http_addon.protocol import EXEC, JOBS

from ..errors import GatewayError, error_response

if TYPE_CHECKING:  # the gateway only passes through, to the route functions
    from ..core import Gateway

log = logging.getLogger("blender_http_gateway")
FAST_PATHS = (EXEC, JOBS)


class FastLane:
    def __init__(self, app: ASGIApp, *, gateway: Gateway, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.gateway = gateway
        self._routes = routes
        self._lanes: dict[str, APIRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            if self._lanes is None:
                self._lanes = lanes(self._routes)
            route = self._lanes.get(scope["path"])
            if route is not None:
                await self._run(route, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _run(self, route: APIRoute, scope: Scope, receive: Receive, send: Send) -> None:
        response = await respond(route, Request(scope, receive), self.gateway)
        await response(scope, receive, send)


async def respond(route: APIRoute, request: Request, gateway: Gateway) -> Response:
    """The answer of route's function to request, as FastAPI's stack would give it."""
    scope = matched(request.scope, route)
    try:
        return await route.endpoint(request, gateway)
    except Exception as exc:
        return failed(scope, exc)


def matched(scope: Scope, route: APIRoute) -> Scope:
    """scope, marked as the router marks a request it matched to route: metrics and logs
    label by it."""
    scope["route"] = route
    return scope


def failed(scope: Scope, exc: Exception) -> Response:
    """The answer to a route's failure on the request of scope, as FastAPI's stack would give
    it: a GatewayError in the one error shape, anything else logged and answered 500. (Caught
    where the route is awaited, not in a wrapper: a coroutine less per request.)"""
    if isinstance(exc, GatewayError):
        return exc.response()
    log.exception("unexpected error on %s %s", scope["method"], scope["path"], exc_info=exc)
    return error_response(500, "InternalError", f"the gateway failed: {type(exc).__name__}")


def lanes(routes: Sequence[BaseRoute]) -> dict[str, APIRoute]:
    """The POST routes of FAST_PATHS whose function takes exactly (request, gateway)."""
    out = {}
    for route in routes:
        if (isinstance(route, APIRoute) and route.path in FAST_PATHS and "POST" in (route.methods or ())
                and _plain(route.endpoint)):
            out[route.path] = route
    return out


def _plain(endpoint: Any) -> bool:
    return list(inspect.signature(endpoint).parameters) == ["request", "gateway"]
