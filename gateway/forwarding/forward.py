"""What a route asks the gateway to forward, described once: the route builds a Forward, the
gateway picks its backend (and retries a refused connection elsewhere), the proxy sends it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request

from ..metrics import route_label
from ..workers.backends import Backend

Body = bytes | AsyncIterator[bytes] | None
BodyTransform = Callable[[bytes], bytes]
StreamTransform = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]
# Rewriters are built per backend: the retry of a refused request may land elsewhere.
Rewrite = Callable[[Backend], BodyTransform]
StreamRewrite = Callable[[Backend], StreamTransform]


@dataclasses.dataclass(slots=True)  # not frozen: its __init__ is four times slower
class Forward:
    """request, sent on to `path` of a backend with the same query string.

    session, backend: where it must go (the session's owner; a job's or the files' backend).
        Neither: the gateway picks (?session=, X-Blender-Backend, else the least busy).
    busy: the request occupies the worker (counts toward least-busy routing).
    rewrite: rewrites a JSON answer (job ids); forces reading it whole.
    rewrite_stream: rewrites a streamed answer on its way through.
    key: the Idempotency-Key to send, the caller's (idempotency.caller_key); it routes the
        request too. The header as the client sent it is never forwarded."""

    request: Request
    path: str
    body: Body = None
    session: str | None = None
    backend: Backend | None = None
    busy: bool = True
    rewrite: Rewrite | None = None
    rewrite_stream: StreamRewrite | None = None
    key: bytes | None = None

    @property
    def route(self) -> str:
        """The matched route's template, the label of metrics and logs."""
        return route_label(self.request.scope)

    @property
    def replayable(self) -> bool:
        """The body can be sent again (it is not a stream consumed by the first try)."""
        return self.body is None or isinstance(self.body, bytes)
