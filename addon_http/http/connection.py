"""One HTTP connection: read each request's head, hand the request to the application,
write the Response it returns.

The connection knows HTTP/1.1 and nothing else: routes, guards, CORS and jobs belong
to the application (an `App`, a callable from Request to Response), as uvicorn's
protocol classes call a Starlette app. Every answer goes out in one write (headers
and body together): with keep-alive, separate small writes meet Nagle's algorithm and
the peer's delayed ACK (~40 ms).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any, Protocol

from ..errors import HttpError
from .head import Head, HeadError, parse_head
from .request import BodyLimits, Request
from .response import Response
from .socket_io import SocketReader, SocketWriter

# One line per request at INFO (`serve --log-level info`); quiet under the default WARNING.
access_log = logging.getLogger("blender_http.access")

App = Callable[[Request], Response]
# Takes an idle kept-alive connection (socket, address, reader); False to decline it.
Park = Callable[[socket.socket, Any, SocketReader], bool]
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclasses.dataclass(frozen=True)
class Limits:
    """How long a connection may wait and how much a request may send."""

    # Between requests: how long an idle kept-alive connection is kept.
    idle_timeout: float
    # From a request's first byte: its whole head; then each stall of its body.
    request_timeout: float
    max_body_bytes: int

    @property
    def body(self) -> BodyLimits:
        return BodyLimits(self.max_body_bytes, self.request_timeout, self.idle_timeout)


class Tracker(Protocol):
    """Counts requests being answered, so a stop can wait for them, and knows which
    connections wait idle for their next request (at the cap, the oldest makes room)."""

    def request_started(self) -> None: ...
    def request_finished(self) -> None: ...
    def idle(self, sock: socket.socket) -> None: ...
    def active(self, sock: socket.socket) -> None: ...
    # True once the server is stopping: every answer then ends its connection.
    @property
    def closing(self) -> bool: ...


class Connection:
    def __init__(self, sock: socket.socket, address: Any, reader: SocketReader, *, app: App,
                 limits: Limits, tracker: Tracker, writer: SocketWriter | None = None) -> None:
        self.sock = sock
        self.address = address
        self.reader = reader
        self._writer = writer or SocketWriter(sock)
        self._app = app
        self._limits = limits
        self._body_limits = limits.body
        self._tracker = tracker

    def serve(self, park: Park | None = None) -> bool:
        """Answer requests until the connection ends; True when it was parked instead
        (handed, idle, to whoever waits for its next request)."""
        self.sock.settimeout(self._limits.idle_timeout)
        while True:
            head = self.read_head()
            if head is None or not self.answer(head):
                return False
            if park is not None and not self.reader.buffer:
                self._tracker.idle(self.sock)
                if park(self.sock, self.address, self.reader):
                    return True

    def read_head(self) -> Head | None:
        """The next request's head, taken out of the buffer; None when the connection is
        idle too long, closed, or sent a head that was answered with an error."""
        reader, limits = self.reader, self._limits
        # Waiting for a request counts against the idle timeout; from its first byte on,
        # the whole head must come within the request timeout, so a client trickling it
        # (slowloris) cannot hold a connection and its thread.
        if not reader.buffer:
            self._tracker.idle(self.sock)
            arrived = self._arrived()
            self._tracker.active(self.sock)
            if not arrived:
                return None
        if reader.deadline is None:  # a connection handed over may bring its own
            reader.deadline = time.monotonic() + limits.request_timeout
        try:
            while (head := parse_head(reader.buffer)) is None:
                if not reader.fill():
                    return None  # closed inside the head: nobody to answer
        except TimeoutError:
            self._refuse(HttpError(408, f"the request head was not sent within {limits.request_timeout:g} s"))
            return None
        except HeadError as exc:
            self._refuse(HttpError(exc.status, exc.message))
            return None
        except OSError:
            return None
        finally:
            reader.clear_deadline(limits.idle_timeout)
        del reader.buffer[:head.size]
        return head

    def answer(self, head: Head, *, inline: bool = False) -> bool:
        """Answer one request whose head was read; True when the connection stays open.
        inline: this is Blender's main thread (see pumps/main_loop.py)."""
        self._tracker.request_started()
        started = time.perf_counter()
        status = 0  # 0 in the log: no answer was sent
        try:
            request = Request(head, self.reader, self._body_limits, send_continue=self._continue,
                              inline=inline)
            response = self._app(request)
            status = response.status
            keep = head.keep_alive and not response.close and not self._tracker.closing
            if keep and not request.body_done and not request.discard_body():
                keep = False  # unread body bytes would be taken for the next request
            self._send(response, keep=keep, head_only=head.method == "HEAD")
            return keep
        except OSError:  # the peer went away or stalled while reading the answer
            return False
        finally:
            self._tracker.request_finished()
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.2f ms", head.method, head.target, status,
                                (time.perf_counter() - started) * 1e3)

    def _arrived(self) -> bool:
        try:
            return self.reader.fill()
        except OSError:  # idle too long (TimeoutError), or reset
            return False

    def _continue(self) -> None:
        self._writer.write(CONTINUE)

    def _refuse(self, exc: HttpError) -> None:
        """Answer a request that could not be read, and close."""
        try:
            self._send(Response.error(exc), keep=False)
        except OSError:
            pass

    def _send(self, response: Response, *, keep: bool, head_only: bool = False) -> None:
        head = _head_bytes(response, keep)
        if head_only:
            self._writer.write(head)
            response.discard()
        elif response.stream is None:
            self._writer.write(head + response.body)
        else:
            self._send_stream(head, response.stream, chunked=response.length is None)

    def _send_stream(self, head: bytes, stream: Iterator[bytes], *, chunked: bool) -> None:
        try:
            first = next(stream, b"")
            if chunked:
                self._writer.write(head + (_chunk(first) if first else b""))
                for block in stream:
                    if block:
                        self._writer.write(_chunk(block))
                self._writer.write(b"0\r\n\r\n")
            else:
                self._writer.write(head + first)
                for block in stream:
                    self._writer.write(block)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()


def _head_bytes(response: Response, keep: bool) -> bytes:
    status = response.status
    lines = [f"HTTP/1.1 {status} {_reason(status)}", "Server: blender-http"]
    if status != 204:
        lines.append(f"Content-Type: {response.content_type}")
    lines += [f"{k}: {v}" for k, v in response.headers.items()]
    if status == 204:
        pass
    elif response.stream is None:
        lines.append(f"Content-Length: {len(response.body)}")
    elif response.length is not None:
        lines.append(f"Content-Length: {response.length}")
    else:
        lines.append("Transfer-Encoding: chunked")
    if not keep:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _chunk(block: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(block), block)
