"""The recent jobs by id, bounded, for GET /jobs and GET /jobs/{id}."""

from __future__ import annotations

import collections
import itertools
import threading

from .job import Job


class JobStore:
    """The recent jobs by id, oldest finished ones dropped past the retention bound."""

    def __init__(self, retention: int) -> None:
        self.retention = retention
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > self.retention:
                self._evict()

    def _evict(self) -> None:
        # Look at the oldest few only (this runs on every submit); unfinished jobs are
        # never dropped, someone may still wait for them, so the store can briefly
        # hold more than the bound while old jobs run.
        oldest = next(iter(self._jobs.values()))
        if oldest.finished:  # the usual case, in O(1)
            del self._jobs[oldest.id]
            return
        excess = len(self._jobs) - self.retention
        for key, job in list(itertools.islice(self._jobs.items(), excess + 16)):
            if excess <= 0:
                break
            if job.finished:
                del self._jobs[key]
                excess -= 1

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, limit: int, status: str | None = None) -> list[Job]:
        """Newest first."""
        with self._lock:
            jobs = list(reversed(self._jobs.values()))
        if status is not None:
            jobs = [j for j in jobs if j.status == status]
        return jobs[:limit]
