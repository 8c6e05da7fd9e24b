"""Idempotency keys: the first job submitted under each key, so that a repeated request
(a client retrying after a lost connection) gets that job instead of running the code again.

Each key also remembers its request's fingerprint (the caller's digest of what the request
asks for): the same key with another request is refused (KeyReused), since answering it
with the first request's job would be a silent wrong answer.

A key lives exactly as long as its job stays in the job store (the same retention): once
the store has dropped the job, the key is forgotten and a new request under it runs anew."""

from __future__ import annotations

import collections
import threading

from .job import Job
from .store import JobStore


class KeyReused(Exception):
    """The key holds a live job submitted for another request."""


class IdempotencyKeys:
    """key -> the first job submitted under it and its request's fingerprint, bounded like
    the store it follows."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._jobs: collections.OrderedDict[str, tuple[Job, str]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str, job: Job, fingerprint: str) -> Job:
        """The job already holding key, else job, which now holds it (atomically: of two
        requests racing with one key, exactly one gets its own job back). KeyReused when
        the job holding key was submitted with another fingerprint."""
        with self._lock:
            held = self._jobs.get(key)
            if held is not None and self._alive(held[0]):
                if held[1] != fingerprint:
                    raise KeyReused(key)
                return held[0]
            self._jobs[key] = (job, fingerprint)
            self._jobs.move_to_end(key)
            self._trim()
            return job

    def release(self, key: str, job: Job) -> None:
        """Give key up when job was never accepted (the queue refused it): a retry may run."""
        with self._lock:
            held = self._jobs.get(key)
            if held is not None and held[0] is job:
                del self._jobs[key]

    def __len__(self) -> int:
        return len(self._jobs)

    def _alive(self, job: Job) -> bool:
        # A job not yet in the store was claimed a moment ago and is being queued.
        return not job.finished or self._store.get(job.id) is job

    def _trim(self) -> None:
        # Keys whose job the store dropped are dead; the oldest go first, and at most the
        # store's retention of them stays (a key never outlives its job).
        while len(self._jobs) > self._store.retention:
            oldest_key, (oldest, _) = next(iter(self._jobs.items()))
            if not oldest.finished:
                break
            del self._jobs[oldest_key]
