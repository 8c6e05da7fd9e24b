"""The blocking pump (background and module mode), which also serves HTTP itself.

Handing each request from a connection thread to the main thread and the answer back
costs two thread wake-ups, about as much as all the rest of a small exec. So between
requests, kept-alive connections are parked here, and the main thread waits on them
and on the job queue at once (one selector, no polling sleep). When a parked
connection brings a whole `POST /exec` or `GET /health`, the main thread reads, runs
and answers it with no hand-off at all. Anything else (other routes, chunked bodies,
`Expect: 100-continue`, requests that do not arrive whole within PARTIAL_GRACE_S, and
answers the peer does not take at once) goes on in a connection thread, as do all new
connections: the main thread never waits on a client's socket. Whether a request is
whole is decided by the same head parser the threads use (http/head.py).

While the main thread runs a job, nobody watches the parked connections; a standby
thread notices a job that runs longer than STANDBY_AFTER_S and gives every parked
connection back to a thread of its own, so /health and the rest still answer.
"""

from __future__ import annotations

import logging
import math
import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from ..http.socket_io import SocketReader
from ..jobs.interrupt import JobInterrupt
from .parked import CLOSED, INLINE_READY, WAITING, Parked, read_some

if TYPE_CHECKING:
    from ..http.server import Server
    from ..service import Service

log = logging.getLogger("blender_http")

STANDBY_AFTER_S = 0.01


class MainLoop:
    def __init__(self, service: Service) -> None:
        assert service.server is not None, "start() the service first"
        self.service = service
        self.server: Server = service.server
        self._selector = selectors.DefaultSelector()
        # A socket pair, not a pipe: Windows' select() takes sockets only.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._parked: dict[int, Parked] = {}
        # Handed in by connection threads (not yet registered with the selector) and
        # answered here (still registered): both join _parked under the lock.
        self._incoming: list[Parked] = []
        self._served: list[Parked] = []
        # Held by whoever may touch the selector and the parked set: the main thread,
        # except while it runs jobs, when the standby thread may take it.
        self._lock = threading.Lock()
        self._busy_since = 0.0
        # No parked connection is due before this time.monotonic() value (a lower bound
        # kept as connections join), so deadlines are looked at once per deadline, not
        # once per request.
        self._check_at = math.inf
        self.served_inline = 0  # requests answered by the main thread itself
        self._stopping = threading.Event()
        self._standby = threading.Thread(target=self._standby_loop, name="blender-http-standby",
                                         daemon=True)

    @property
    def waiting(self) -> int:
        """How many connections are parked here for their next request (a glance: not
        under the lock)."""
        return len(self._parked) + len(self._incoming) + len(self._served)

    # -- called from other threads -------------------------------------------------

    def park(self, sock: socket.socket, address: Any, reader: SocketReader) -> bool:
        """Take an idle kept-alive connection, whose next request may be served here;
        False when the loop is ending and the caller should keep it."""
        if self._stopping.is_set() or self.service.should_exit.is_set():
            return False
        self._incoming.append(Parked(sock, address, reader, time.monotonic()))
        self.wake()
        return True

    def wake(self) -> None:
        if self._stopping.is_set():  # the waker is closing or closed
            return
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:  # the buffer is full: a wake-up is pending anyway
            pass
        except OSError:  # closed while we got here
            pass

    # -- the main thread -----------------------------------------------------------

    def run(self) -> None:
        """Serve until shutdown; jobs run on the calling thread."""
        service = self.service
        service.queue.on_put = self.wake
        self.server.park = self.park  # connection threads park with us from now on
        self._standby.start()
        try:
            while not service.should_exit.is_set():
                with self._lock:
                    ready = self._wait()
                self._busy_since = time.monotonic()
                try:
                    for parked in ready:
                        self._serve_guarded(parked)
                    while service.step(0):
                        pass
                except JobInterrupt:  # an interrupt that arrived after its job ended
                    pass
                finally:
                    self._busy_since = 0.0
        finally:
            self._stopping.set()
            self.server.park = None
            service.queue.on_put = None
            self._standby.join()
            self._hand_back_all()

    def _wait(self) -> list[Parked]:
        """Block until a parked connection is readable, a job is queued or the loop is
        woken; returns the connections that brought a whole inline request (taken out
        of _parked while they are served, but still registered)."""
        self._adopt()
        if len(self.service.queue) or self.service.should_exit.is_set():
            return []
        events = self._selector.select(self._next_deadline())
        inline: list[Parked] = []
        for key, _ in events:
            if key.fileobj is self._wake_r:
                self._drain_wake()
                continue
            parked = self._parked[key.fd]
            state = read_some(parked)
            self.server.active(parked.sock)  # it brought bytes, or ended
            if state == WAITING and parked.partial_since is not None:
                self._note_deadline(parked)
            if state == WAITING:
                continue
            del self._parked[key.fd]
            if state == INLINE_READY:
                inline.append(parked)
                continue
            # Out of the selector before anyone else may read from it (or close it).
            self._selector.unregister(parked.sock)
            if state == CLOSED:
                self.server.close_request(parked.sock)
            else:
                self._to_thread(parked)
        self._expire()
        return inline

    def _serve_guarded(self, parked: Parked) -> None:
        # A bug while answering one connection costs that connection, not the server.
        try:
            self._serve(parked)
        except JobInterrupt:
            raise
        except Exception:
            log.exception("blender-http: error serving a connection on the main thread")
            try:
                self._selector.unregister(parked.sock)
            except (KeyError, ValueError):  # _serve had let go of it already
                pass
            self.server.close_request(parked.sock)

    def _serve(self, parked: Parked) -> None:
        head, parked.head = parked.head, None
        assert head is not None
        keep, unsent = self.server.serve_inline(parked.sock, parked.address, parked.reader, head)
        self.served_inline += 1
        if not keep and not unsent:
            self._selector.unregister(parked.sock)
            self.server.close_request(parked.sock)
        elif unsent or parked.reader.buffer:
            # The peer has not taken the whole answer yet, or a pipelined request follows:
            # a thread sends the rest and goes on with the connection.
            self._selector.unregister(parked.sock)
            self.server.continue_in_thread(parked.sock, parked.address, parked.reader, unsent=unsent,
                                           keep=keep)
        else:
            parked.since = time.monotonic()
            parked.partial_since = None
            self.server.idle(parked.sock)
            self._served.append(parked)

    def _adopt(self) -> None:
        while self._incoming:
            parked = self._incoming.pop()
            self._parked[parked.sock.fileno()] = parked
            self._selector.register(parked.sock, selectors.EVENT_READ)
            self._note_deadline(parked)
        while self._served:
            parked = self._served.pop()
            self._parked[parked.sock.fileno()] = parked
            self._note_deadline(parked)

    def _note_deadline(self, parked: Parked) -> None:
        self._check_at = min(self._check_at, parked.deadline(self.service.config.idle_timeout))

    def _to_thread(self, parked: Parked) -> None:
        if parked.partial_since is not None:  # the head's deadline runs from its first byte
            parked.reader.deadline = parked.partial_since + self.service.config.request_timeout
        self.server.continue_in_thread(parked.sock, parked.address, parked.reader)

    def _next_deadline(self) -> float | None:
        if not self._parked:
            return None
        return max(0.0, self._check_at - time.monotonic())

    def _expire(self) -> None:
        """Close idle connections; give requests that come in pieces to a thread, which
        waits for the rest (408 once the request timeout has passed)."""
        now = time.monotonic()
        if now < self._check_at:
            return
        self._check_at = math.inf
        for parked in list(self._parked.values()):
            deadline = parked.deadline(self.service.config.idle_timeout)
            if deadline > now:
                self._check_at = min(self._check_at, deadline)
                continue
            self._selector.unregister(parked.sock)
            del self._parked[parked.sock.fileno()]
            if parked.partial_since is None:
                self.server.close_request(parked.sock)
            else:
                self._to_thread(parked)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _hand_back_all(self) -> None:
        # Threads answer these connections (503 while stopping) until the server closes them.
        with self._lock:
            self._release_parked()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the standby thread --------------------------------------------------------

    def _standby_loop(self) -> None:
        while not self._stopping.wait(STANDBY_AFTER_S):
            since = self._busy_since
            if not since or time.monotonic() - since < STANDBY_AFTER_S:
                continue
            if not self._lock.acquire(blocking=False):
                continue
            try:
                self._release_parked()
            finally:
                self._lock.release()

    def _release_parked(self) -> None:
        """The main thread is busy: every parked connection goes back to a thread."""
        self._adopt()
        for parked in self._parked.values():
            self._selector.unregister(parked.sock)
            self._to_thread(parked)
        self._parked.clear()
