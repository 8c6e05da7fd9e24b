"""Copies of file descriptors numbered above 0-2 (stdin, stdout, stderr), on every platform.

POSIX has fcntl(F_DUPFD_CLOEXEC, 3); Windows has no fcntl, so there os.dup (whose copies
are never inherited there) is repeated until a copy lands above 2."""

from __future__ import annotations

import os
import sys

if sys.platform != "win32":
    import fcntl


def dup_above_stdio(fd: int) -> int:
    """A copy of fd numbered above 2, not inherited by child processes."""
    if sys.platform != "win32":
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    low: list[int] = []
    try:
        copy = os.dup(fd)
        while copy <= 2:  # 0-2 were closed: dup takes the lowest free number
            low.append(copy)
            copy = os.dup(fd)
        return copy
    finally:
        for extra in low:
            os.close(extra)
