"""A kept-alive connection waiting in the main loop, and reading what it brought: is it a
whole request the main thread may answer inline, the start of one, or one for a thread?
Decided by the one head parser (http/head.py) that the connection threads use too."""

from __future__ import annotations

import dataclasses
import socket
import time
from typing import Any

from ..http.head import Head, HeadError, parse_head
from ..http.socket_io import SocketReader
from ..protocol import EXEC, HEALTH, MCP, mcp_call_followed

# Requests the main thread answers itself; the rest may block (long polls, streams).
INLINE = frozenset({("POST", EXEC), ("GET", HEALTH), ("POST", MCP)})
# A request bigger than this is finished by a thread (a large upload streams).
MAX_BUFFERED = 64 * 1024
# How long the rest of a request that came in pieces (its head, then its body) is waited
# for here before a thread takes it over and waits, with the request timeout, instead.
PARTIAL_GRACE_S = 0.5
INLINE_READY, WAITING, HAND_OFF, CLOSED = "inline", "waiting", "hand off", "closed"


@dataclasses.dataclass
class Parked:
    sock: socket.socket
    address: Any
    reader: SocketReader
    since: float
    # When the first bytes of a request not yet complete arrived.
    partial_since: float | None = None
    # The head of a whole request ready to be answered here.
    head: Head | None = None

    def deadline(self, idle_timeout: float) -> float:
        if self.partial_since is not None:
            return self.partial_since + PARTIAL_GRACE_S
        return self.since + idle_timeout


def read_some(parked: Parked) -> str:
    """Read what arrived: INLINE_READY for a whole inline request, WAITING for the
    start of one, HAND_OFF for anything a thread should serve, CLOSED at the end."""
    try:
        more = parked.reader.fill_nowait()
    except BlockingIOError:
        more = True
    except OSError:
        more = False
    if not more:
        return CLOSED
    buffer = parked.reader.buffer
    try:
        head = parse_head(buffer)
    except HeadError:  # a thread answers it, with the same parser
        return HAND_OFF
    if head is not None:
        if (head.method, head.target.partition("?")[0]) not in INLINE:
            return HAND_OFF
        if _may_stream(head):
            return HAND_OFF
        if head.whole_in(len(buffer)):
            parked.head = head
            return INLINE_READY
        if head.expect_continue or head.chunked or head.content_length > MAX_BUFFERED:
            return HAND_OFF  # a thread sends 100 Continue, or streams the body
    elif not _may_be_inline(buffer):
        return HAND_OFF
    if parked.partial_since is None:  # e.g. the headers came, the body is on its way
        parked.partial_since = time.monotonic()
    return WAITING


def _may_stream(head: Head) -> bool:
    """An MCP call a connection's thread follows while the main thread runs it (progress as
    it runs, a cancel when its client hangs up): never answered by the main thread itself."""
    return head.target.startswith(MCP) and mcp_call_followed(head.headers)


def _may_be_inline(buffer: bytearray) -> bool:
    """False once the request line shows a request a thread serves anyway."""
    end = buffer.find(b"\r\n")
    if end < 0:
        return True
    method, _, rest = bytes(buffer[:end]).partition(b" ")
    path = rest.partition(b" ")[0].partition(b"?")[0]
    return (method.decode("latin-1"), path.decode("latin-1")) in INLINE
