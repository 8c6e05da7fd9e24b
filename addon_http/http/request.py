"""A parsed request as the application sees it: path, query, headers and a lazy body."""

from __future__ import annotations

import dataclasses
import select
import socket
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import HttpError
from ..protocol import CHUNK
from .head import MAX_HEAD_BYTES, MAX_HEADERS, Head, HeadError, Headers, parse_fields
from .socket_io import SocketReader

# An error answer reads and drops a body up to this size, so keep-alive survives it.
DRAIN_LIMIT = 64 * 1024
_HEX = frozenset(b"0123456789abcdefABCDEF")
MAX_CHUNK_LINE = 1024


@dataclasses.dataclass(frozen=True)
class BodyLimits:
    """How much body a request may send, and how long it may take."""

    max_bytes: int
    # Seconds the body may stall (no byte arriving) before the answer is 408.
    timeout: float
    # The connection's timeout between requests, restored once the body is read.
    idle_timeout: float


class Request:
    def __init__(self, head: Head, reader: SocketReader, limits: BodyLimits, *,
                 send_continue: Callable[[], None], inline: bool = False) -> None:
        self.method = head.method
        self.path, self.query = _split_target(head.target)
        self.headers: Headers = head.headers
        self.params: dict[str, str] = {}
        # True when the main loop serves this request on Blender's main thread itself:
        # work it submits must run right here, not wait in the queue for this thread.
        self.inline = inline
        self._head = head
        self._reader = reader
        self._limits = limits
        self._send_continue = send_continue
        # True once every body byte was read, so the connection can serve another request.
        self.body_done = head.content_length == 0 and not head.chunked

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def content_length(self) -> int | None:
        """The declared body size; None for a chunked body."""
        return None if self._head.chunked else self._head.content_length

    def accepts(self, media: str) -> bool:
        return media in self.headers.get("Accept", "")

    def peer_closed(self) -> bool:
        """True when the client has closed its side of the connection (it hung up: a long
        answer it no longer wants). Looks without waiting and without taking any bytes."""
        sock = self._reader.sock
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):  # reset, or closed here already
            return True

    def body(self, limit: int | None = None) -> bytes:
        """The whole body, at most limit bytes (413 beyond it)."""
        return b"".join(self.iter_body(limit))

    def iter_body(self, limit: int | None = None) -> Iterator[bytes]:
        """The body in blocks as it arrives; 413 past limit, 408 if it is not all sent in time."""
        limit = self._limits.max_bytes if limit is None else limit
        head = self._head
        if head.content_length > limit:
            raise HttpError(413, f"the body is {head.content_length} bytes; the limit is {limit}",
                            close=True)
        # A body already read with the head (the usual small one) waits for nothing.
        waits = head.chunked or len(self._reader.buffer) < head.content_length
        if waits:
            if head.expect_continue:
                self._send_continue()  # the client waits for this before it sends the body
            self._reader.sock.settimeout(self._limits.timeout)
        try:
            if head.chunked:
                yield from self._read_chunked(limit)
            else:
                yield from self._read_exact(head.content_length, "the body ended before Content-Length bytes")
            self.body_done = True
        except TimeoutError:
            raise HttpError(408, f"the body was not sent within {self._limits.timeout:g} s",
                            close=True) from None
        finally:
            if waits:
                self._reader.sock.settimeout(self._limits.idle_timeout)

    def discard_body(self, limit: int = DRAIN_LIMIT) -> bool:
        """Read and drop a small unread body so the connection can be kept; False when
        it is too large, chunked, unasked for (Expect) or broken: then close instead."""
        head = self._head
        if head.chunked or head.content_length > limit or (
                head.expect_continue and len(self._reader.buffer) < head.content_length):
            return False
        try:
            for _ in self.iter_body(limit):
                pass
        except (HttpError, OSError):
            return False
        return True

    def _read_exact(self, size: int, short: str) -> Iterator[bytes]:
        """size bytes in blocks as they arrive; 400 with message short if they do not."""
        while size:
            block = self._reader.read(min(CHUNK, size))
            if not block:
                raise HttpError(400, short, close=True)
            size -= len(block)
            yield block

    def _read_chunked(self, limit: int) -> Iterator[bytes]:
        total = 0
        while True:
            size = _chunk_size(self._line())
            if size == 0:
                self._read_trailers()
                return
            total += size
            if total > limit:
                raise HttpError(413, f"the body is over the limit of {limit} bytes", close=True)
            yield from self._read_exact(size, "the body ended inside a chunk")
            if self._reader.readline(3) != b"\r\n":
                raise HttpError(400, "malformed chunked body: a chunk must end with CRLF", close=True)

    def _line(self, limit: int = MAX_CHUNK_LINE) -> bytes:
        line = self._reader.readline(limit + 2)
        if not line.endswith(b"\r\n") or b"\n" in line[:-2] or b"\r" in line[:-2]:
            raise HttpError(400, "malformed chunked body: lines end with CRLF", close=True)
        return line[:-2]

    def _read_trailers(self) -> None:
        # Read under the same bounds and rules as header fields, then dropped.
        lines, size = [], 0
        while (line := self._line(MAX_HEAD_BYTES)) != b"":
            size += len(line) + 2
            lines.append(line)
            if size > MAX_HEAD_BYTES or len(lines) > MAX_HEADERS:
                raise HttpError(431, "the trailer fields are too large", close=True)
        try:
            parse_fields(lines)
        except HeadError as exc:
            raise HttpError(exc.status, exc.message, close=True) from None


def _chunk_size(line: bytes) -> int:
    # 1*HEXDIG, then optional extensions after ';' (ignored), or trailing spaces and tabs
    # without one. Hex digits only: int() would also take "0x10", "+f" or "f_f", which a
    # proxy in front may read differently; no white space before ';' (h11 refuses it).
    size_text, semicolon, _ = line.partition(b";")
    if not semicolon:
        size_text = size_text.rstrip(b" \t")
    if not size_text or len(size_text) > 16 or not set(size_text) <= _HEX:
        raise HttpError(400, "malformed chunk size", close=True)
    return int(size_text, 16)


def _split_target(target: str) -> tuple[str, dict[str, str]]:
    if "?" not in target and "%" not in target and "#" not in target:
        return target, {}  # the common case, e.g. "/exec": nothing to split or decode
    parts = urlsplit(target)
    return unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True))
