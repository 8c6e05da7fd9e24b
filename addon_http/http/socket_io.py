"""Reading and writing a connection's socket with a buffer we can see into.

The standard library's buffered reader hides how many bytes it read ahead; a
connection handed from one thread to another (see pumps/main_loop.py) must take those
bytes along, so the buffer here is ours.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

RECV = 65536

if sys.platform == "win32":
    # A Windows socket is a handle, not a file descriptor: os.read/os.write do not take it.
    # A select() with no timeout says whether recv/send would wait; they run only if not.
    def recv_nowait(sock: socket.socket) -> bytes:
        """What has arrived, without waiting (BlockingIOError if nothing has)."""
        if not select.select([sock], [], [], 0)[0]:
            raise BlockingIOError
        return sock.recv(RECV)

    def send_nowait(sock: socket.socket, data: bytes | memoryview) -> int:
        """What the socket takes at once, without waiting (BlockingIOError if nothing)."""
        if not select.select([], [sock], [], 0)[1]:
            raise BlockingIOError
        return sock.send(data)
else:
    # A socket with a timeout is non-blocking underneath: os.read/os.write skip the poll()
    # that recv/send make before each call.
    def recv_nowait(sock: socket.socket) -> bytes:
        """What has arrived, without waiting (BlockingIOError if nothing has)."""
        return os.read(sock.fileno(), RECV)

    def send_nowait(sock: socket.socket, data: bytes | memoryview) -> int:
        """What the socket takes at once, without waiting (BlockingIOError if nothing)."""
        return os.write(sock.fileno(), data)


class SocketReader:
    """readline/read over a socket, as the connection and its Request use them."""

    def __init__(self, sock: socket.socket, initial: bytes = b"") -> None:
        self.sock = sock
        self.buffer = bytearray(initial)
        # While set (a time.monotonic() value), a read that would wait past it raises
        # TimeoutError: how a request's head is bounded as a whole, not per recv.
        self.deadline: float | None = None
        self._timeout_changed = False

    def fill(self) -> bool:
        """One recv into the buffer; False at end of stream."""
        if self.deadline is not None:
            self._wait_until_deadline()
        data = self.sock.recv(RECV)
        if not data:
            return False
        self.buffer += data
        return True

    def fill_nowait(self) -> bool:
        """Take what has arrived without waiting (BlockingIOError if nothing has);
        False at end of stream."""
        data = recv_nowait(self.sock)
        if not data:
            return False
        self.buffer += data
        return True

    def readline(self, limit: int = -1) -> bytes:
        start = 0
        while True:
            end = self.buffer.find(b"\n", start, limit if limit > 0 else None)
            if end >= 0:
                end += 1
                break
            if 0 < limit <= len(self.buffer):
                end = limit
                break
            start = len(self.buffer)
            if not self.fill():
                end = len(self.buffer)
                break
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes (fewer when that is what arrived); b"" at end of stream."""
        if size < 0:
            while self.fill():
                pass
            size = len(self.buffer)
        if not self.buffer:
            if size >= RECV:
                return self.sock.recv(size)  # large bodies skip the copy through the buffer
            if not self.fill():
                return b""
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def clear_deadline(self, timeout: float) -> None:
        """End the deadline; the socket's timeout is timeout again."""
        self.deadline = None
        if self._timeout_changed:
            self._timeout_changed = False
            self.sock.settimeout(timeout)

    def _wait_until_deadline(self) -> None:
        assert self.deadline is not None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the deadline passed")
        self.sock.settimeout(remaining)
        self._timeout_changed = True


class SocketWriter:
    """Where answers are written: each write is one sendall."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> int:
        # An answer nearly always fits the send buffer at once: sent without the poll()
        # that sendall makes first. Only what does not fit waits, through sendall's timeout.
        try:
            sent = send_nowait(self.sock, data)
        except BlockingIOError:
            sent = 0
        if sent < len(data):
            self.sock.sendall(memoryview(data)[sent:])
        return len(data)


class DeferringWriter(SocketWriter):
    """A writer that never waits: what the socket does not take at once is kept in
    `unsent`, for a thread to send (the main loop's answers, see pumps/main_loop.py)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.unsent = bytearray()

    def write(self, data: bytes) -> int:
        size = len(data)
        if not self.unsent:
            try:
                sent = send_nowait(self.sock, data)
            except BlockingIOError:
                sent = 0
            data = data[sent:]
        self.unsent += data
        return size
