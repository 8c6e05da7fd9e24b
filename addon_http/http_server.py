"""The listening socket: a thread per connection, bounded, no Nagle delay, clean stop."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from http.server import HTTPServer
from typing import Any

from .errors import error_body
from .socket_io import SocketReader


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog is 5: a burst of clients connecting at once would
    # see their SYNs dropped and retried a second later.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: Any, *, max_connections: int,
                 app: Any) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        # Set while a MainLoop runs: idle kept-alive connections are parked with it.
        self.main_loop: Any = None
        self._readers: dict[int, SocketReader] = {}
        self.max_connections = max_connections
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        super().__init__(address, handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve our name with getfqdn: slow, and not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = len(self._connections) >= self.max_connections
            if not full:
                self._connections.add(request)
        if full:
            self._refuse(request)
            return
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        parked = False
        try:
            handler: Any = self.RequestHandlerClass(request, client_address, self)  # type: ignore[arg-type]
            parked = handler.parked
        except Exception:
            self.handle_error(request, client_address)
        finally:
            if not parked:  # a parked connection lives on in the main loop
                self.shutdown_request(request)

    def continue_in_thread(self, sock: socket.socket, address: Any, reader: SocketReader) -> None:
        """Serve a connection (and the bytes already read from it) in a thread of its own."""
        self._readers[sock.fileno()] = reader
        threading.Thread(target=self.process_request_thread, args=(sock, address),
                         daemon=True).start()

    def take_reader(self, sock: socket.socket) -> SocketReader:
        """The reader of a connection handed over by continue_in_thread, or a new one."""
        return self._readers.pop(sock.fileno(), None) or SocketReader(sock)

    def serve_inline(self, sock: socket.socket, address: Any, reader: SocketReader) -> bool:
        """Answer one buffered request on this thread; False when the connection must close."""
        return bool(self.RequestHandlerClass.serve_one(sock, address, self, reader))  # type: ignore[attr-defined]

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
        super().close_request(request)

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered; False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def drop_connections(self) -> None:
        """Close every open connection so their threads end (idle keep-alive ones too)."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
