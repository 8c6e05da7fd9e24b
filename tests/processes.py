"""Processes a test started, found by a marker in their environment (children inherit it,
so a grandchild reparented after its parent died is found too)."""

from __future__ import annotations

import os
import signal
import time

import psutil

MARKER = "BLENDER_HTTP_TEST_RUN"
# How long processes asked to stop may take to end: a Blender ends in seconds, a Ray
# cluster's raylets and actors take longer.
GONE_WITHIN_S = 90.0


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


def wait_gone(pids: list[int], within: float = GONE_WITHIN_S) -> list[int]:
    """Those of pids still running after waiting up to `within` seconds for them to end."""
    deadline = time.monotonic() + within
    while (left := [pid for pid in pids if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def outlived(marker: str, within: float) -> list[str]:
    """The processes carrying marker (this one aside) still running after `within` seconds,
    each as its pid and command line, killed."""
    named = []
    for pid in wait_gone([pid for pid in marked(marker) if pid != os.getpid()], within):
        try:
            named.append(f"{pid} {' '.join(psutil.Process(pid).cmdline())[:200]}")
            os.kill(pid, signal.SIGKILL)
        except (psutil.Error, ProcessLookupError):
            continue
    return named
