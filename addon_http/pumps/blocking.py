"""The pump of background and module mode: who runs jobs on Blender's main thread there.

The main thread blocks (no polling sleep) until shutdown, on the job queue and on idle
connections (main_loop.py); bpy.app.timers never fire under `blender -b`. The GUI's pump
is timer.py.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from typing import Any

from ..jobs.interrupt import interrupt_blocking_calls
from ..service import Service
from .main_loop import MainLoop

log = logging.getLogger("blender_http")

SWITCH_INTERVAL_S = 0.0005


def run_blocking(service: Service) -> None:
    """Run jobs (and answer requests, see main_loop.py) on this, the main, thread until
    shutdown; then stop the service."""
    if threading.current_thread() is threading.main_thread():
        _install_signal_handlers(service)
        # This pump owns the main thread: a cancel or timeout may cut its blocking calls short.
        interrupt_blocking_calls()
    # While a job computes in Python it holds the GIL; the HTTP threads (/health, cancel)
    # get it back only every switch interval, 5 ms by default, several times per request.
    # This process serves jobs and nothing else, so trade a little throughput of
    # contended threads for answers that come in a few ms.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # Everything loaded so far (Blender's modules and types, the server) lives as long as
    # the process. Frozen, full collections no longer walk it: they took ~30 ms each,
    # every few thousand requests, and about 2 us of every request on average.
    gc.collect()
    gc.freeze()
    try:
        MainLoop(service).run()
    finally:
        service.stop()


def _install_signal_handlers(service: Service) -> None:
    def graceful(signum: int, frame: Any) -> None:
        log.info("signal %s: finishing the running job, then stopping", signum)
        # Not shutdown() itself: it takes locks the interrupted main thread may hold.
        threading.Thread(target=service.shutdown, daemon=True).start()
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT
                      else signal.SIG_DFL)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, graceful)
