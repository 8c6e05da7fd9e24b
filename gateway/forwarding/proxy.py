"""Forwarding one request to one backend: headers in, status and body (streamed) out,
upstream failures translated into the one error shape."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from blender_http_addon.protocol import EVENT_STREAM, JOBS, JSON, OCTET

from ..errors import GatewayError
from ..metrics import Metrics
from ..scopes import raw_header
from ..workers import jobids
from ..workers.backends import Backend, Loss
from . import idempotency
from .forward import Body, BodyTransform, Forward, StreamTransform
from .wire import upstream

# Never forwarded upstream: hop-by-hop headers, the client's credentials (the gateway holds the
# backend's token), and browser headers the add-on would rightly refuse from a foreign page.
# Expect: 100-continue was answered to the client already (uvicorn), the body is here. An
# Idempotency-Key goes as the caller's (Forward.key), and only where it is one.
DROP_REQUEST = frozenset({
    b"host", b"authorization", b"connection", b"keep-alive", b"proxy-authorization", b"te",
    b"trailer", b"upgrade", b"origin", b"referer", b"cookie", b"sec-fetch-site", b"sec-fetch-mode",
    b"sec-fetch-dest", b"sec-fetch-user", jobids.BACKEND_HEADER, b"x-request-id", b"content-length",
    b"transfer-encoding", b"expect", idempotency.HEADER,
})
DROP_RESPONSE = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length",
                           b"date", b"server"})
# Bodies up to this size (by Content-Length) are read whole; larger ones and streams flow through.
BUFFER_LIMIT = 256 * 1024
STREAMED_TYPES = tuple(kind.encode() for kind in (EVENT_STREAM, OCTET, "image/", "model/"))
JSON_BYTES = JSON.encode()
EVENT_STREAM_BYTES = EVENT_STREAM.encode()
JOB_PREFIX = (JOBS + "/").encode()


class Unreachable(GatewayError):
    """No connection to the backend could be opened: the request never reached it."""


class Proxy:
    def __init__(self, client: upstream.Upstream, token: str | None, metrics: Metrics) -> None:
        self.client = client
        self._auth = f"Bearer {token}".encode() if token else None
        self.metrics = metrics

    async def forward(self, forward: Forward, backend: Backend) -> Response:
        """forward.request sent to backend at forward.path (with the same query), its answer
        returned; the exchange is counted under the matched route's template."""
        request = forward.request
        scope = request.scope
        headers = self._headers(scope, forward.body, forward.key)
        transform = forward.rewrite(backend) if forward.rewrite else None
        stream_transform = forward.rewrite_stream(backend) if forward.rewrite_stream else None
        started = time.perf_counter()
        try:
            with self.occupying(backend, forward.busy):
                answer = await self.send(backend, scope["method"], forward.path, scope["query_string"],
                                         headers, forward.body)
                response = await self._relay(answer, backend, transform, stream_transform)
        except GatewayError as exc:
            self.metrics.observe(forward.route, backend.key, exc.status, time.perf_counter() - started)
            raise
        scope.setdefault("state", {})["backend"] = backend.key
        # Counted here, not from a callback: a callback left for the loop's next turn makes it
        # turn (and poll) once more per request.
        self.metrics.observe(forward.route, backend.key, response.status_code,
                             time.perf_counter() - started)
        return response

    def occupying(self, backend: Backend, busy: bool = True) -> Occupying:
        """Count a request toward the backend's load (least-busy routing, the in-flight gauge)
        while it runs; busy=False for requests that do not occupy the worker."""
        return Occupying(backend, busy)

    async def fetch_json(self, backend: Backend, request: Request, path: str,
                         params: dict[str, str] | None = None) -> tuple[int, Any]:
        """GET path on backend as JSON (GET /jobs, /sessions over every backend)."""
        headers = [(b"authorization", self._auth)] if self._auth else []
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            headers.append((b"x-request-id", request_id.encode()))
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}).encode()
        answer = await self.send(backend, "GET", path, query, headers, None)
        content = await _read_all(answer, backend)
        status = answer.status
        try:
            return status, json.loads(content)
        except ValueError as exc:
            raise GatewayError(502, f"backend {backend.key} answered unreadably: {exc}",
                               type="BadGateway") from exc

    def _headers(self, scope: MutableMapping[str, Any], body: Body, key: bytes | None = None
                 ) -> upstream.Headers:
        """The client's headers as they came, less the ones never forwarded, plus ours."""
        headers = [(k, v) for k, v in scope["headers"] if k not in DROP_REQUEST]
        if key is not None:
            headers.append((idempotency.HEADER, key))
        if body is not None and not isinstance(body, bytes):
            length = raw_header(scope, b"content-length")
            if length is not None:
                headers.append((b"content-length", length))
        if self._auth:
            headers.append((b"authorization", self._auth))
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            headers.append((b"x-request-id", request_id.encode()))
        return headers

    async def send(self, backend: Backend, method: str, path: str, query: bytes,
                   headers: upstream.Headers, body: Body) -> upstream.Answer:
        """The backend's answer (headers read, body not yet), or 502 in the one error shape."""
        lost = backend.lost()
        if lost.done():
            raise _lost_error(backend, lost.result())
        # The answer, or the worker's death, whichever comes first: a request on a worker that
        # died (or stopped answering health checks) ends now, not never. The loss cancels
        # this task rather than racing a second one: no task and no wait set per request.
        task = asyncio.current_task(lost.get_loop())
        assert task is not None
        watching = True

        def cancel_on_loss(_: object) -> None:
            if watching:  # a callback already scheduled must not cancel what the task does next
                task.cancel()

        lost.add_done_callback(cancel_on_loss)
        try:
            return await self.client.request(upstream.origin(backend.url or ""), method, path, query,
                                             headers, body)
        except asyncio.CancelledError:
            if not lost.done() or task.uncancel():
                raise  # cancelled from outside (the client went away), not by the loss
            raise _lost_error(backend, lost.result()) from None
        except upstream.CONNECT_ERRORS as exc:
            backend.healthy = False
            backend.last_error = f"cannot connect: {upstream.describe(exc)}"
            raise Unreachable(502, f"cannot reach backend {backend.key}: {upstream.describe(exc)}",
                              type="BackendUnreachable") from exc
        except upstream.TRANSPORT_ERRORS as exc:
            if lost.done():  # the kill closed the socket: the loss says why
                raise _lost_error(backend, lost.result()) from exc
            backend.healthy = False  # the next health check tells whether it comes back
            backend.last_error = f"connection dropped: {upstream.describe(exc)}"
            raise _died(backend, exc, "before answering (it crashed, was killed or restarted)") from exc
        finally:
            watching = False
            lost.remove_done_callback(cancel_on_loss)

    async def _relay(self, answer: upstream.Answer, backend: Backend,
                     transform: BodyTransform | None,
                     stream_transform: StreamTransform | None) -> Response:
        headers, length, kind = _answer_headers(answer.headers, backend)
        headers.append((jobids.BACKEND_HEADER, jobids.backend_tag(backend).encode()))
        json_body = kind.startswith(JSON_BYTES)
        if (transform is not None and json_body) or (
                length is not None and length.isdigit() and int(length) <= BUFFER_LIMIT
                and not kind.startswith(STREAMED_TYPES)):
            content = await _read_all(answer, backend)
            if transform is not None and json_body:
                content = transform(content)
            return Relayed(content, answer.status, headers)
        if length is not None:
            headers.append((b"content-length", length))
        chunks = _stream(answer, kind)
        if stream_transform is not None:
            chunks = stream_transform(chunks)
        response = StreamingResponse(chunks, status_code=answer.status)
        response.raw_headers += headers
        return response


class Relayed(Response):
    """A backend's answer read whole: its body, the headers passed on, and a Content-Length
    as Response would give it (none for a status without a body). Built on every exec: the
    headers are already bytes, nothing of Response's own setup applies."""

    def __init__(self, content: bytes, status_code: int, headers: upstream.Headers) -> None:
        self.status_code = status_code
        self.background = None
        self.body = content
        if not (status_code < 200 or status_code in (204, 304)):
            headers.append((b"content-length", b"%d" % len(content)))
        self.raw_headers = headers


class Occupying:
    """A class, not a generator: this context runs on every request."""

    __slots__ = ("backend", "busy")

    def __init__(self, backend: Backend, busy: bool) -> None:
        self.backend = backend
        self.busy = busy

    def __enter__(self) -> None:
        if self.busy:
            self.backend.inflight += 1  # the in-flight gauge reads it (Metrics.track_inflight)

    def __exit__(self, *_: object) -> None:
        if self.busy:
            self.backend.inflight -= 1


async def _stream(answer: upstream.Answer, kind: bytes) -> AsyncIterator[bytes]:
    try:
        async for chunk in answer.chunks():
            yield chunk
    except upstream.TRANSPORT_ERRORS as exc:
        # The status is sent already; an event stream can still say why it ends.
        if kind.startswith(EVENT_STREAM_BYTES):
            yield (b'event: error\ndata: {"ok":false,"error":{"type":"BackendDied","message":'
                   b'"the backend dropped the connection: ' + type(exc).__name__.encode() + b'"}}\n\n')
    finally:
        answer.release()


async def _read_all(answer: upstream.Answer, backend: Backend) -> bytes:
    """The whole body of a backend's answer; a connection lost meanwhile is a 502."""
    try:
        return await answer.read()
    except upstream.TRANSPORT_ERRORS as exc:
        raise _died(backend, exc, "while answering") from exc


def _died(backend: Backend, exc: BaseException, when: str) -> GatewayError:
    return GatewayError(502, f"backend {backend.key} dropped the connection {when}: "
                             f"{upstream.describe(exc)}", type="BackendDied")


def _answer_headers(received: upstream.Headers, backend: Backend
                    ) -> tuple[upstream.Headers, bytes | None, bytes]:
    """In one pass over a backend's headers: the ones passed on (job ids in X-Job-Id and
    Location made the gateway's), its Content-Length and its Content-Type."""
    headers = []
    length = None
    kind = b""
    for name, value in received:
        if name in DROP_RESPONSE:
            if name == b"content-length":
                length = value
            continue
        if name == b"content-type":
            kind = value
        elif name == b"x-job-id":
            value = jobids.job_id(backend, value.decode("latin-1")).encode()
        elif name == b"location" and value.startswith(JOB_PREFIX):
            value = JOB_PREFIX + jobids.job_id(backend, value[len(JOB_PREFIX):].decode("latin-1")).encode()
        headers.append((name, value))
    return headers, length, kind


def _lost_error(backend: Backend, loss: Loss) -> GatewayError:
    if loss.stuck:
        return GatewayError(504, f"backend {backend.key} was restarted: {loss.reason}; the "
                                 "code did not stop at its timeout (it may have had effects)",
                            type="Timeout")
    return GatewayError(502, f"backend {backend.key} was lost while handling the request: "
                             f"{loss.reason}", type="BackendDied")
