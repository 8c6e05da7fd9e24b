"""The hot path beneath ASGI: `POST /exec` and `POST /jobs` with a small body sent whole.

For such a request, a few hundred bytes each way, uvicorn's request cycle (an event, ASGI
messages, a task running the app's layers) and the layers themselves cost the gateway more
CPU than the forwarding. The lane runs the same steps, defined once elsewhere: the edge's
admission (request id, API key, browser checks), what the route forwards of a body read
whole (routes.WHOLE_BODY_FORWARDS, the very forwarding the route functions do, with errors
answered as they are there: fastlane.failed), the edge's count and access line; the
protocol (serving/protocol.py) reads the body before and writes the answer after. A request
the lane does not take goes through ASGI to the route functions, so the two paths answer
alike."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ..edge.middleware import Edge, refused, with_request_id
from ..forwarding.fastlane import failed, lanes, matched
from ..forwarding.forward import Forward
from ..scopes import headers_of

if TYPE_CHECKING:  # the lane only hands it what to forward
    from ..core import Gateway

# A request carrying any of these takes the ASGI path: a chunked body is read as it comes;
# forwarded-for headers are uvicorn's proxy-headers layer's to read.
ASGI_ONLY = frozenset({b"transfer-encoding", b"x-forwarded-for", b"x-forwarded-proto"})

Write = Callable[[Response], Awaitable[None]]
# What a route on the hot path forwards of a request whose body was read whole.
WholeBodyForward = Callable[[Request, bytes], Forward]


class Lane:
    def __init__(self, edge: Edge, gateway: Gateway, routes: Sequence[BaseRoute],
                 forwards: Mapping[str, WholeBodyForward]) -> None:
        """routes: the app's; forwards: by path, how the hot path's routes forward a body read
        whole (routes.WHOLE_BODY_FORWARDS)."""
        self.edge = edge
        self.gateway = gateway
        self._routes = routes
        self._forwards = forwards
        self._lanes: dict[bytes, APIRoute] | None = None

    def route_for(self, scope: dict[str, Any], max_body: int) -> APIRoute | None:
        """The route the lane answers this request with (its head read), or None: a POST to a
        fast path over HTTP/1.1 that takes(), the lane's conditions on headers."""
        if scope["method"] != "POST" or scope["http_version"] != "1.1":
            return None
        route = self.route(scope["raw_path"])
        return route if route is not None and self.takes(scope, max_body) else None

    def route(self, target: bytes) -> APIRoute | None:
        """The fast path's route at target (a request's path as sent, without its query)."""
        if self._lanes is None:
            self._lanes = {route.path.encode(): route for route in lanes(self._routes).values()
                           if route.path in self._forwards}
        return self._lanes.get(target)

    def takes(self, scope: dict[str, Any], max_body: int) -> bool:
        """Whether a request with the headers of scope can be answered here: a Content-Length
        of at most max_body and none of ASGI_ONLY."""
        found = headers_of(scope)
        if not ASGI_ONLY.isdisjoint(found):
            return False
        length = found.get(b"content-length")
        return length is not None and length.isdigit() and int(length) <= max_body

    async def answer(self, route: APIRoute, scope: dict[str, Any], body: bytes, write: Write) -> None:
        """Answer the request of scope, its body whole, by write (which sends a Response)."""
        started = time.perf_counter()
        status = 500
        request_id, refusal = self.edge.admit(scope)
        try:
            if refusal is not None:
                response = refused(*refusal)
            else:
                try:
                    response = await self.gateway.forward(
                        self._forwards[route.path](Request(matched(scope, route)), body))
                except Exception as exc:
                    response = failed(scope, exc)
            status = response.status_code
            with_request_id(response.raw_headers, request_id.encode())
            await write(response)
        finally:
            self.edge.finished(scope, status, started)
