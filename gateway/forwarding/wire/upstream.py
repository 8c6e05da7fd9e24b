"""The one HTTP client the gateway talks to its backends with: pooled, kept-alive HTTP/1.1
connections (connection.Connection), one pool per backend address.

Written for the proxy's hot path: the request head is joined from the raw header bytes the
client sent, a body in bytes leaves in the same write as its head, and an answer that arrives
in one read is returned without a task or a wait. Bodies that are streams flow both ways with
back-pressure and are never held whole."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import ssl
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from blender_http_addon.protocol import IDEMPOTENCY_HEADER

from .connection import ConnectError, Connection, DroppedError, UpstreamError

__all__ = ["Answer", "ConnectError", "DroppedError", "Origin", "Upstream", "UpstreamError", "origin"]

Headers = list[tuple[bytes, bytes]]
Body = bytes | AsyncIterator[bytes] | None
# Failures where the request never reached the backend (safe to send elsewhere).
CONNECT_ERRORS: tuple[type[BaseException], ...] = (ConnectError,)
# Failures after it may have arrived: the backend died, reset or stalled mid-answer.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (DroppedError,)
# An idle connection is closed after this long (the add-on keeps one 60 s by default).
KEEPALIVE_S = 30.0
# Methods whose request may be sent again when a reused connection turns out closed before
# any answer (the server closed it idle just as it was reused: RFC 9112 section 9.3.1).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Any request carrying this header may be sent again too: a worker answers a repeated key
# with the first run's answer, so the code runs once whichever attempt reached it.
IDEMPOTENCY_KEY = IDEMPOTENCY_HEADER.lower().encode()
NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})
# Anything a request line must not carry is percent-encoded (a job id decoded from the URL).
UNSAFE_TARGET = re.compile(r"[^\x21-\x7e]+")


@dataclasses.dataclass(frozen=True, eq=False)
class Origin:
    """Where a backend listens, parsed once from its base URL (one object per URL: it keys
    the pool by identity)."""

    host: str
    port: int
    tls: bool
    prefix: str  # the base URL's path, put before every request's path
    host_header: bytes


@functools.lru_cache(maxsize=1024)
def origin(url: str) -> Origin:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    netloc = f"[{host}]" if ":" in host else host
    return Origin(host, port, tls, parts.path.rstrip("/"), f"Host: {netloc}:{port}\r\n".encode())


class Upstream:
    def __init__(self, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self._idle: dict[Origin, list[Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def request(self, where: Origin, method: str, path: str, query: bytes, headers: Headers,
                      body: Body, timeout: float | None = None) -> Answer:
        """Send a request; the answer once its head arrived (the body is read from it).
        ConnectError if no connection could be opened (within the connect timeout, or timeout
        if shorter), DroppedError if it failed later, TimeoutError if the head took longer
        than timeout (None: no limit; code may run for hours)."""
        chunked = _is_stream(body) and not any(name == b"content-length" for name, _ in headers)
        head = _head(where, method, path, query, headers, body, chunked)
        connection = await self._connection(where, timeout)
        while True:  # twice at most: the second connection is new, and a new one is not retried
            try:
                if timeout is None:
                    return await _exchange(self, where, connection, head, body, chunked)
                async with asyncio.timeout(timeout):
                    return await _exchange(self, where, connection, head, body, chunked)
            except DroppedError as dropped:
                if not (connection.served and not connection.received and not _is_stream(body)
                        and _repeatable(method, headers)):
                    raise
                # A reused connection closed before any answer: the server closed it idle just
                # as we reused it, and the request never reached it; or the server died
                # (killed, crashed) with the request in hand, maybe running it. Once more, on a
                # new connection: where none can be opened, the server is gone, and the first
                # failure stands (a "never reached" would send it to another worker, which does
                # not know its Idempotency-Key and would run it again).
                try:
                    connection = await self._connect(where, min(self.connect_timeout,
                                                                timeout or self.connect_timeout))
                except ConnectError:
                    raise dropped from None

    async def _connection(self, where: Origin, timeout: float | None) -> Connection:
        idle = self._idle.get(where)
        while idle:
            connection = idle.pop()
            if not connection.closed and time.monotonic() - connection.idle_since < KEEPALIVE_S:
                return connection
            connection.close()
        return await self._connect(where, min(self.connect_timeout, timeout or self.connect_timeout))

    async def _connect(self, where: Origin, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    Connection, where.host, where.port, ssl=self._tls() if where.tls else None)
        except TimeoutError as exc:
            raise ConnectError(f"no connection within {timeout:g} s") from exc
        except OSError as exc:
            raise ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def release(self, where: Origin, connection: Connection) -> None:
        """Back to the pool if its answer was read whole and it may carry another, else closed."""
        if not connection.reusable():
            connection.close()
            return
        connection.finish()
        idle = self._idle.setdefault(where, [])
        idle.append(connection)
        # The longest idle sit at the bottom: close the ones past their time.
        while idle[0].closed or connection.idle_since - idle[0].idle_since >= KEEPALIVE_S:
            idle.pop(0).close()

    async def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


class Answer:
    """A backend's answer: status and headers (names in lower case) read, the body to come."""

    def __init__(self, upstream: Upstream, where: Origin, connection: Connection,
                 writer: asyncio.Task[None] | None) -> None:
        self._upstream = upstream
        self._where = where
        self._connection: Connection | None = connection
        self._writer = writer
        self.status = connection.status
        self.headers = connection.headers

    async def read(self) -> bytes:
        """The whole body; DroppedError if the connection fails first."""
        connection = self._connection
        assert connection is not None, "the body was read already"
        parts = []
        try:
            while not connection.complete:  # else it is all here, the common case: no wait
                await connection.more()
                parts.append(connection.take())
            last = connection.take()
        finally:
            self.release()
        return b"".join((*parts, last)) if parts else last

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; the connection goes back to the pool at its end."""
        connection = self._connection
        assert connection is not None, "the body was read already"
        try:
            while True:
                await connection.more()
                chunk = connection.take()
                if chunk:
                    yield chunk
                if connection.ended():
                    break
        finally:
            self.release()

    def release(self) -> None:
        """Done with the answer: a connection read to its end is kept, any other closed."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        writer = self._writer
        if writer is not None:
            if not writer.done():
                writer.cancel()  # the backend answered before it took the whole body
                connection.close()
            elif _failure(writer) is not None:
                connection.close()
        self._upstream.release(self._where, connection)


async def _exchange(upstream: Upstream, where: Origin, connection: Connection, head: bytes,
                    body: Body, chunked: bool) -> Answer:
    writer = None
    try:
        if body is None or isinstance(body, bytes):
            connection.send(head, body)
        else:
            connection.send(head)
            # Written beside the wait for the answer: a backend may answer (413) before the end.
            writer = asyncio.create_task(_write(connection, body, chunked))
        while not connection.head_done:  # waited for here: a coroutine less per request
            await connection.wait()
    except BaseException as exc:
        connection.close()
        if writer is not None:
            source = _failure(writer)
            writer.cancel()
            if isinstance(exc, DroppedError) and source is not None:
                raise source from exc  # the body's source failed (its client left), not the backend
        raise
    return Answer(upstream, where, connection, writer)


async def _write(connection: Connection, body: AsyncIterator[bytes], chunked: bool) -> None:
    try:
        async for chunk in body:
            if chunk:
                await connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            await connection.write(b"0\r\n\r\n")
    except DroppedError:
        pass  # the reader of the answer sees it too
    except Exception:
        connection.close()  # the body's source failed (its client left): cut the request short
        raise


def _head(where: Origin, method: str, path: str, query: bytes, headers: Headers, body: Body,
          chunked: bool) -> bytes:
    if isinstance(body, bytes):
        framing = b"content-length: %d\r\n\r\n" % len(body)
    elif body is None:
        framing = b"\r\n" if method in NO_BODY else b"content-length: 0\r\n\r\n"
    else:
        framing = b"transfer-encoding: chunked\r\n\r\n" if chunked else b"\r\n"
    # Each header's line joined in C: a Python loop over them costs more than the rest.
    fields = b"\r\n".join(map(b": ".join, headers)) + b"\r\n" if headers else b""
    return b"".join((_request_line_start(method, where.prefix + path), b"?" + query if query else b"",
                     b" HTTP/1.1\r\n", where.host_header, fields, framing))


@functools.lru_cache(maxsize=1024)  # the same few paths, over and over
def _request_line_start(method: str, target: str) -> bytes:
    """`METHOD target` of a request line, what a request line must not carry percent-encoded."""
    if UNSAFE_TARGET.search(target):
        target = UNSAFE_TARGET.sub(lambda found: "".join(f"%{b:02X}" for b in found.group().encode()),
                                   target)
    return f"{method} {target}".encode()


def _repeatable(method: str, headers: Headers) -> bool:
    return method in IDEMPOTENT or any(name == IDEMPOTENCY_KEY for name, _ in headers)


def _failure(writer: asyncio.Task[None]) -> BaseException | None:
    """What ended the body's writer, once it ended (and, so, was retrieved)."""
    if not writer.done() or writer.cancelled():
        return None
    return writer.exception()


def _is_stream(body: Body) -> bool:
    return body is not None and not isinstance(body, bytes)


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
