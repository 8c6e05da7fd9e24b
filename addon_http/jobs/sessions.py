"""Named namespaces that keep their variables from one request to the next."""

from __future__ import annotations

import builtins
import threading
import time
from typing import Any


class Session:
    def __init__(self, name: str) -> None:
        self.name = name
        self.created_at = time.time()
        self.last_used = self.created_at
        self.runs = 0
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}

    def view(self) -> dict[str, Any]:
        names = [k for k in self.namespace if not k.startswith("__")]
        return {"name": self.name, "created_at": self.created_at, "last_used": self.last_used,
                "runs": self.runs, "variables": len(names)}


class SessionStore:
    """Sessions by name; created on first use, dropped by DELETE /sessions/{name}."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def namespace(self, name: str) -> dict[str, Any]:
        """The session's globals, creating the session on first use (main thread only)."""
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                session = self._sessions[name] = Session(name)
        session.runs += 1
        session.last_used = time.time()
        return session.namespace

    def views(self) -> list[dict[str, Any]]:
        with self._lock:
            sessions = list(self._sessions.values())
        return [s.view() for s in sessions]

    def delete(self, name: str) -> bool:
        """Forget a session; a job running in it keeps its namespace until it ends."""
        with self._lock:
            return self._sessions.pop(name, None) is not None
