"""Named namespaces that keep their variables from one request to the next.

Bounded: at most max_sessions at once (a new one past that is refused, never made room
for by dropping another's variables), and one unused for ttl seconds is forgotten."""

from __future__ import annotations

import builtins
import threading
import time
from typing import Any


class SessionsFull(Exception):
    """A new session was asked for while max_sessions exist."""


class Session:
    def __init__(self, name: str) -> None:
        self.name = name
        self.created_at = time.time()
        self.last_used = self.created_at
        self.runs = 0
        # Jobs running in it now: a session in use is never expired.
        self.active = 0
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}

    def view(self) -> dict[str, Any]:
        names = [k for k in self.namespace if not k.startswith("__")]
        return {"name": self.name, "created_at": self.created_at, "last_used": self.last_used,
                "runs": self.runs, "variables": len(names)}


class SessionStore:
    """Sessions by name; created on first use, dropped by DELETE /sessions/{name} or
    after ttl seconds unused."""

    def __init__(self, max_sessions: int = 1000, ttl: float = 24 * 3600.0) -> None:
        self.max_sessions = max_sessions
        self.ttl = ttl
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def reserve(self, name: str) -> None:
        """Make sure the session exists before a job for it is queued (any thread), so a
        full store refuses the request instead of failing the job; SessionsFull if it
        would be one too many."""
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                self._expire()
                if len(self._sessions) >= self.max_sessions:
                    raise SessionsFull(
                        f"{len(self._sessions)} sessions exist, the most this server keeps "
                        "(BLENDER_HTTP_MAX_SESSIONS); delete one with DELETE /sessions/{name}, "
                        f"or wait until one has gone unused for {self.ttl:g} s")
                session = self._sessions[name] = Session(name)
            session.last_used = time.time()

    def namespace(self, name: str) -> dict[str, Any]:
        """The session's globals, creating the session on first use (main thread only).
        A session reserved, then deleted before its job ran, comes back empty."""
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                session = self._sessions[name] = Session(name)
        session.runs += 1
        session.active += 1
        session.last_used = time.time()
        return session.namespace

    def release(self, name: str) -> None:
        """A job in the session ended (main thread): its idle time starts now."""
        session = self._sessions.get(name)
        if session is not None:
            session.active = max(0, session.active - 1)
            session.last_used = time.time()

    def page(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """(views of up to limit sessions from offset, by name; how many there are)."""
        with self._lock:
            self._expire()
            names = sorted(self._sessions)
            sessions = [self._sessions[n] for n in names[offset:offset + limit]]
        return [s.view() for s in sessions], len(names)

    def delete(self, name: str) -> bool:
        """Forget a session; a job running in it keeps its namespace until it ends."""
        with self._lock:
            return self._sessions.pop(name, None) is not None

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self) -> None:
        # Under the lock, when a session is created or the list read (not on every job):
        # at most max_sessions to look at.
        cutoff = time.time() - self.ttl
        for name in [n for n, s in self._sessions.items() if not s.active and s.last_used < cutoff]:
            del self._sessions[name]
