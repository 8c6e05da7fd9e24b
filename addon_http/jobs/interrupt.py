"""Stopping running Python code from another thread by raising an exception inside it.

Two ways in. Everywhere: the exception is scheduled for the thread's next bytecode
(PyThreadState_SetAsyncExc), which stops Python code within a fraction of a millisecond but
waits for a blocking call (time.sleep, a socket read, a subprocess wait) to return first.
On POSIX, for a job on the main thread in module and background mode (where the server owns
the main thread's signals): a signal sent to the main thread makes such a call return early,
and its handler raises the exception there. In a GUI Blender the main thread is Blender's
event loop, and on Windows no signal can be sent to one thread: there a blocking call runs
to its end first, as does one long C operator everywhere.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from types import FrameType


class JobInterrupt(BaseException):
    """Raised inside a running job to stop it; BaseException so `except Exception` in user
    code does not swallow it (the same reason KeyboardInterrupt is one)."""


class JobCancelled(JobInterrupt):
    """DELETE /jobs/{id} stopped the job."""


class JobTimedOut(JobInterrupt):
    """The job ran past its timeout."""


# Two prototypes of one C function: clearing needs a real NULL, which py_object cannot pass.
_set_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
_clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))


# The signal that interrupts the main thread's blocking calls (POSIX only), once installed.
_SIGNAL: signal.Signals | None = getattr(signal, "SIGUSR1", None)
_send_to_thread = getattr(signal, "pthread_kill", None)
_signal_thread: int | None = None
# The exception the signal handler raises; None once raised or withdrawn.
_pending: type[BaseException] | None = None


def interrupt_blocking_calls() -> bool:
    """Called on the main thread by a pump that owns it (module and background mode): from
    now on, interrupts of jobs on this thread also cut short blocking calls. False where that
    cannot be done (Windows, or not the main thread)."""
    global _signal_thread
    if _SIGNAL is None or _send_to_thread is None \
            or threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(_SIGNAL, _on_signal)
    _signal_thread = threading.get_ident()
    return True


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _pending
    exc_type, _pending = _pending, None
    if exc_type is not None:  # else withdrawn: the interrupted call (the pump's wait) goes on
        raise exc_type()


def raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> bool:
    """Have exc_type raised in the thread: at its next bytecode boundary, and on the main
    thread of module and background mode also inside a blocking call. Returns False if no
    such thread exists."""
    global _pending
    if thread_id == _signal_thread and _send_to_thread is not None:
        _pending = exc_type
        _send_to_thread(thread_id, _SIGNAL)
        return True
    return _set_async_exc(thread_id, exc_type) == 1


def clear_pending(thread_id: int) -> None:
    """Withdraw an exception scheduled by raise_in_thread that has not fired yet."""
    global _pending
    if thread_id == _signal_thread:
        _pending = None
        return
    _clear_async_exc(thread_id, None)
