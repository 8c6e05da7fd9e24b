"""The listening socket: a thread per connection, bounded, no Nagle delay, clean stop.

At the connection cap a newcomer takes the place of the oldest connection that has not
sent a byte yet (a silent socket holds a slot for nothing); when every connection is in
a request, a few more are let in for the reserved paths only (GET /health), so a
server full of long streams still says how it is."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..descriptors import dup_above_stdio
from ..errors import HttpError, error_body
from .connection import App, Connection, Limits, Park
from .head import Head, HeadError, parse_head
from .request import Request
from .response import Response
from .socket_io import DeferringWriter, SocketReader

Serve = Callable[[socket.socket, Any], None]
# After a stop closed the kept-alive connections waiting for a request: how long the server
# still listens. A client that sent a request on one just as it closed sends it again on a
# new connection (RFC 9112 section 9.3.1); it must find the server there and be answered
# (503: nothing ran), not refused: a refused retry after a drop reads as a crash, which may
# have run the request, so a gateway could neither send it elsewhere nor say it did not run.
LINGER_S = 0.5


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    # A restarted server binds its port again at once (POSIX). On Windows SO_REUSEADDR would
    # let another process bind the same port and take connections: there the socket is
    # made exclusive instead (server_bind).
    allow_reuse_address = sys.platform != "win32"
    # socketserver's default backlog is 5: a burst of clients connecting at once would
    # see their SYNs dropped and retried a second later.
    request_queue_size = 128

    # Connections past the cap that may ask for a reserved path, each for one request.
    RESERVE = 4

    def __init__(self, address: tuple[str, int], *, limits: Limits, max_connections: int,
                 first_byte_timeout: float = 10.0, reserved_paths: frozenset[str] = frozenset()
                 ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        # What answers requests; set once bound (the app may need the real port).
        self.app: App = _starting
        self.limits = limits
        # Set while the main loop runs (pumps/main_loop.py): idle kept-alive connections
        # are parked with it, to have their next request answered on the main thread.
        self.park: Park | None = None
        self._readers: dict[int, SocketReader] = {}
        self.max_connections = max_connections
        # How long a new connection may take to send its first bytes.
        self.first_byte_timeout = first_byte_timeout
        self.reserved_paths = reserved_paths
        self._connections: set[socket.socket] = set()
        # Connections that have not sent a byte yet, with when they came (oldest first).
        self._silent: dict[socket.socket, float] = {}
        # Kept-alive connections waiting for their next request, with since when.
        self._idle: dict[socket.socket, float] = {}
        self._reserved = 0
        self._closing = False
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)
        self._in_flight = 0
        # The handler class is never instantiated: process_request_thread makes a Connection.
        super().__init__(address, socketserver.BaseRequestHandler)

    def server_bind(self) -> None:
        if sys.platform == "win32":
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        super().server_bind()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        """Take a new connection (on the accepting thread, without waiting on anyone)."""
        request = _off_stdio(request)
        with self._lock:
            victim, serve = self._admit(request)
        if victim is not None:
            _hang_up(victim)  # its thread sees the end of stream and closes it
        if serve is None:
            self._refuse(request)
            return
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(request, client_address), daemon=True).start()

    def _admit(self, sock: socket.socket) -> tuple[socket.socket | None, Serve | None]:
        """(the connection to close for sock, how to serve sock; None: refuse it). At the
        cap, room is made by closing the oldest connection that has sent nothing, else
        the one idle the longest between requests (HTTP lets a server close an idle
        connection at any time: clients reconnect). Only when every connection is busy
        is a newcomer refused, past the few kept for the reserved paths."""
        victim = None
        if len(self._connections) >= self.max_connections:
            waiting = self._silent or self._idle
            victim = next(iter(waiting), None)
            if victim is None:
                if self._reserved < self.RESERVE and self.reserved_paths:
                    self._reserved += 1
                    return None, self._serve_reserved
                return None, None
            del waiting[victim]
            self._connections.discard(victim)
        self._connections.add(sock)
        self._silent[sock] = time.monotonic()
        return victim, self._serve_new

    def _serve_new(self, sock: socket.socket, address: Any) -> None:
        """A new connection: its first bytes within first_byte_timeout, then served."""
        reader = SocketReader(sock)
        try:
            sock.settimeout(self.first_byte_timeout)
            arrived = reader.fill()
        except OSError:  # silent too long, reset, or hung up to make room
            arrived = False
        finally:
            with self._lock:
                self._silent.pop(sock, None)
        if not arrived:
            self.shutdown_request(sock)
            return
        self._readers[sock.fileno()] = reader
        self.process_request_thread(sock, address)

    def _serve_reserved(self, sock: socket.socket, address: Any) -> None:
        """A connection past the cap: one request to a reserved path, else 503."""
        reader = SocketReader(sock)
        try:
            sock.settimeout(self.first_byte_timeout)
            reader.deadline = time.monotonic() + self.first_byte_timeout
            while (head := parse_head(reader.buffer)) is None:
                if not reader.fill():
                    return
            reader.clear_deadline(self.limits.idle_timeout)
            if head.target.partition("?")[0] not in self.reserved_paths:
                self._refuse(sock)
                return
            del reader.buffer[:head.size]
            self._connection(sock, address, reader).answer(dataclasses.replace(head, keep_alive=False))
        except (HeadError, OSError):
            pass
        finally:
            with self._lock:
                self._reserved -= 1
            self.shutdown_request(sock)

    def process_request_thread(self, request: Any, client_address: Any, unsent: bytes = b"",
                               keep: bool = True) -> None:
        parked = False
        try:
            if unsent:  # the rest of an answer the main loop began
                request.sendall(unsent)
            if keep:
                parked = self._connection(request, client_address).serve(self.park)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            if not parked:  # a parked connection lives on in the main loop
                self.shutdown_request(request)

    def _connection(self, sock: socket.socket, address: Any, reader: SocketReader | None = None,
                    writer: DeferringWriter | None = None) -> Connection:
        reader = reader or self._readers.pop(sock.fileno(), None) or SocketReader(sock)
        return Connection(sock, address, reader, app=self.app, limits=self.limits, tracker=self,
                          writer=writer)

    def continue_in_thread(self, sock: socket.socket, address: Any, reader: SocketReader, *,
                           unsent: bytes = b"", keep: bool = True) -> None:
        """Serve a connection (and the bytes already read from it) in a thread of its own,
        which first sends unsent, the rest of an answer begun elsewhere."""
        self._readers[sock.fileno()] = reader
        threading.Thread(target=self.process_request_thread, args=(sock, address, unsent, keep),
                         daemon=True).start()

    def serve_inline(self, sock: socket.socket, address: Any, reader: SocketReader, head: Head
                     ) -> tuple[bool, bytes]:
        """Answer one request already whole in reader (head parsed, body buffered) on this
        thread, Blender's main thread, without waiting on the socket: (whether the
        connection stays open, the part of the answer the peer has not taken yet)."""
        del reader.buffer[:head.size]
        writer = DeferringWriter(sock)
        keep = self._connection(sock, address, reader, writer).answer(head, inline=True)
        return keep, bytes(writer.unsent)

    def _refuse(self, request: socket.socket) -> None:
        body = json.dumps(error_body("Unavailable", "too many connections; retry shortly")).encode()
        head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def close_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
            self._silent.pop(request, None)
            self._idle.pop(request, None)
        super().close_request(request)

    def idle(self, sock: socket.socket) -> None:
        """sock waits for its next request (see _admit)."""
        with self._lock:
            if sock in self._connections:
                self._idle.setdefault(sock, time.monotonic())

    def active(self, sock: socket.socket) -> None:
        """sock brought a request, or ended."""
        with self._lock:
            self._idle.pop(sock, None)

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._quiet.notify_all()

    @property
    def closing(self) -> bool:
        return self._closing

    def close_idle(self, grace: float) -> None:
        """From now on every answer ends its connection; the connections waiting for their
        next request are closed now and, when there were any, the server goes on listening
        for LINGER_S, then waits (up to grace) for what it is answering."""
        with self._lock:
            self._closing = True
            idle = list(self._idle)
        for sock in idle:
            _hang_up(sock)
        if idle:
            time.sleep(LINGER_S)
            self.wait_idle(grace)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered; False on timeout."""
        with self._lock:
            return self._quiet.wait_for(lambda: self._in_flight == 0, timeout)

    def drop_connections(self) -> None:
        """Close every open connection so their threads end (idle keep-alive ones too)."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _hang_up(conn)


def _off_stdio(sock: socket.socket) -> socket.socket:
    """sock, or a copy numbered above 2 when it took fd 0, 1 or 2 (user code closed them):
    print() writes to fd 1 and 2, and must never reach a client. /dev/null holds the low
    number until the job ends and the original is put back (jobs/stdio.py)."""
    fd = sock.fileno()
    if fd > 2 or sys.platform == "win32":  # a Windows socket is a handle, never fd 0-2
        return sock
    moved = socket.socket(fileno=dup_above_stdio(fd))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, sock.detach())
    if null != fd:
        os.close(null)
    return moved


def _hang_up(sock: socket.socket) -> None:
    """End both directions, so the thread reading sock sees the end and closes it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _starting(request: Request) -> Response:
    return Response.error(HttpError(503, "the server is starting; retry shortly",
                                    headers={"Retry-After": "1"}))
