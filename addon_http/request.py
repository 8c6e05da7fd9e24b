"""A parsed request as route handlers see it: path, query, headers and a lazy body."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

from .config import Config
from .errors import HttpError
from .files import CHUNK
from .headers import Headers
from .socket_io import SocketReader

# An error answer reads and drops a body up to this size, so keep-alive survives it.
DRAIN_LIMIT = 64 * 1024
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class Request:
    def __init__(self, *, method: str, path: str, query: dict[str, str], headers: Headers,
                 rfile: SocketReader, connection: socket.socket, config: Config) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.params: dict[str, str] = {}
        self._rfile = rfile
        self._connection = connection
        self._config = config
        self._length, self._chunked = self._framing()
        # True once every body byte was read, so the connection can serve another request.
        self.body_done = self._length == 0 and not self._chunked

    def _framing(self) -> tuple[int, bool]:
        encoding = self.headers.get("Transfer-Encoding", "").lower()
        if encoding and "Content-Length" in self.headers:
            # Two framings: a proxy in front may have used the other one (request smuggling).
            raise HttpError(400, "both Transfer-Encoding and Content-Length are set", close=True)
        if encoding:
            if encoding != "chunked":
                raise HttpError(501, f"Transfer-Encoding {encoding!r} is not supported", close=True)
            return 0, True
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0, False
        raw = raw.strip()
        if not (raw.isascii() and raw.isdigit()):  # str.isdigit() alone takes "²"
            raise HttpError(400, "invalid Content-Length", close=True)
        return int(raw), False

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def accepts(self, media: str) -> bool:
        return media in self.headers.get("Accept", "")

    def body(self, limit: int | None = None) -> bytes:
        """The whole body, at most limit bytes (413 beyond it)."""
        return b"".join(self.iter_body(limit))

    def iter_body(self, limit: int | None = None) -> Iterator[bytes]:
        """The body in chunks as it arrives; 413 past limit, 408 if the client stalls."""
        limit = self._config.max_body_bytes if limit is None else limit
        if self._length > limit:
            raise HttpError(413, f"the body is {self._length} bytes; the limit is {limit}", close=True)
        # A body already read with the head (the usual small one) needs no socket timeout.
        waits = self._chunked or len(self._rfile.buffer) < self._length
        if waits:
            self._connection.settimeout(self._config.request_timeout)
        try:
            if self._chunked:
                yield from self._read_chunked(limit)
            else:
                yield from self._read_exact(self._length, "the body ended before Content-Length bytes")
            self.body_done = True
        except TimeoutError:
            raise HttpError(408, f"the body was not sent within {self._config.request_timeout:g} s",
                            close=True) from None
        finally:
            if waits:
                self._connection.settimeout(self._config.idle_timeout)

    def _read_exact(self, size: int, short: str) -> Iterator[bytes]:
        """size bytes in blocks as they arrive; 400 with message short if they do not."""
        while size:
            block = self._rfile.read(min(CHUNK, size))
            if not block:
                raise HttpError(400, short, close=True)
            size -= len(block)
            yield block

    def discard_body(self, limit: int = DRAIN_LIMIT) -> bool:
        """Read and drop a small unread body so the connection can be kept; False when
        it is too large (or broken) and the connection must close instead."""
        if self._chunked or self._length > limit:
            return False
        try:
            for _ in self.iter_body(limit):
                pass
        except (HttpError, OSError):
            return False
        return True

    def _read_chunked(self, limit: int) -> Iterator[bytes]:
        total = 0
        while True:
            line = self._rfile.readline(1026)
            if not line.endswith(b"\n"):
                raise HttpError(400, "malformed chunked body", close=True)
            size_text = line.split(b";")[0].strip()
            # Hex digits only: int() would also take "0x10", "+f" or "f_f", which a proxy
            # in front may read differently (request smuggling).
            if not _HEX.fullmatch(size_text):
                raise HttpError(400, "malformed chunk size", close=True)
            size = int(size_text, 16)
            if size == 0:
                while self._rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are read and ignored
                return
            total += size
            if total > limit:
                raise HttpError(413, f"the body is over the limit of {limit} bytes", close=True)
            yield from self._read_exact(size, "the body ended inside a chunk")
            if self._rfile.readline(3) not in (b"\r\n", b"\n"):
                raise HttpError(400, "malformed chunked body", close=True)
