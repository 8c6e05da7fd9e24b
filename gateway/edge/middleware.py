"""The outermost layer of every request: request id, API key, browser checks, metrics and
the access log.

A plain ASGI middleware (not BaseHTTPMiddleware): it adds no task or queue per request and
leaves streamed bodies alone."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blender_http_addon.protocol import HEALTH

from ..errors import error_body
from ..metrics import Metrics, route_label
from ..scopes import KEY_HOLDER, header, set_headers
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

access_log = logging.getLogger("blender_http_gateway.access")
# A caller's request id is kept if it is short and printable (it lands in logs and headers).
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}\Z")
# Anything but printable ASCII in a logged path is written as an escape: no forged lines.
UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
Refusal = tuple[int, str, str, list[tuple[bytes, bytes]]]
ACCESS_LINE = "%s %s %s %d %.1fms backend=%s id=%s"


class Edge:
    def __init__(self, app: ASGIApp, *, keys: KeyCheck, browsers: BrowserCheck, metrics: Metrics,
                 log_access: bool, throttle: Throttle) -> None:
        self.app = app
        self.keys = keys
        self.browsers = browsers
        self.metrics = metrics
        self.log_access = log_access
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = header(scope, b"x-request-id")
        # 32 random hex digits, as a uuid4's, without building a UUID. An id names a request,
        # it guards nothing: the pseudo-random generator does, with no system call.
        request_id = given if given and REQUEST_ID.match(given) else f"{random.getrandbits(128):032x}"
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                # A backend echoes the id it was given: then it is there already.
                if not any(key == b"x-request-id" for key, _ in headers):
                    headers.append((b"x-request-id", raw_id))
                message["headers"] = headers
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await _answer(send_with_id, *refusal)
            elif scope["path"] in PROTECTED_RESOURCE_PATHS:  # the edge's own: how keys are sent
                await _json(send_with_id, 200, resource_metadata(_origin(scope), scope["path"]), [])
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.answered(route_label(scope), scope["method"], status, seconds)
            if self.log_access and access_log.isEnabledFor(logging.INFO):
                # The record is made here rather than by info(), which would walk the stack for
                # the caller's file and line: the same on every line of this log.
                access_log.handle(access_log.makeRecord(
                    access_log.name, logging.INFO, __file__, 0, ACCESS_LINE,
                    (_client(scope), scope["method"], _logged_path(scope), status, seconds * 1000,
                     state.get("backend", "-"), request_id), None, "access"))

    def _refusal(self, scope: Scope) -> Refusal | None:
        """Why the request is refused before it reaches a route (status, type, message,
        headers), or None to let it through."""
        if is_open(scope["path"]) or scope["path"] in PROTECTED_RESOURCE_PATHS:
            if scope["path"] == HEALTH:  # open to probes, but only a key holder sees the workers
                scope.setdefault("state", {})[KEY_HOLDER] = not self.keys.enabled or self.keys.known(
                    presented(header(scope, b"authorization")))
            return None
        refusal = self.browsers.refusal(
            header(scope, b"host"), header(scope, b"origin"), header(scope, b"sec-fetch-site"),
            (scope.get("server") or (None, None))[1])
        if refusal:
            return 403, "Forbidden", refusal, []
        if not self.keys.enabled:
            return None
        authorization = header(scope, b"authorization")
        digest = presented(authorization)
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


async def _answer(send: Send, status: int, type: str, message: str,
                  headers: list[tuple[bytes, bytes]]) -> None:
    await _json(send, status, error_body(type, message), headers)


async def _json(send: Send, status: int, document: Any, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


def _logged_path(scope: Scope) -> str:
    """The path as the client sent it (still percent-encoded), control characters escaped."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope["path"])
    return UNPRINTABLE.sub(lambda found: f"\\x{ord(found.group()):02x}" if ord(found.group()) < 256
                           else f"\\u{ord(found.group()):04x}", path)
