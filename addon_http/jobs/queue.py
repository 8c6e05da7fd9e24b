"""Jobs waiting for the main thread: bounded, and a queued job can be taken out again."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from .job import Job


class QueueFull(Exception):
    """More jobs wait than the configured bound."""


class JobQueue:
    """Jobs waiting for the main thread, bounded; a queued job can be taken out again."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: collections.deque[Job | None] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        # Called after every put or wake: how a pump that waits on more than this queue
        # (pumps/main_loop.py) learns of new work.
        self.on_put: Callable[[], None] | None = None

    def __len__(self) -> int:
        if not self._items:  # the common case, asked once per request: no generator
            return 0
        return sum(1 for item in self._items if item is not None)

    def put(self, job: Job) -> None:
        """Enqueue, or raise QueueFull."""
        with self._cond:
            if len(self._items) >= self.maxsize:
                raise QueueFull
            self._items.append(job)
            self._cond.notify()
        if self.on_put is not None:
            self.on_put()

    def wake(self) -> None:
        """Make a blocked get() return None (used to stop the blocking pump)."""
        with self._cond:
            self._items.append(None)
            self._cond.notify()
        if self.on_put is not None:
            self.on_put()

    def get(self, timeout: float | None = None) -> Job | None:
        """The next job, blocking; None when woken or timed out."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: self._items, timeout):
                return None
            return self._items.popleft()

    def get_nowait(self) -> Job | None:
        if not self._items:  # a put racing with this is seen on the next look (on_put wakes)
            return None
        with self._cond:
            return self._items.popleft() if self._items else None

    def remove(self, job: Job) -> bool:
        """Take a job out before it starts; False when it already left the queue."""
        with self._cond:
            try:
                self._items.remove(job)
            except ValueError:
                return False
            return True

    def drain(self) -> list[Job]:
        """Take out every waiting job."""
        with self._cond:
            jobs = [j for j in self._items if j is not None]
            self._items.clear()
            return jobs
