"""The gateway's HTTP/1.1 protocol: uvicorn's httptools one, with its answers' heads and
bodies joined (joined_writes.py), one keep-alive timer per connection (idle_timer.py), and
the requests the lane takes (lane.py) answered there instead of through an ASGI request
cycle.

uvicorn keeps parsing, keep-alive, pipelining, flow control and shutdown for every request;
for a lane request its cycle only gathers the body, and the answer is written here as
uvicorn's send() would write it (its default headers, the same header checks, Connection:
close when the connection ends, chunks for a stream of unknown length)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.responses import Response, StreamingResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)

from .idle_timer import IdleTimer
from .joined_writes import JoinedWrites
from .lane import Lane


class GatewayProtocol(IdleTimer):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.joined = JoinedWrites(transport, self.loop)
        self.transport = self.joined  # type: ignore[assignment]
        lane = lane_of(self.app)
        # uvicorn's settings under which every request is its own (a concurrency limit answers
        # 503 from its request cycle; a root path changes every path): no lane then.
        self.lane = lane if self.limit_concurrency is None and not self.root_path else None
        # A lane request whose body is still arriving: it starts once the body is whole.
        self._gathering: tuple[Cycle, APIRoute] | None = None

    def on_headers_complete(self) -> None:
        # A request for the lane, with nothing before it on the connection, gets a LaneCycle:
        # the state uvicorn's other callbacks (body, hang-up, shutdown, pipelining) keep, with
        # none of what an ASGI app needs. Anything else is uvicorn's.
        lane = self.lane
        parser = self.parser
        target, _, query = self.url.partition(b"?")
        route = lane.route(target) if lane is not None else None
        cycle = self.cycle
        if (route is None or self.expect_100_continue
                or (cycle is not None and not cycle.response_complete)
                or parser.get_method() != b"POST" or parser.should_upgrade()
                or parser.get_http_version() != "1.1" or b"#" in query
                or not lane.takes(self.scope, HIGH_WATER_LIMIT)):  # type: ignore[union-attr,arg-type]
            super().on_headers_complete()
            return
        scope = self.scope
        scope["method"] = "POST"
        scope["path"] = route.path
        scope["raw_path"] = target
        scope["query_string"] = query
        self.cycle = LaneCycle(scope, parser.should_keep_alive(),  # type: ignore[assignment]
                               self.on_response_complete)
        self._gathering = (self.cycle, route)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # Called with each request's head that uvicorn made a cycle for (or, pipelined, once
        # the one before is answered).
        route = None
        if self.lane is not None and not cycle.waiting_for_100_continue:
            # The body must fit below uvicorn's high-water mark, where it stops reading.
            route = self.lane.route_for(cycle.scope, HIGH_WATER_LIMIT)  # type: ignore[arg-type]
        if route is None:
            super()._start_asgi_task(cycle, app)
        elif cycle.more_body:
            self._gathering = (cycle, route)
        else:
            self._start_lane(cycle, route)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        gathering = self._gathering
        if gathering is not None and gathering[0] is self.cycle and not self.cycle.more_body:
            self._gathering = None
            self._start_lane(*gathering)

    def _start_lane(self, cycle: Cycle, route: APIRoute) -> None:
        assert self.lane is not None
        answer = LaneAnswer(self, cycle)
        answering = self.lane.answer(route, cycle.scope,  # type: ignore[arg-type]
                                     bytes(cycle.body), answer.write)
        context = contextvars.Context() if self.config.reset_contextvars else None
        # In uvicorn's set of running tasks (a stopping server waits for them) until it ends;
        # it takes itself out: a done callback would cost the loop one more turn per request.
        answer.task = self.loop.create_task(_guarded(answering, answer), context=context)
        self.tasks.add(answer.task)


class _NoWaiter:
    """The message event of a LaneCycle: nobody waits on it (the lane reads the body whole)."""

    __slots__ = ()

    def set(self) -> None:
        pass


class LaneCycle:
    """What uvicorn's protocol keeps of a request's cycle, for a lane request: its scope and
    body, and the connection and answer state its callbacks read and set."""

    __slots__ = ("body", "disconnected", "keep_alive", "message_event", "more_body", "on_response",
                 "response_complete", "response_started", "scope", "waiting_for_100_continue")

    def __init__(self, scope: Any, keep_alive: bool, on_response: Callable[[], None]) -> None:
        self.scope = scope
        self.keep_alive = keep_alive
        self.on_response = on_response
        self.body = bytearray()
        self.more_body = True
        self.disconnected = self.response_started = self.response_complete = False
        self.waiting_for_100_continue = False
        self.message_event = _NoWaiter()


Cycle = RequestResponseCycle | LaneCycle


def lane_of(app: Any) -> Lane | None:
    """The lane of the gateway app uvicorn serves, when nothing but uvicorn's proxy-headers
    layer (a no-op for the requests the lane takes) stands in front of it."""
    if isinstance(app, ProxyHeadersMiddleware):
        app = app.app
    lane = getattr(app, "lane", None)
    return lane if isinstance(lane, Lane) else None


async def _guarded(answering: Any, answer: LaneAnswer) -> None:
    """Run a lane answer; a failure is logged and ends the connection, as uvicorn does when
    an app fails (a 500 when nothing was written yet). The task leaves uvicorn's set at its
    end."""
    protocol, cycle = answer.protocol, answer.cycle
    try:
        await answering
    except Exception as exc:
        protocol.logger.error("Exception in the gateway's lane", exc_info=exc)
        if not cycle.response_started and not cycle.disconnected:
            protocol.joined.write_now(STATUS_LINE[500] + b"content-type: text/plain; charset=utf-8\r\n"
                                      b"content-length: 21\r\nconnection: close\r\n\r\n"
                                      b"Internal Server Error")
        protocol.transport.close()
    finally:
        protocol.tasks.discard(answer.task)


# What header names and values may hold: no control character but tab (line breaks are
# counted apart: one per header). The separators uvicorn refuses in names cannot come from our
# routes or a parsed backend answer.
ALLOWED = bytes([9, 10, 13, *range(0x20, 0x7f), *range(0x80, 0x100)])


class InvalidHeader(RuntimeError):
    """An answer's header would break the HTTP framing (uvicorn refuses the same)."""


def _checked(headers: list[tuple[bytes, bytes]]) -> bytes:
    """headers as lines of a head, checked at once as uvicorn checks each name and value: no
    control character, and a line break only where each header ends."""
    if not headers:
        return b""
    block = b"\r\n".join(map(b": ".join, headers)) + b"\r\n"
    if block.translate(None, ALLOWED) or block.count(b"\n") != len(headers) \
            or block.count(b"\r") != len(headers):
        bad = next((name for name, value in headers
                    if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value)), b"?")
        raise InvalidHeader(f"invalid header {bad!r}")
    return block


# uvicorn's default headers as lines: the list changes once a second (the date), so its lines
# are made and checked then, not on every answer. The gateway's are `date` and `server` (it
# passes uvicorn no headers of its own): none of them frames or ends a connection.
_default_lines: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")


def _defaults(headers: list[tuple[bytes, bytes]]) -> bytes:
    global _default_lines
    if _default_lines[0] is not headers:
        _default_lines = (headers, _checked(headers))
    return _default_lines[1]


class LaneAnswer:
    """A Response written on a lane request's connection (by the task answering it)."""

    __slots__ = ("cycle", "protocol", "task")

    def __init__(self, protocol: GatewayProtocol, cycle: Cycle) -> None:
        self.protocol = protocol
        self.cycle = cycle
        self.task: asyncio.Task[None] | None = None

    async def write(self, response: Response) -> None:
        cycle = self.cycle
        if cycle.disconnected:
            if isinstance(response, StreamingResponse):
                await _close(response.body_iterator)  # its connection to the backend goes back
            return
        head, framing = self._head(response)
        cycle.response_started = True
        if not isinstance(response, StreamingResponse):
            self.protocol.joined.write_now(head + response.body)
            complete = True
        else:
            self.protocol.joined.write_now(head)
            complete = await self._stream(response, framing)
        if complete:
            cycle.response_complete = True
            cycle.message_event.set()
        if not (complete and cycle.keep_alive):
            self.protocol.transport.close()
        if complete:
            cycle.on_response()
            if response.background is not None:
                await response.background()

    def _head(self, response: Response) -> tuple[bytes, int | None]:
        """Status line and headers, and how the body is framed: its Content-Length, or None
        for chunks."""
        headers = response.raw_headers
        block = _checked(headers)
        named = dict(headers)
        connection = named.get(b"connection")
        if connection is not None and b"close" in connection.lower():
            self.cycle.keep_alive = False
        elif not self.cycle.keep_alive:
            block += b"connection: close\r\n"
        length = named.get(b"content-length")
        if length is None and isinstance(response, StreamingResponse):
            block += b"transfer-encoding: chunked\r\n"
        return (STATUS_LINE[response.status_code] + _defaults(self.protocol.server_state.default_headers)
                + block + b"\r\n", None if length is None else int(length))

    async def _stream(self, response: StreamingResponse, length: int | None) -> bool:
        """Write a streamed body as it comes; whether it was written whole."""
        cycle = self.cycle
        flow = self.protocol.flow
        transport = self.protocol.transport
        sent = 0
        iterator = response.body_iterator
        try:
            async for chunk in iterator:
                if cycle.disconnected:
                    return False
                data = chunk.encode(response.charset) if isinstance(chunk, str) else bytes(chunk)
                if not data:
                    continue
                sent += len(data)
                if length is not None and sent > length:
                    return False
                transport.write(data if length is not None else b"%x\r\n%b\r\n" % (len(data), data))
                if flow.write_paused:
                    await flow.drain()
        finally:
            await _close(iterator)
        if length is None:
            transport.write(b"0\r\n\r\n")
            return True
        return sent == length


async def _close(iterator: Any) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
