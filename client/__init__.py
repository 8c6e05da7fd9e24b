"""blender-http: run Python inside a live Blender from anything that speaks HTTP.

    from blender_http import Blender

    with Blender() as blender:                 # $BLENDER_HTTP_URL or http://127.0.0.1:7777
        print(blender.exec("len(D.objects)").result)
"""

import importlib as _importlib
import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._async.client import AsyncBlender
    from ._async.handles import AsyncJob, AsyncSession
    from ._sync.client import Blender
    from ._sync.handles import Job, Session
    from .batching import ItemResult
    from .envelope import ExecResult
    from .errors import (
        AuthError,
        BadRequest,
        BlenderError,
        Conflict,
        ConnectError,
        ConnectionLost,
        ExecCancelled,
        ExecError,
        ExecTimeout,
        JobNotFinished,
        NotFound,
        RequestTimeout,
        ServerError,
        StatusError,
        TransportError,
        Unavailable,
    )
    from .jobs import JobEvent, JobInfo

# Where each public name lives. Loaded on first use, so that the CLI's server commands
# (serve, start, stop) do not wait for httpx to import.
_HOMES = {
    "AsyncBlender": "_async.client", "AsyncJob": "_async.handles", "AsyncSession": "_async.handles",
    "Blender": "_sync.client", "Job": "_sync.handles", "Session": "_sync.handles",
    "ExecResult": "envelope", "JobEvent": "jobs", "JobInfo": "jobs", "ItemResult": "batching",
}


def load_ipython_extension(ipython: _typing.Any) -> None:
    """`%load_ext blender_http` in IPython or Jupyter: the %%blender cell magic, images inline."""
    from .ext.notebook import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> _typing.Any:
    if name in _HOMES:
        module = _HOMES[name]
    elif name in __all__ and name != "__version__":
        module = "errors"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AsyncBlender",
    "AsyncJob",
    "AsyncSession",
    "AuthError",
    "BadRequest",
    "Blender",
    "BlenderError",
    "Conflict",
    "ConnectError",
    "ConnectionLost",
    "ExecCancelled",
    "ExecError",
    "ExecResult",
    "ExecTimeout",
    "ItemResult",
    "Job",
    "JobEvent",
    "JobInfo",
    "JobNotFinished",
    "NotFound",
    "RequestTimeout",
    "ServerError",
    "Session",
    "StatusError",
    "TransportError",
    "Unavailable",
    "__version__",
    "load_ipython_extension",
]
