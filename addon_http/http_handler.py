"""One HTTP connection: read requests, check who is asking, dispatch, write answers.

Every answer goes out in one write (headers and body together): with keep-alive,
separate small writes meet Nagle's algorithm and the peer's delayed ACK (~40 ms).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import routes
from .errors import HttpError, error_body
from .headers import HeadError, Headers, parse_request_line, read_headers
from .request import Request
from .response import Response
from .socket_io import SocketReader, SocketWriter

log = logging.getLogger("blender_http")

_REASONS = BaseHTTPRequestHandler.responses


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "blender-http"
    sys_version = ""
    # True once the connection went to the main loop to wait for its next request.
    parked = False
    rfile: SocketReader  # type: ignore[assignment]
    headers: Headers  # type: ignore[assignment]
    raw_requestline: bytes
    wfile: SocketWriter  # type: ignore[assignment]

    def setup(self) -> None:
        self.connection = self.request
        self.app = self.server.app  # type: ignore[attr-defined]
        self.connection.settimeout(self.app.config.idle_timeout)
        self.rfile = self.server.take_reader(self.connection)  # type: ignore[attr-defined]
        self.wfile = SocketWriter(self.connection)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            loop = self.server.main_loop  # type: ignore[attr-defined]
            if loop is not None and not self.rfile.buffer and loop.park(
                    self.connection, self.client_address, self.rfile):
                self.parked = True
                return
            self.handle_one_request()

    def finish(self) -> None:
        pass  # the socket is closed (or parked) by the server, and our files hold nothing

    def handle_one_request(self) -> None:
        # Waiting for a request counts against the idle timeout; from its first byte on,
        # the request line and headers must come whole within the request timeout, so a
        # client trickling them (slowloris) cannot hold a connection and its thread.
        if not self.rfile.buffer:
            try:
                arrived = self.rfile.fill()
            except TimeoutError:
                arrived = False
            if not arrived:  # idle too long, or the client hung up
                self.close_connection = True
                return
        self.rfile.deadline = time.monotonic() + self.app.config.request_timeout
        try:
            super().handle_one_request()
        finally:
            self.rfile.clear_deadline(self.app.config.idle_timeout)

    def parse_request(self) -> bool:
        """Read the request line (already in raw_requestline) and the header fields;
        False after answering an error."""
        self.command = ""
        self.request_version = "HTTP/1.0"
        self.close_connection = True
        self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        try:
            self.command, self.path, version = parse_request_line(self.raw_requestline)
            self.request_version = f"HTTP/{version[0]}.{version[1]}"
            self.headers = self._read_head()  # type: ignore[assignment]
        except HeadError as exc:
            self.send_error(exc.status, exc.message)
            return False
        connection = (self.headers.get("Connection") or "").lower()
        self.close_connection = (version < (1, 1) and connection != "keep-alive") or connection == "close"
        if version >= (1, 1) and (self.headers.get("Expect") or "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _read_head(self) -> Headers:
        """The header fields, read before the head's deadline (408 past it)."""
        config = self.app.config
        try:
            return read_headers(self.rfile.readline)
        except TimeoutError:
            raise HeadError(408, f"the request head was not sent within {config.request_timeout:g} s"
                            ) from None
        finally:
            self.rfile.clear_deadline(config.idle_timeout)

    @classmethod
    def serve_one(cls, sock: socket.socket, address: Any, server: Any, reader: SocketReader) -> bool:
        """Answer one request already buffered in reader on the calling thread (the main
        loop's); True when the connection stays open."""
        handler = cls.__new__(cls)
        handler.request = handler.connection = sock
        handler.client_address = address
        handler.server = server
        handler.app = server.app
        handler.rfile = reader  # type: ignore[assignment]
        handler.wfile = SocketWriter(sock)  # type: ignore[assignment]
        handler.close_connection = True
        handler.handle_one_request()
        return not handler.close_connection

    # BaseHTTPRequestHandler looks up do_<METHOD>; all of them share one dispatcher.
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        server = self.server
        server.request_started()  # type: ignore[attr-defined]
        started = time.perf_counter()
        request = None
        try:
            try:
                request = self._request()
            except HttpError as exc:  # framing we cannot read past: answer, then close
                self.close_connection = True
                self._send(Response.error(exc))
                return
            response = self._answer(request)
            if not request.body_done and not request.discard_body():
                # Unread body bytes would be taken for the next request: close, and say so.
                self.close_connection = True
            self._send(response, head_only=self.command == "HEAD")
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        finally:
            server.request_finished()  # type: ignore[attr-defined]
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s %.2f ms", self.command, self.path, (time.perf_counter() - started) * 1e3)

    def _request(self) -> Request:
        if "?" in self.path or "%" in self.path or "#" in self.path:
            parts = urlsplit(self.path)
            path, query = unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True))
        else:  # the common case, e.g. "/exec": nothing to split or decode
            path, query = self.path, {}
        return Request(method=self.command, path=path, query=query,
                       headers=self.headers, rfile=self.rfile, connection=self.connection,
                       config=self.app.config)

    def _answer(self, request: Request) -> Response:
        cors_origin = None
        try:
            route, params = routes.match(request.method, request.path)
            if not route.open:
                self.app.guard.check_host(request.headers.get("Host"))
            cors_origin = self.app.guard.check_origin(request.headers)
            if request.method == "OPTIONS":
                return routes.preflight(request, route, cors_origin)
            if not route.open:
                self.app.guard.check_token(request.headers.get("Authorization"))
            request.params = params
            response = route.handler(self.app, request)
        except HttpError as exc:
            if exc.close:
                self.close_connection = True
            response = Response.error(exc)
        except Exception as exc:  # a bug in a route must not take the connection down silently
            log.exception("error answering %s %s", request.method, request.path)
            response = Response.json(error_body("InternalError", f"{type(exc).__name__}: {exc}"),
                                     status=500)
        if cors_origin:
            response.headers["Access-Control-Allow-Origin"] = cors_origin
            response.headers["Vary"] = "Origin"
        request_id = request.headers.get("X-Request-ID")
        if request_id:
            response.headers["X-Request-ID"] = request_id[:200]
        return response

    def _send(self, response: Response, *, head_only: bool = False) -> None:
        if response.close:
            self.close_connection = True
        lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, ('',))[0]}",
                 f"Server: {self.server_version}"]
        if response.status != 204:
            lines.append(f"Content-Type: {response.content_type}")
        lines += [f"{k}: {v}" for k, v in response.headers.items()]
        chunked = False
        if response.status == 204:
            pass
        elif response.stream is None:
            lines.append(f"Content-Length: {len(response.body)}")
        elif response.length is not None:
            lines.append(f"Content-Length: {response.length}")
        else:
            chunked = True
            lines.append("Transfer-Encoding: chunked")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head_only:
            self.wfile.write(head)
            response.discard()
        elif response.stream is None:
            self.wfile.write(head + response.body)
        else:
            self._send_stream(head, response.stream, chunked)

    def _send_stream(self, head: bytes, stream: Iterator[bytes], chunked: bool) -> None:
        try:
            first = next(stream, b"")
            if chunked:
                self.wfile.write(head + (_chunk(first) if first else b""))
                for block in stream:
                    if block:
                        self.wfile.write(_chunk(block))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(head + first)
                for block in stream:
                    self.wfile.write(block)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found while parsing the request line and headers, in the JSON shape."""
        self.close_connection = True
        try:
            self._send(Response.error(HttpError(code, message or _REASONS.get(code, ("error",))[0])))
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


def _chunk(block: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(block), block)
