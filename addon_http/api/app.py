"""The application the connections call: match the route, check who is asking, run the
handler, and dress the answer (CORS, request id). Every failure becomes the one JSON
error shape here, so a handler only raises HttpError."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import HttpError, error_body
from ..http.request import Request
from ..http.response import Response
from ..protocol import IDEMPOTENCY_HEADER
from .guard import Guard
from .routing import Route, Router
from .table import ROUTES

if TYPE_CHECKING:
    from ..service import Service

log = logging.getLogger("blender_http")

PREFLIGHT_HEADERS = f"Authorization, Content-Type, X-Request-ID, Last-Event-ID, {IDEMPOTENCY_HEADER}"
MAX_REQUEST_ID = 200


class App:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard
        self.router = Router(ROUTES)

    def __call__(self, request: Request) -> Response:
        cors_origin = None
        try:
            route, params = self.router.match(request.method, request.path)
            cors_origin = self._check(request, route)
            if request.method == "OPTIONS":
                return self._preflight(request, cors_origin)
            request.params = params
            response = route.handler(self.service, request)
        except HttpError as exc:
            response = Response.error(exc)
            response.close = exc.close
        except Exception as exc:  # a bug in a route must not take the connection down silently
            log.exception("error answering %s %s", request.method, request.path)
            response = Response.json(error_body("InternalError", f"{type(exc).__name__}: {exc}"),
                                     status=500)
        if cors_origin:
            response.headers["Access-Control-Allow-Origin"] = cors_origin
            response.headers["Vary"] = "Origin"
        request_id = request.headers.get("X-Request-ID")
        if request_id:
            response.headers["X-Request-ID"] = request_id[:MAX_REQUEST_ID]
        return response

    def _check(self, request: Request, route: Route) -> str | None:
        """Host, Origin and token checks; the allowed CORS origin, if any."""
        if not route.open:
            self.guard.check_host(request.headers.get("Host"))
        cors_origin = self.guard.check_origin(request.headers)
        if not route.open and request.method != "OPTIONS":
            self.guard.check_token(request.headers.get("Authorization"))
        return cors_origin

    def _preflight(self, request: Request, origin: str | None) -> Response:
        """OPTIONS: the methods of the path, and CORS answers for allowed origins."""
        methods = self.router.methods(request.path)
        headers = {"Allow": ", ".join(methods)}
        if origin:
            headers.update({
                "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": PREFLIGHT_HEADERS,
                "Access-Control-Max-Age": "600",
            })
        return Response(status=204, headers=headers)
