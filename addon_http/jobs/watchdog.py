"""One thread that fires each job's timeout at its deadline."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from .job import Job


class Watchdog:
    def __init__(self, expire: Callable[[Job], None]) -> None:
        self._expire = expire
        self._heap: list[tuple[float, int, Job]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="blender-http-watchdog", daemon=True)
        self._thread.start()

    def add(self, job: Job) -> None:
        assert job.deadline is not None
        with self._cond:
            heapq.heappush(self._heap, (job.deadline, next(self._counter), job))
            self._cond.notify()

    def discard(self, job: Job) -> None:
        """Forget a finished job early so the heap stays small."""
        if job.deadline is None:
            return
        with self._cond:
            self._heap = [entry for entry in self._heap if entry[2] is not job]
            heapq.heapify(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        job = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
                else:
                    return
            if not job.finished:
                self._expire(job)
