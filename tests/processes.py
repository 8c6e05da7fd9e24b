"""Processes a test started, found by a marker in their environment (children inherit it,
so a grandchild reparented after its parent died is found too)."""

from __future__ import annotations

import psutil

MARKER = "BLENDER_HTTP_TEST_RUN"


def marked(marker: str) -> list[int]:
    """The pids of the running processes (zombies aside) whose environment carries marker."""
    pids = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER) == marker and proc.status() != psutil.STATUS_ZOMBIE:
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return pids
