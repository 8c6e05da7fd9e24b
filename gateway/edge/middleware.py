"""The outermost layer of every request: request id, API key, browser checks, metrics and
the access log.

A plain ASGI middleware (not BaseHTTPMiddleware): it adds no task or queue per request and
leaves streamed bodies alone."""

from __future__ import annotations

import random
import re
import time

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blender_http_addon.protocol import HEALTH

from ..errors import error_response
from ..metrics import Metrics, route_label
from ..scopes import KEY_HOLDER, header, headers_of, set_headers, text
from .access import AccessLog
from .auth import (
    PROTECTED_RESOURCE_PATHS,
    KeyCheck,
    challenge,
    is_open,
    mark_read_only,
    presented,
    read_only_refusal,
    resource_metadata,
)
from .browser import BrowserCheck
from .throttle import Throttle

# A caller's request id is kept if it is short and printable (it lands in logs and headers).
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}\Z")
Refusal = tuple[int, str, str, list[tuple[bytes, bytes]]]


class Edge:
    def __init__(self, app: ASGIApp, *, keys: KeyCheck, browsers: BrowserCheck, metrics: Metrics,
                 log_access: bool, throttle: Throttle) -> None:
        self.app = app
        self.keys = keys
        self.browsers = browsers
        self.metrics = metrics
        self.access = AccessLog() if log_access else None
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, refusal = self.admit(scope)
        status = 500
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_request_id(list(message.get("headers", ())), raw_id)
            await send(message)

        try:
            if refusal is not None:
                await refused(*refusal)(scope, receive, send_with_id)
            elif scope["path"] in PROTECTED_RESOURCE_PATHS:  # the edge's own: how keys are sent
                await JSONResponse(resource_metadata(_origin(scope), scope["path"]))(
                    scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self.finished(scope, status, started)

    def admit(self, scope: Scope) -> tuple[str, Refusal | None]:
        """The request's id (the caller's, if fit to log, else a new one; kept in the scope's
        state), and why it is refused before it reaches a route (None: let it through)."""
        given = text(headers_of(scope).get(b"x-request-id"))
        # 32 random hex digits, as a uuid4's, without building a UUID. An id names a request,
        # it guards nothing: the pseudo-random generator does, with no system call.
        request_id = given if given and REQUEST_ID.match(given) else f"{random.getrandbits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        return request_id, self._refusal(scope)

    def finished(self, scope: Scope, status: int, started: float) -> None:
        """Count the answered request and write its access line (started: perf_counter())."""
        seconds = time.perf_counter() - started
        self.metrics.answered(route_label(scope), scope["method"], status, seconds)
        if self.access is not None:
            self.access.write(scope, status, seconds)

    def _refusal(self, scope: Scope) -> Refusal | None:
        """Why the request is refused before it reaches a route (status, type, message,
        headers), or None to let it through."""
        if is_open(scope["path"]) or scope["path"] in PROTECTED_RESOURCE_PATHS:
            if scope["path"] == HEALTH:  # open to probes, but only a key holder sees the workers
                scope.setdefault("state", {})[KEY_HOLDER] = not self.keys.enabled or self.keys.known(
                    presented(header(scope, b"authorization")))
            return None
        found = headers_of(scope)
        refusal = self.browsers.refusal(
            text(found.get(b"host")), text(found.get(b"origin")), text(found.get(b"sec-fetch-site")),
            (scope.get("server") or (None, None))[1])
        if refusal:
            return 403, "Forbidden", refusal, []
        if not self.keys.enabled:
            return None
        digest = presented(text(found.get(b"authorization")))
        if digest is None:  # no key is no guess: nothing to throttle
            return _unauthorized(scope, "invalid_request",
                                 "missing API key: send 'Authorization: Bearer <key>'")
        address = (scope.get("client") or ("-",))[0]
        wait = self.throttle.retry_after(address)
        if wait:
            # Guesses are not checked meanwhile; a key this address proved before still passes.
            if self.throttle.proven(address, digest):
                return self._role(scope, digest)
            return (429, "TooManyRequests", f"too many failed API keys from {address}; retry in "
                    f"{wait} s", [(b"retry-after", str(wait).encode())])
        if self.keys.known(digest):
            assert digest is not None
            self.throttle.succeeded(address, digest)
            return self._role(scope, digest)
        self.throttle.failed(address)
        return _unauthorized(scope, "invalid_token", "wrong API key")

    def _role(self, scope: Scope, digest: bytes) -> Refusal | None:
        """The refusal of what a read-only key may not do; its other requests marked."""
        if not self.keys.read_only(digest):
            return None
        refusal = read_only_refusal(scope["method"], scope["path"])
        if refusal:
            return 403, "Forbidden", refusal, []
        set_headers(scope, mark_read_only(scope["headers"]))
        return None


def _unauthorized(scope: Scope, error: str, message: str) -> Refusal:
    return 401, "Unauthorized", message, [(b"www-authenticate", challenge(_origin(scope), error, message))]


def _origin(scope: Scope) -> str:
    """This gateway as the client addressed it (scheme and Host), for the URLs a 401 names."""
    host = header(scope, b"host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", None)
        host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
    return f"{scope.get('scheme', 'http')}://{host}"


def refused(status: int, type: str, message: str, headers: list[tuple[bytes, bytes]]) -> Response:
    """The answer to a request the edge refuses, in the one error shape."""
    response = error_response(status, type, message)
    response.raw_headers += headers
    return response


def with_request_id(headers: list[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
    """An answer's headers with X-Request-Id; a backend echoes the id it was given: then it is
    there already."""
    for name, _ in headers:
        if name == b"x-request-id":
            return headers
    headers.append((b"x-request-id", request_id))
    return headers
