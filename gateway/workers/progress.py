"""Whether a worker process makes progress, told from outside it: the kernel's count of the
CPU time it used and its scheduling state (Linux /proc).

A worker that leaves /health unanswered is either working or hung. A long C call that holds
Python's lock (`foreach_set` on a huge array, the JSON of a huge result) keeps the process
on the CPU, so its CPU time advances; a process that is stopped (SIGSTOP, state T), or
deadlocked, or blocked with the lock held, uses none. Neither can fake the other: the count
is the kernel's, read without the worker's help."""

from __future__ import annotations

import dataclasses
import os
import sys

# Scheduling states (proc(5)) of a process that cannot run: stopped by a signal, stopped by
# a tracer, a zombie, dead.
NOT_RUNNING = frozenset("TtZX")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclasses.dataclass(frozen=True)
class Sample:
    state: str
    # User + system CPU seconds the process has used, all its threads.
    cpu: float

    @property
    def runnable(self) -> bool:
        return self.state not in NOT_RUNNING


def sample(pid: int) -> Sample | None:
    """The process's state and CPU time now; None where /proc cannot tell (not Linux, gone)."""
    text = _stat(pid)
    if text is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields follow its last ')'.
    fields = text[text.rindex(b")") + 2:].split()
    return Sample(state=fields[0].decode(), cpu=(int(fields[11]) + int(fields[12])) / CLOCK_TICKS)


@dataclasses.dataclass
class Stall:
    """Since when a silent process has used no CPU time: reset by each CPU tick it uses."""

    cpu: float | None = None
    since: float | None = None

    def seconds(self, now: float, current: Sample) -> float:
        """How long the process has made no progress, as of now."""
        if not current.runnable:
            # A stopped process keeps its last CPU count: its stall began at the last change.
            if self.since is None:
                self.since = now
            self.cpu = current.cpu
            return now - self.since
        if self.cpu is None or current.cpu != self.cpu:
            self.cpu, self.since = current.cpu, now
        assert self.since is not None
        return now - self.since

    def reset(self) -> None:
        self.cpu = self.since = None


def _stat(pid: int) -> bytes | None:
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                return stat.read()
        except OSError:
            pass
    return None
