"""Per-job stdout/stderr: capped buffers, and streams that take writes from one thread only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# Called with (stream name, text) for every accepted chunk; feeds the job's event stream.
ChunkListener = Callable[[str, str], None]


class OutputBuffer:
    """Text written to one stream of one job, kept up to a cap; past it, marked truncated."""

    def __init__(self, name: str, cap_bytes: int, listener: ChunkListener | None = None) -> None:
        self.name = name
        self.cap = cap_bytes
        self.listener = listener
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False

    def write(self, text: str) -> None:
        """Keep text while under the cap; past it, mark truncated."""
        if not text:
            return
        if self._size >= self.cap:  # already full: count cheaply, keep nothing
            self.truncated = True
            return
        size = len(text.encode("utf-8", "surrogatepass"))
        room = self.cap - self._size
        if size > room:
            self.truncated = True
            if room <= 0:
                return
            text = text.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
            size = len(text.encode("utf-8", "surrogatepass"))
        self._parts.append(text)
        self._size += size
        if self.listener is not None:
            self.listener(self.name, text)

    def release(self) -> None:
        """Drop the text kept (the job's answer no longer needs it), keeping the size."""
        self._parts = []

    def getvalue(self) -> str:
        """Everything kept so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""


class ThreadStream:
    """Stands in for sys.stdout/err during a job: writes from the job's thread go to the
    job's buffer, writes from any other thread go on to the stream that was there before,
    so prints from the server's or user-started threads never leak into a job's output.

    A plain class with the text-file methods print() and logging use: an io.TextIOBase
    closes itself, flushing, when collected. The executor keeps one pair and attaches
    them to each job in turn (see Executor.__init__ for why they are never freed)."""

    closed = False
    encoding = "utf-8"
    errors = "strict"
    newlines = None

    def __init__(self, buffer: OutputBuffer | None, fallback: Any, owner: int | None = None) -> None:
        self._buffer = buffer
        self._fallback = fallback
        self._owner = threading.get_ident() if owner is None else owner

    def attach(self, buffer: OutputBuffer, fallback: Any) -> ThreadStream:
        """Send the calling thread's writes to buffer from now on, other threads' to fallback."""
        self._fallback = fallback
        self._buffer = buffer
        self._owner = threading.get_ident()
        return self

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if threading.get_ident() == self._owner and self._buffer is not None:
            self._buffer.write(text)
        elif self._fallback is not None:
            try:
                self._fallback.write(text)
            except Exception:  # a closed or broken console must not fail the thread that printed
                pass
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() != self._owner and self._fallback is not None:
            try:
                self._fallback.flush()
            except Exception:  # as in write()
                pass

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("a job's output stream has no file descriptor")
