"""blender-http: run Python inside a live Blender from anything that speaks HTTP.

    from blender_http import Blender

    with Blender() as blender:                 # $BLENDER_HTTP_URL or http://127.0.0.1:7777
        print(blender.exec("len(D.objects)").result)
"""

__version__ = "0.1.0"

from .async_client import AsyncBlender, AsyncJob, AsyncSession
from .envelope import ExecResult
from .errors import (
    AuthError,
    BadRequest,
    BlenderError,
    Conflict,
    ConnectError,
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
from .sync_client import Blender, Job, Session

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
    "ExecCancelled",
    "ExecError",
    "ExecResult",
    "ExecTimeout",
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
]
