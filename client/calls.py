"""Each API call as an httpx.Request, and each answer read into a result: everything the
sync and async clients share. The twins only send the requests."""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from ._version import __version__
from .envelope import ExecResult
from .errors import BlenderError, error_from_response
from .form import exec_content
from .jobs import JobInfo

# How long past a job's own timeout the client keeps waiting for the server's answer: the
# server answers 504 at most a couple of seconds after the deadline (the interrupt grace).
EXEC_HEADROOM_S = 10.0
DEFAULT_TIMEOUT: httpx.Timeout = httpx.Timeout(30.0, connect=5.0)
OCTET = "application/octet-stream"
# Bytes per read when streaming files in and out: never a whole file in memory.
CHUNK_BYTES = 256 * 1024

# The server sends a keep-alive comment every 15 s on an event stream: a stream silent for
# much longer than that has lost its server.
EVENT_STREAM_IDLE_S = 60.0
# How many times an event stream cut off before "done" is reopened.
STREAM_RESUMES = 3

FileSource = str | os.PathLike[str] | bytes


class _Read(enum.Enum):
    CLIENT_TIMEOUT = "the client's own read timeout"


CLIENT_TIMEOUT = _Read.CLIENT_TIMEOUT


class Calls:
    """Builds the requests of every API call on one httpx client (sync or async)."""

    def __init__(self, http: httpx.Client | httpx.AsyncClient, timeout: httpx.Timeout) -> None:
        self._http = http
        self.timeout = timeout

    def _build(self, method: str, path: str, *, read_timeout: float | _Read | None = CLIENT_TIMEOUT,
               **kwargs: Any) -> httpx.Request:
        # read_timeout=None: wait as long as Blender's work takes (it has no deadline of its own).
        timeout = self.timeout if read_timeout is CLIENT_TIMEOUT else self.with_read(read_timeout)
        return self._http.build_request(method, path, timeout=timeout, **kwargs)

    def with_read(self, read: float | None) -> httpx.Timeout:
        """The client's timeouts with another read timeout. A call without a read deadline has
        none for a pooled connection either: a fan-out of long calls queues for connections."""
        t = self.timeout
        return httpx.Timeout(connect=t.connect, read=read, write=t.write,
                             pool=t.pool if read is not None else None)

    # -- exec and jobs -------------------------------------------------------------------------

    def exec(self, code: str, args: dict[str, Any] | None, session: str | None,
             timeout: float | None) -> httpx.Request:
        read = None if timeout is None else timeout + EXEC_HEADROOM_S
        return self._build("POST", "/exec", **exec_content(code, args, session, timeout),
                           read_timeout=read)

    def exec_array(self, code: str, args: dict[str, Any] | None, session: str | None,
                   timeout: float | None) -> httpx.Request:
        request = self.exec(code, args, session, timeout)
        request.headers["Accept"] = OCTET
        return request

    def submit(self, code: str, args: dict[str, Any] | None, session: str | None,
               timeout: float | None) -> httpx.Request:
        return self._build("POST", "/jobs", **exec_content(code, args, session, timeout))

    def job(self, job_id: str, wait: float = 0.0) -> httpx.Request:
        if not wait:
            return self._build("GET", f"/jobs/{quote(job_id, safe='')}")
        return self._build("GET", f"/jobs/{quote(job_id, safe='')}", params={"wait": f"{wait:g}"},
                           read_timeout=wait + EXEC_HEADROOM_S)

    def cancel(self, job_id: str) -> httpx.Request:
        return self._build("DELETE", f"/jobs/{quote(job_id, safe='')}")

    def jobs(self, limit: int | None, status: str | None) -> httpx.Request:
        params = {k: str(v) for k, v in {"limit": limit, "status": status}.items() if v is not None}
        return self._build("GET", "/jobs", params=params)

    def events(self, job_id: str, last_event_id: str | None) -> httpx.Request:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        return self._build("GET", f"/jobs/{quote(job_id, safe='')}/events", headers=headers,
                           read_timeout=EVENT_STREAM_IDLE_S)

    # -- sessions, files, health ---------------------------------------------------------------

    def health(self) -> httpx.Request:
        return self._build("GET", "/health")

    def sessions(self) -> httpx.Request:
        return self._build("GET", "/sessions")

    def delete_session(self, name: str) -> httpx.Request:
        return self._build("DELETE", f"/sessions/{quote(name, safe='')}")

    def files(self, after: str | None = None) -> httpx.Request:
        """A page of the work folder's listing, from the start or after the `next` of the
        page before."""
        return self._build("GET", "/files", params={"after": after} if after else None)

    def upload(self, remote_path: str, content: Any, size: int | None) -> httpx.Request:
        headers = {"Content-Type": OCTET}
        if size is not None:
            headers["Content-Length"] = str(size)
        return self._build("PUT", file_url(remote_path), content=content, headers=headers,
                           read_timeout=None)

    def download(self, remote_path: str) -> httpx.Request:
        return self._build("GET", file_url(remote_path))

    def delete_file(self, remote_path: str) -> httpx.Request:
        return self._build("DELETE", file_url(remote_path))

    # -- scene and render ----------------------------------------------------------------------

    def scene(self, limit: int | None, offset: int | None, type: str | None) -> httpx.Request:
        params = {k: str(v) for k, v in {"limit": limit, "offset": offset, "type": type}.items()
                  if v is not None}
        return self._build("GET", "/scene", params=params)

    def object(self, name: str) -> httpx.Request:
        return self._build("GET", f"/objects/{quote(name, safe='')}")

    def mesh_vertices(self, name: str, space: str) -> httpx.Request:
        return self._build("GET", f"/objects/{quote(name, safe='')}/vertices", params={"space": space},
                           headers={"Accept": OCTET})

    def render(self, options: dict[str, Any], respond_async: bool = False) -> httpx.Request:
        body = {k: v for k, v in options.items() if v is not None}
        headers = {"Prefer": "respond-async"} if respond_async else {"Accept": "image/png"}
        # A render takes as long as it takes; a job is answered at once.
        return self._build("POST", "/render", json=body, headers=headers,
                           read_timeout=CLIENT_TIMEOUT if respond_async else None)

    def screenshot(self, width: int | None, height: int | None) -> httpx.Request:
        params = {k: str(v) for k, v in {"width": width, "height": height}.items() if v is not None}
        return self._build("GET", "/screenshot", params=params, read_timeout=None)

    def export(self, format: str, objects: Sequence[str] | None) -> httpx.Request:
        params = {"format": format}
        if objects:
            params["objects"] = ",".join(objects)
        return self._build("POST", "/export", params=params, read_timeout=None)

    def import_file(self, content: Any, size: int | None, format: str | None,
                    filename: str | None) -> httpx.Request:
        params = {k: v for k, v in {"format": format, "filename": filename}.items() if v is not None}
        headers = {"Content-Type": OCTET}
        if size is not None:
            headers["Content-Length"] = str(size)
        return self._build("POST", "/import", params=params, content=content, headers=headers,
                           read_timeout=None)


def file_url(remote_path: str) -> str:
    """The URL path of a file in the server's work folder."""
    return "/files/" + quote(remote_path.lstrip("/"), safe="/")


def auth_headers(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": f"blender-http/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def import_name(source: FileSource, filename: str | None) -> str | None:
    """The filename to send with an import: given, else the local file's name."""
    if filename is not None or isinstance(source, bytes):
        return filename
    return Path(source).name


def size_of(handle: IO[bytes]) -> int | None:
    """The bytes left to read in a regular file, sent as Content-Length; None (sent chunked)
    for a pipe, a socket or an in-memory stream, whose length is unknown until read."""
    try:
        info = os.fstat(handle.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size - handle.tell()


# -- answers ------------------------------------------------------------------------------------

def check(response: httpx.Response) -> httpx.Response:
    """The response itself when it succeeded; its exception otherwise (the body must be read)."""
    if response.is_error:
        raise error_from_response(response)
    return response


def read_exec(response: httpx.Response) -> ExecResult:
    return ExecResult.from_envelope(_json(check(response)))


def read_job(response: httpx.Response) -> JobInfo:
    return JobInfo.from_view(_json(check(response)))


def read_jobs(response: httpx.Response) -> list[JobInfo]:
    return [JobInfo.from_view(view) for view in _json(check(response)).get("jobs", [])]


def read_json(response: httpx.Response) -> dict[str, Any]:
    return _json(check(response))


def read_imported(response: httpx.Response) -> list[str]:
    return [str(name) for name in _json(check(response)).get("objects", [])]


def read_object(response: httpx.Response) -> dict[str, Any]:
    body = _json(check(response))
    found = body.get("object")
    return found if isinstance(found, dict) else body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise BlenderError(f"{response.request.url}: the answer is not JSON "
                           f"({response.headers.get('content-type')})") from exc
    if not isinstance(body, dict):
        raise BlenderError(f"{response.request.url}: expected a JSON object, got {type(body).__name__}")
    return body
