"""Processes on this machine, the same on Linux, macOS and Windows: is one alive, end it,
and start a server as a child that cannot outlive its parent.

POSIX ends a process with SIGTERM, then SIGKILL; Windows has no signals to ask with (os.kill
there is TerminateProcess, an immediate end), so both steps are that one call. A process
that should stop cleanly is asked first over HTTP (POST /shutdown) by the callers.

The lifeline: the child gets a pipe as stdin that the parent never writes to, and
BLENDER_HTTP_EXIT_WITH_STDIN=1; when the parent ends, however it ends, the pipe closes and
the server stops (blender_http_addon/lifeline.py). Unlike Linux's PR_SET_PDEATHSIG it works
on every platform and does not depend on which of the parent's threads started the child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

LIFELINE_ENV = {"BLENDER_HTTP_EXIT_WITH_STDIN": "1"}
# Popen options that detach a server from our terminal (its own session, or on Windows its
# own process group): Ctrl-C in the terminal reaches us, and we stop it.
DETACHED: dict[str, Any]
if sys.platform == "win32":
    DETACHED = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
else:
    DETACHED = {"start_new_session": True}
# The write ends of the lifelines of this process's children, by pid: held until the child
# is stopped (release) or this process ends.
_LIFELINES: dict[int, IO[bytes]] = {}

if sys.platform == "win32":
    import ctypes

    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _STILL_ACTIVE = 259

    def alive(pid: int) -> bool:
        """True while pid runs."""
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and \
                code.value == _STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)

    def terminate(pid: int) -> None:
        """End pid (Windows: at once)."""
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)

    kill = terminate
else:
    def alive(pid: int) -> bool:
        """True while pid runs (a zombie counts as gone)."""
        try:
            with open(f"/proc/{pid}/stat") as stat:  # Linux: see zombies as gone
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            if os.path.isdir("/proc/self"):
                return False
        except OSError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def terminate(pid: int) -> None:
        """Ask pid to end (SIGTERM: the server finishes its running job first)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)

    def kill(pid: int) -> None:
        """End pid at once."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_child(command: Sequence[str], *, env: Mapping[str, str], stdout: Any,
                lifeline: bool = True, **options: Any) -> subprocess.Popen[bytes]:
    """Start a server process DETACHED; with lifeline, bound to live no longer than this
    process."""
    options = {**DETACHED, **options}
    proc = subprocess.Popen(list(command), stdin=subprocess.PIPE if lifeline else subprocess.DEVNULL,
                            stdout=stdout, stderr=subprocess.STDOUT,
                            env={**env, **(LIFELINE_ENV if lifeline else {})}, **options)
    if lifeline:
        assert proc.stdin is not None
        _LIFELINES[proc.pid] = proc.stdin
    return proc


def release(pid: int) -> None:
    """Close a stopped child's lifeline (the pipe would stay open for nothing)."""
    pipe = _LIFELINES.pop(pid, None)
    if pipe is not None:
        with contextlib.suppress(OSError):
            pipe.close()
