"""Choosing the worker a request goes to: the least busy, or the one that owns its session,
job, pin (X-Blender-Backend) or Idempotency-Key.

Sessions use rendezvous (highest-random-weight) hashing of the session name over the
backends' stable keys. Every gateway replica that sees the same backends picks the same
owner with no shared state, and when a backend joins or leaves only the sessions it owned
move. Job ids carry their backend's key (jobids.py), so any replica can route them."""

from __future__ import annotations

import hashlib
import random

from ..errors import GatewayError
from .backends import Backend, BackendPool
from .jobids import JOB_SEPARATOR, decode_key


def least_busy(pool: BackendPool) -> Backend:
    """The healthy backend with the least load (ties broken at random to spread work)."""
    candidates = pool.healthy()
    if len(candidates) < 2:
        if not candidates:
            raise no_backend(pool)
        return candidates[0]
    lowest = min(b.load for b in candidates)
    return random.choice([b for b in candidates if b.load == lowest])


def session_owner(pool: BackendPool, session: str, what: str | None = None) -> Backend:
    """The backend that holds session `session` (healthy or not: a session never moves silently)."""
    backends = pool.all()
    if not backends:
        raise no_backend(pool)
    return _healthy(owner(backends, session), f"the backend that holds {what or f'session {session!r}'}")


def key_owner(pool: BackendPool, key: str) -> Backend:
    """The backend for an Idempotency-Key: the one that ran the key's first request, where a
    repeat finds it. Over the healthy backends only: the jobs of a dead worker are gone with
    it, so a retry of its key runs again elsewhere (the client allowed it by retrying)."""
    candidates = pool.healthy()
    if not candidates:
        raise no_backend(pool)
    return owner(candidates, key)


def owner(candidates: list[Backend], name: str) -> Backend:
    """The backend of candidates (not empty) that a session or key named name hashes to."""
    return max(candidates, key=lambda b: _weight(b.key, name))


def _weight(key: str, session: str) -> int:
    digest = hashlib.blake2b(f"{key}\0{session}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def job_backend(pool: BackendPool, global_id: str) -> tuple[Backend, str]:
    """The backend and local id behind a gateway job id; 404 if it names no known backend."""
    encoded, sep, local = global_id.rpartition(JOB_SEPARATOR)
    backend = pool.get(decode_key(encoded)) if sep and local else None
    if backend is None:
        raise GatewayError(404, f"no job {global_id!r} (unknown id, or its backend is gone)")
    if backend.stopping:
        return backend, local  # it finishes its jobs: their callers may still ask about them
    return _healthy(backend, f"the backend of job {global_id!r}"), local


def pinned(pool: BackendPool, tag: str) -> Backend:
    """The backend an X-Blender-Backend header names; 400 if none by that name."""
    backend = pool.get(decode_key(tag))
    if backend is None:
        raise GatewayError(400, f"X-Blender-Backend {tag!r} names no backend of this gateway")
    return _healthy(backend, "the pinned backend")


def _healthy(backend: Backend, which: str) -> Backend:
    """backend, or 503 when it is down: its jobs and sessions live there and nowhere else."""
    if not backend.healthy:
        raise GatewayError(503, f"{which} ({backend.key}) is not healthy: "
                                f"{backend.last_error or 'starting'}", type="BackendDown",
                           headers={"Retry-After": "2"})
    return backend


def no_backend(pool: BackendPool) -> GatewayError:
    known = pool.all()
    detail = "; ".join(f"{b.key}: {b.last_error or 'starting'}" for b in known) or "none configured"
    return GatewayError(503, f"no healthy backend ({detail})", type="NoBackend",
                        headers={"Retry-After": "2"})
