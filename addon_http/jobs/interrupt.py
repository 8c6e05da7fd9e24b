"""Stopping running Python code from another thread by raising an exception inside it."""

from __future__ import annotations

import ctypes


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


def raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> bool:
    """Schedule exc_type to be raised in the thread at its next bytecode boundary.

    Pure Python stops within a fraction of a millisecond; a long C call (one big
    operator) runs to its end first. Returns False if no such thread exists."""
    return _set_async_exc(thread_id, exc_type) == 1


def clear_pending(thread_id: int) -> None:
    """Withdraw an exception scheduled by raise_in_thread that has not fired yet."""
    _clear_async_exc(thread_id, None)
