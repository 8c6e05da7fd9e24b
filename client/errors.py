"""Every failure the client raises, and the one place lower-level failures become them.

    BlenderError                      anything this library raises
    ├── TransportError                no usable answer came back
    │   ├── ConnectError              cannot reach the server (refused, DNS, TLS): nothing was sent
    │   ├── ConnectionLost            the connection broke after the request went out: it may have run
    │   └── RequestTimeout            the server did not answer within the client's timeout
    ├── StatusError                   the server answered an error status ({"ok": false, "error": ...})
    │   ├── BadRequest                400, 405, 408, 411, 413, 414, 415, 431: the request itself is wrong
    │   ├── AuthError                 401, 403: token missing or wrong, Host/Origin refused
    │   ├── NotFound                  404: no such job, session, file, object or route
    │   ├── Conflict                  409 (not an exec envelope): e.g. cancelling a finished job
    │   ├── Unavailable               503: queue full or shutting down (see .retry_after)
    │   └── ServerError               500, 501, 502 and other 5xx: the server or an upstream failed
    ├── ExecError                     the code ran (or tried to) and failed: type, message, line, ...
    │   ├── ExecTimeout               504: it ran past its timeout and was interrupted
    │   └── ExecCancelled             it was cancelled (DELETE /jobs/{id}) or dropped at shutdown
    └── JobNotFinished                Job.result(timeout=...) gave up waiting; the job still runs
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx

__all__ = [
    "AuthError",
    "BadRequest",
    "BlenderError",
    "Conflict",
    "ConnectError",
    "ConnectionLost",
    "ExecCancelled",
    "ExecError",
    "ExecTimeout",
    "JobNotFinished",
    "NotFound",
    "RequestTimeout",
    "ServerError",
    "StatusError",
    "TransportError",
    "Unavailable",
]


class BlenderError(Exception):
    """Base class of every error this library raises."""


class TransportError(BlenderError):
    """No usable HTTP answer came back."""


class ConnectError(TransportError):
    """The server could not be reached: nothing was sent, so trying again is safe."""


class ConnectionLost(TransportError):
    """The connection broke after the request was (at least partly) sent: the server may have
    acted on it (the code may have run), so it must not be retried blindly."""


class RequestTimeout(TransportError):
    """The server did not answer within the client's timeout."""


class StatusError(BlenderError):
    """The server answered an error status with the one error shape."""

    def __init__(self, status: int, type: str, message: str, *, body: Any = None,
                 headers: httpx.Headers | None = None) -> None:
        super().__init__(f"{status} {type}: {message}")
        self.status = status
        self.type = type
        self.message = message
        # The whole decoded answer: extra fields (e.g. "close_matches") live here.
        self.body = body
        self.headers = headers if headers is not None else httpx.Headers()


class BadRequest(StatusError):
    """The request was malformed, too large or of the wrong kind."""


class AuthError(StatusError):
    """The token is missing or wrong, or the Host/Origin was refused."""


class NotFound(StatusError):
    """No such job, session, file, object or route."""


class Conflict(StatusError):
    """The request conflicts with the resource's state (e.g. the job already finished)."""


class Unavailable(StatusError):
    """The queue is full or the server is shutting down; try again after retry_after seconds."""

    @property
    def retry_after(self) -> float | None:
        try:
            return float(self.headers.get("Retry-After", ""))
        except ValueError:
            return None


class ServerError(StatusError):
    """The server, or the Blender behind a gateway, failed."""


class ExecError(BlenderError):
    """The code raised, did not compile, timed out or was cancelled."""

    def __init__(self, envelope: dict[str, Any], status: int | None = None) -> None:
        error = envelope.get("error") or {}
        self.envelope = envelope
        self.status = status
        self.type: str = str(error.get("type", "Error"))
        self.message: str = str(error.get("message", ""))
        self.line: int | None = error.get("line")
        self.traceback: str | None = error.get("traceback")
        self.stdout: str = envelope.get("stdout") or ""
        self.stderr: str = envelope.get("stderr") or ""
        self.job: str | None = envelope.get("job")
        where = f" (line {self.line})" if self.line is not None else ""
        super().__init__(f"{self.type}{where}: {self.message}")


class ExecTimeout(ExecError):
    """The code ran past its timeout and was interrupted."""


class ExecCancelled(ExecError):
    """The job was cancelled, or dropped because the server shut down."""


class JobNotFinished(BlenderError):
    """Waiting for a job's result gave up before the job finished."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is still {status}")
        self.job = job_id
        self.status = status


_STATUS_CLASSES: dict[int, type[StatusError]] = {
    401: AuthError, 403: AuthError, 404: NotFound, 409: Conflict, 503: Unavailable,
}


def exec_error(envelope: dict[str, Any], status: int | None = None) -> ExecError:
    """The ExecError subclass for a failed exec envelope."""
    kind = (envelope.get("error") or {}).get("type")
    if status == 504 or kind == "Timeout":
        return ExecTimeout(envelope, status)
    if kind in ("Cancelled", "Unavailable"):
        return ExecCancelled(envelope, status)
    return ExecError(envelope, status)


def failure_text(exc: ExecError) -> str:
    """A failed run's traceback, ending with the error's type and message (added when a
    server's traceback does not end with them): what the CLI and a notebook print."""
    summary = f"{exc.type}: {exc.message}"
    traceback = (exc.traceback or "").rstrip("\n")
    if not traceback:
        return summary
    return traceback if traceback.endswith(summary) else f"{traceback}\n{summary}"


def error_from_response(response: httpx.Response) -> BlenderError:
    """The exception for an error answer whose body has been read."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if _is_exec_envelope(body):
        return exec_error(body, response.status_code)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        kind, message = str(error.get("type", "Error")), str(error.get("message", ""))
    else:
        kind = response.reason_phrase.replace(" ", "") or "Error"
        message = response.text[:500] if body is None else json.dumps(body)[:500]
    return status_error_class(response.status_code)(response.status_code, kind, message, body=body,
                                                    headers=response.headers)


def status_error_class(status: int) -> type[StatusError]:
    """The StatusError subclass for an HTTP status."""
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    return ServerError if status >= 500 else BadRequest


def _is_exec_envelope(body: Any) -> bool:
    # An exec envelope names its job; the plain error shape does not.
    return isinstance(body, dict) and body.get("ok") is False and "job" in body and "error" in body


# What a newcomer who sees "cannot reach" needs next.
START_HINT = (". Start one with `blender-http serve` (Blender as a Python module) or `blender-http start "
              "--background`, or give the server's URL (--url, url=, BLENDER_HTTP_URL)")


@contextlib.contextmanager
def translating(url: str) -> Iterator[None]:
    """Turn httpx's transport failures into this library's exceptions (both twins use it).
    The line that matters to a caller: ConnectError when nothing was sent (safe to retry),
    ConnectionLost when the request went out and the answer never came (it may have run)."""
    try:
        yield
    except httpx.ConnectTimeout as exc:
        raise ConnectError(f"cannot reach Blender at {url}: connection timed out{START_HINT}") from exc
    except httpx.TimeoutException as exc:
        raise RequestTimeout(f"{url}: no answer in time ({type(exc).__name__})") from exc
    except (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol) as exc:
        raise ConnectError(f"cannot reach Blender at {url}: {exc}{START_HINT}") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        # A WriteError counts too: the part of the request that went out may have been enough.
        raise ConnectionLost(f"the connection to Blender was lost after the request was sent; the "
                             f"code may have run, so do not retry it blindly ({url}: "
                             f"{str(exc) or type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransportError(f"{url}: {exc}") from exc
