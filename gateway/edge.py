"""The outermost layer of every request: request id, API key, browser checks, metrics and
the access log.

A plain ASGI middleware (not BaseHTTPMiddleware): it adds no task or queue per request and
leaves streamed bodies alone."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import KeyCheck, is_open
from .browser import BrowserCheck
from .errors import error_body
from .metrics import Metrics, route_label

access_log = logging.getLogger("blender_http_gateway.access")
# A caller's request id is kept if it is short and printable (it lands in logs and headers).
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}\Z")


class Edge:
    def __init__(self, app: ASGIApp, *, keys: KeyCheck, browsers: BrowserCheck, metrics: Metrics,
                 log_access: bool) -> None:
        self.app = app
        self.keys = keys
        self.browsers = browsers
        self.metrics = metrics
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given and REQUEST_ID.match(given) else uuid.uuid4().hex
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
            guarded = not is_open(scope["path"])
            refusal = guarded and self.browsers.refusal(
                _header(scope, b"host"), _header(scope, b"origin"), _header(scope, b"sec-fetch-site"),
                (scope.get("server") or (None, None))[1])
            authorization = _header(scope, b"authorization") if guarded else None
            if refusal:
                await _answer(send_with_id, 403, "Forbidden", refusal)
            elif guarded and not self.keys.allows(authorization):
                await _unauthorized(send_with_id, bool(authorization))
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.answered(route_label(scope), scope["method"], status, seconds)
            if self.log_access:
                access_log.info("%s %s %s %d %.1fms backend=%s id=%s", _client(scope), scope["method"],
                                scope["path"], status, seconds * 1000, state.get("backend", "-"),
                                request_id)


async def _unauthorized(send: Send, had_header: bool) -> None:
    message = ("wrong API key" if had_header else
               "missing API key: send 'Authorization: Bearer <key>'")
    await _answer(send, 401, "Unauthorized", message,
                  [(b"www-authenticate", b'Bearer realm="blender-http"')])


async def _answer(send: Send, status: int, type: str, message: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(error_body(type, message)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"
