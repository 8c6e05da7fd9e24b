"""The recent jobs by id, bounded in number and in the bytes of their kept results, for
GET /jobs and GET /jobs/{id}."""

from __future__ import annotations

import collections
import itertools
import threading

from .. import json_text
from .job import Job


class JobStore:
    """The recent jobs by id, oldest finished ones dropped past the retention bound; past
    retention_bytes of kept results, the oldest results are dropped (the jobs stay)."""

    def __init__(self, retention: int, retention_bytes: int = 256 * 1024 * 1024) -> None:
        self.retention = retention
        self.retention_bytes = retention_bytes
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        # The size of each kept result, oldest finished first, and their sum.
        self._sizes: collections.OrderedDict[str, tuple[Job, int]] = collections.OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > self.retention:
                self._evict()

    def settle(self, job: Job) -> None:
        """Count a finished job's kept result; drop the oldest results past the bound.
        (A job may finish before add() saw it: it is queued, then stored.)"""
        if not job.keep_result or job.envelope is None:
            return
        size = result_size(job)
        with self._lock:
            self._sizes[job.id] = (job, size)
            self._held += size
            while self._held > self.retention_bytes and self._sizes:
                _, (oldest, held) = self._sizes.popitem(last=False)
                self._held -= held
                oldest.drop_result(
                    f"the result ({held} bytes) was dropped to keep the results of finished "
                    f"jobs under {self.retention_bytes} bytes (BLENDER_HTTP_JOB_RETENTION_BYTES)")

    @property
    def held_bytes(self) -> int:
        return self._held

    def _evict(self) -> None:
        # Look at the oldest few only (this runs on every submit); unfinished jobs are
        # never dropped, someone may still wait for them, so the store can briefly
        # hold more than the bound while old jobs run.
        oldest = next(iter(self._jobs.values()))
        if oldest.finished:  # the usual case, in O(1)
            self._forget(oldest.id)
            return
        excess = len(self._jobs) - self.retention
        for key, job in list(itertools.islice(self._jobs.items(), excess + 16)):
            if excess <= 0:
                break
            if job.finished:
                self._forget(key)
                excess -= 1

    def _forget(self, job_id: str) -> None:
        del self._jobs[job_id]
        self._held -= self._sizes.pop(job_id, (None, 0))[1]

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


def result_size(job: Job) -> int:
    """About how many bytes a finished job's kept answer holds: its envelope as JSON (the
    output and result are most of it) and its binary result."""
    size = json_text.size(job.envelope, default=repr)
    if job.binary is not None:
        size += len(job.binary[0])
    return size
