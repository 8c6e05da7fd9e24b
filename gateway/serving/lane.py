"""The hot path beneath ASGI: `POST /exec` and `POST /jobs` with a small body sent whole.

For such a request, a few hundred bytes each way, uvicorn's request cycle (an event, ASGI
messages, a task running the app's layers) and the layers themselves cost the gateway more
CPU than the forwarding. The lane runs the same steps, defined once elsewhere: the edge's
admission (request id, API key, browser checks), the route's function (fastlane.respond),
the edge's count and access line; the protocol (serving/protocol.py) reads the body before
and writes the answer after. A request the lane does not take goes through ASGI to the same
functions, so the two paths answer alike."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Message

from ..edge.middleware import Edge, refused, with_request_id
from ..forwarding.fastlane import lanes, respond
from ..scopes import BODY, headers_of

if TYPE_CHECKING:  # the lane only passes it on to the route functions
    from ..core import Gateway

# A request carrying any of these takes the ASGI path: a chunked body is read as it comes;
# forwarded-for headers are uvicorn's proxy-headers layer's to read.
ASGI_ONLY = frozenset({b"transfer-encoding", b"x-forwarded-for", b"x-forwarded-proto"})

Write = Callable[[Response], Awaitable[None]]


class Lane:
    def __init__(self, edge: Edge, gateway: Gateway, routes: Sequence[BaseRoute]) -> None:
        self.edge = edge
        self.gateway = gateway
        self._routes = routes
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
            self._lanes = {route.path.encode(): route for route in lanes(self._routes).values()}
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
                scope[BODY] = body
                response = await respond(route, Request(scope, WholeBody(body)), self.gateway)
            status = response.status_code
            with_request_id(response.raw_headers, request_id.encode())
            await write(response)
        finally:
            self.edge.finished(scope, status, started)


class WholeBody:
    """The ASGI receive channel of a request whose body is read already: the body, then a
    disconnect (nothing more will come)."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    async def __call__(self) -> Message:
        body, self._body = self._body, None
        if body is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": False}
