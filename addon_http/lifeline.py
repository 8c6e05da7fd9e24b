"""The parent's lifeline. A launcher that starts the server as its child (`mcp --spawn`,
the gateway's `--spawn` workers) gives it a pipe as stdin, never writes to it, and sets
BLENDER_HTTP_EXIT_WITH_STDIN=1. The pipe ends when the launcher does, however it ends (a
kill included, on every platform), and then the server stops: the running job is cancelled,
the queued ones refused, and the process exits. No Blender outlives the process that
started it, whatever moment that process goes."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from .descriptors import dup_above_stdio

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger("blender_http")

# After the parent is gone: how long the running job has to end once cancelled (a long C
# call cannot be interrupted) before the process exits anyway.
GRACE_S = 10.0
EXIT_STATUS = 3


def watch(service: Service) -> threading.Thread:
    """Start watching stdin (a copy of fd 0: user code may close fd 0 itself)."""
    fd = dup_above_stdio(0)
    thread = threading.Thread(target=_wait_for_end, args=(service, fd), name="blender-http-lifeline",
                              daemon=True)
    thread.start()
    return thread


def _wait_for_end(service: Service, fd: int) -> None:
    try:
        while os.read(fd, 4096):  # the parent never writes: anything read is ignored
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    if service.stopped.is_set():
        return
    log.info("blender-http: the process that started this server is gone; stopping")
    running = service.executor.running_job
    if running is not None:
        service.cancel(running)
    service.shutdown()
    if not service.stopped.wait(GRACE_S):
        log.warning("blender-http: the running job did not end within %g s; exiting", GRACE_S)
        os._exit(EXIT_STATUS)
