"""One kept-alive HTTP/1.1 connection to a backend, as an asyncio protocol: it writes the
requests it is given and parses the answers with httptools (llhttp), one answer at a time.

It holds no task and makes no future while an answer arrives whole in one read, the common
case of a small exec result. Reading stops while more than READ_BUFFER bytes of a streamed
answer wait for their consumer; writing waits while the socket's send buffer is full."""

from __future__ import annotations

import asyncio
import time
from typing import cast

import httptools

# Bytes of answer body held before reading pauses (a slow client of a large download).
READ_BUFFER = 256 * 1024
# A body up to this size leaves in one write with its head; a larger one is not copied.
JOIN_LIMIT = 64 * 1024


class UpstreamError(Exception):
    """The exchange with a backend failed."""


class ConnectError(UpstreamError):
    """No connection could be opened: the request never reached the backend."""


class DroppedError(UpstreamError):
    """The connection failed after the request was (maybe) sent: the backend died, reset the
    connection or answered something unreadable."""


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        # The loop the connection was made in (the protocol factory runs in it): asked once,
        # not per answer.
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        # Woken by the parser (head, body, end) and by the connection's loss.
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused = False
        self.closed = False
        self.idle_since = time.monotonic()
        # Answers completed on this connection (a reused one may meet a server's idle close).
        self.served = 0
        self._begin()

    def _begin(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._buffered = 0
        self.head_done = False
        self.keep_alive = False
        self.complete = False
        self.received = False  # a byte of this answer arrived
        self.expecting = False  # a request was sent and its answer is not complete
        self.error: UpstreamError | None = None

    # -- the request side ----------------------------------------------------------------

    def send(self, head: bytes, body: bytes | None = None) -> None:
        """Start an exchange: the request head, and its body when it is bytes."""
        assert self._transport is not None and not self.expecting
        self._begin()
        self.expecting = True
        if body and len(body) <= JOIN_LIMIT:
            self._transport.write(head + body)  # one segment on the wire
            return
        self._transport.write(head)
        if body:
            self._transport.write(body)

    async def write(self, data: bytes) -> None:
        """More of the request body; waits while the socket's buffer is full."""
        if self.closed:
            raise DroppedError(self._lost_reason())
        assert self._transport is not None
        self._transport.write(data)
        if self._drain is not None:
            await self._drain

    # -- the answer side -----------------------------------------------------------------

    def take(self) -> bytes:
        """The body bytes received and not yet taken."""
        chunk = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body.clear()
        self._buffered = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return chunk

    async def more(self) -> None:
        """Wait until body bytes arrive or the answer ends."""
        if not self._body and not self.complete:
            await self.wait()

    async def wait(self) -> None:
        """Wait until the parser reports progress (head, body, end) or the connection fails."""
        if self.error is not None:
            raise self.error
        waiter = self._waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if self.error is not None:
            raise self.error

    def ended(self) -> bool:
        """The whole body was received and taken."""
        return self.complete and not self._body

    def reusable(self) -> bool:
        """The answer was read to its end and the connection may carry another."""
        return self.complete and self.keep_alive and not self.closed and not self._body

    def finish(self) -> None:
        self.expecting = False
        self.served += 1
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.expecting:
            # Bytes nobody asked for: the connection's state is unknown, never reuse it.
            self.close()
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(DroppedError(f"unreadable answer: {exc}"))
            self.close()
            return
        if self._buffered > READ_BUFFER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.expecting and not self.complete:
            if self.head_done and self._delimited_by_close():
                self.on_message_complete()
            else:
                self._fail(DroppedError(self._lost_reason(exc)))
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        if self._drain is None:
            self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            return  # 1xx: an interim answer, the real one follows
        self.status = status
        # Asked here: llhttp forgets the answer's Connection header once it is complete.
        self.keep_alive = self._parser.should_keep_alive()
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        self._wake()

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True
            self._wake()

    # -- internals -----------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def _delimited_by_close(self) -> bool:
        """An answer with neither length nor chunks ends where the connection does."""
        return not any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers)

    def _lost_reason(self, exc: BaseException | None = None) -> str:
        where = "while answering" if self.received else "before answering"
        detail = f": {type(exc).__name__}: {exc}" if exc else ""
        return f"the connection closed {where}{detail}"
