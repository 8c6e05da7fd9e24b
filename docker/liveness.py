#!/usr/bin/env python3
"""A worker's liveness probe that knows a long job from a hung worker: exit 0 (live) or 1.

    blender-http-liveness    # Kubernetes: livenessProbe.exec.command

Live when `/health` answers at all (any status: a worker that is stopping is alive). When it
does not answer in time, a long C call may hold Python's lock (`foreach_set` on a huge
array, the JSON of a huge result; docs/GATEWAY.md has the table), or the worker is hung. The
kernel tells them apart: the server's process (its pid from the ready file the server
writes, `$BLENDER_HTTP_READY_FILE`) keeps using CPU time while it works, and uses none when
it is stopped (SIGSTOP), deadlocked or blocked with the lock held. A refused connection is
not live. Without a ready file silence counts as hung, as an `httpGet` probe would.

A `tcpSocket` probe cannot tell either: the kernel completes the handshake from the listen
backlog even for a stopped process.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

from blender_http_gateway.workers import progress

PORT_VARIABLE, DEFAULT_PORT = "BLENDER_HTTP_PORT", "7777"
READY_FILE_VARIABLE = "BLENDER_HTTP_READY_FILE"
# How long /health may take before the process is looked at instead; well under the probe's
# timeoutSeconds with SAMPLE_S added.
ANSWER_TIMEOUT_S = 2.0
# The window in which a working process must use some CPU time (the kernel counts in 10 ms ticks).
SAMPLE_S = 1.0


def answers(url: str, timeout: float = ANSWER_TIMEOUT_S) -> bool | None:
    """True if url answers (any status), False if refused or reset, None if silent."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:  # 503 while stopping: the interpreter runs
        return True
    except urllib.error.URLError as exc:
        return None if isinstance(exc.reason, (TimeoutError, socket.timeout)) else False
    except TimeoutError:
        return None
    except OSError:
        return False


def server_pid(ready_file: str | None) -> int | None:
    """The server's pid from its ready file, or None."""
    if not ready_file:
        return None
    try:
        with open(ready_file) as text:
            return int(json.load(text)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def working(pid: int, window: float = SAMPLE_S) -> tuple[bool, str]:
    """Whether the process uses CPU time over window (and is not stopped), and why."""
    before = progress.sample(pid)
    if before is None:
        return False, f"no process {pid} to look at"
    if not before.runnable:
        return False, f"process {pid} is not running (state {before.state})"
    time.sleep(window)
    after = progress.sample(pid)
    if after is None or not after.runnable:
        return False, f"process {pid} stopped or ended"
    if after.cpu > before.cpu:
        return True, f"process {pid} is working ({after.cpu - before.cpu:.2f} s of CPU in {window:g} s)"
    return False, f"process {pid} used no CPU time in {window:g} s"


def check(port: str, ready_file: str | None) -> int:
    url = f"http://127.0.0.1:{port}/health"
    answered = answers(url)
    if answered:
        return 0
    if answered is False:
        print(f"not live: {url} refused the connection", file=sys.stderr)
        return 1
    pid = server_pid(ready_file)
    if pid is None:
        print(f"not live: {url} did not answer in {ANSWER_TIMEOUT_S:g} s (no ready file to find "
              f"the process by)", file=sys.stderr)
        return 1
    alive, why = working(pid)
    print(f"{'live' if alive else 'not live'}: {url} did not answer in {ANSWER_TIMEOUT_S:g} s; {why}",
          file=sys.stderr)
    return 0 if alive else 1


def main(argv: list[str]) -> int:
    if argv:
        print("usage: blender-http-liveness (the port and ready file come from "
              f"${PORT_VARIABLE} and ${READY_FILE_VARIABLE})", file=sys.stderr)
        return 2
    return check(os.environ.get(PORT_VARIABLE) or DEFAULT_PORT, os.environ.get(READY_FILE_VARIABLE))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
