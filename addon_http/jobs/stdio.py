"""File descriptors 0-2 kept where they pointed when the server started.

User code may close them (`os.close(1)`); the next file or socket opened anywhere in the
process would then take the number, and every print() from any thread would go to it:
to a client's connection, in the middle of its answers. After each job the executor puts
back any that was closed (and the server never leaves a socket on 0-2: it moves one up
and holds the number with /dev/null, see http/server.py, which this puts back too).
On Windows sockets are handles, not C runtime descriptors, so a socket never takes fd 0-2
there; a file opened by user code after os.close(1) can, and this restores it too."""

from __future__ import annotations

import os

from ..descriptors import dup_above_stdio

STDIO = (0, 1, 2)


class StdioGuard:
    """Copies of fds 0-2 as they were (above 2, close-on-exec), to restore from."""

    def __init__(self) -> None:
        self._null = os.stat(os.devnull)
        self._copies: dict[int, int] = {}
        for fd in STDIO:
            try:
                self._copies[fd] = dup_above_stdio(fd)
            except OSError:  # closed when we came: /dev/null stands in
                self._copies[fd] = _devnull()

    def restore(self) -> list[int]:
        """Reopen onto what it was each fd 0-2 that is closed, or that holds the /dev/null
        the server put there in place of a socket; the fds restored."""
        # Runs after every job: one fstat per descriptor and nothing else in the usual case.
        restored = []
        null = self._null
        for fd, copy in self._copies.items():
            try:
                now = os.fstat(fd)
            except OSError:
                now = None
            if now is None or (_same(now, null) and not _same(os.fstat(copy), null)):
                os.dup2(copy, fd, inheritable=True)
                restored.append(fd)
        return restored


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    # (Windows has no st_rdev.)
    return (a.st_dev, a.st_ino, getattr(a, "st_rdev", 0)) == (b.st_dev, b.st_ino, getattr(b, "st_rdev", 0))


def _devnull() -> int:
    fd = os.open(os.devnull, os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0))
    if fd > 2:
        return fd
    moved = dup_above_stdio(fd)
    os.close(fd)
    return moved


_GUARD: StdioGuard | None = None


def guard() -> StdioGuard:
    """The process's one guard, made the first time it is asked for (when the server
    starts, before any job can close a descriptor)."""
    global _GUARD
    if _GUARD is None:
        _GUARD = StdioGuard()
    return _GUARD
