"""`Blender`: the blocking client. All request building and answer reading lives in calls.py;
this module only sends."""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import httpx
from httpx_sse import EventSource

from . import arrays, calls, settings
from .calls import FileSource
from .envelope import ExecResult
from .errors import JobNotFinished, NotFound, TransportError, translating
from .jobs import LONG_POLL_SLICE_S, JobEvent, JobInfo

if TYPE_CHECKING:
    import numpy


class Blender:
    """A Blender running blender-http (or a gateway in front of many), over httpx.

    >>> with Blender() as blender:            # $BLENDER_HTTP_URL or http://127.0.0.1:7777
    ...     blender.exec("len(D.objects)").result
    3
    """

    def __init__(self, url: str | None = None, *, token: str | None = None,
                 timeout: float | httpx.Timeout = calls.DEFAULT_TIMEOUT, **httpx_options: Any) -> None:
        """url and token default to $BLENDER_HTTP_URL and $BLENDER_HTTP_TOKEN; other keyword
        arguments (verify, transport, proxy, headers, ...) go to httpx.Client."""
        self.url = (url or settings.default_url()).rstrip("/")
        token = token if token is not None else settings.default_token()
        headers = {**calls.auth_headers(token), **dict(httpx_options.pop("headers", None) or {})}
        self._http = httpx.Client(base_url=self.url, headers=headers, **httpx_options)
        self._calls = calls.Calls(self._http, httpx.Timeout(timeout))

    # -- life ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Blender:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Blender({self.url!r})"

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        with translating(self.url):
            response = self._http.send(request, stream=stream)
            if stream and response.is_error:
                try:
                    response.read()
                finally:
                    response.close()
        return calls.check(response)

    # -- exec and jobs -------------------------------------------------------------------------

    def exec(self, code: str, *, args: dict[str, Any] | None = None, session: str | None = None,
             timeout: float | None = None) -> ExecResult:
        """Run code and wait for it; raises ExecError (type, message, line, traceback, stdout)
        if it fails. timeout (seconds) is enforced by the server, which interrupts the code."""
        return calls.read_exec(self._send(self._calls.exec(code, args, session, timeout)))

    def exec_array(self, code: str, *, args: dict[str, Any] | None = None, session: str | None = None,
                   timeout: float | None = None) -> numpy.ndarray:
        """Run code whose result is a numpy array or bytes; get it back raw, as a numpy array."""
        response = self._send(self._calls.exec_array(code, args, session, timeout))
        if not response.headers.get("content-type", "").startswith(calls.OCTET):
            calls.read_exec(response)  # raises if it failed
            raise TypeError("the result is neither a numpy array nor bytes")
        return arrays.from_response(response)

    def submit(self, code: str, *, args: dict[str, Any] | None = None, session: str | None = None,
               timeout: float | None = None) -> Job:
        """Queue code to run and return at once with its Job."""
        info = calls.read_job(self._send(self._calls.submit(code, args, session, timeout)))
        return Job(self, info)

    def job(self, job_id: str) -> Job:
        """A job submitted earlier, by id."""
        return Job(self, self._job_info(job_id))

    def jobs(self, *, limit: int | None = None, status: str | None = None) -> list[JobInfo]:
        """Recent jobs, newest first."""
        return calls.read_jobs(self._send(self._calls.jobs(limit, status)))

    def _job_info(self, job_id: str, wait: float = 0.0) -> JobInfo:
        return calls.read_job(self._send(self._calls.job(job_id, wait)))

    def _cancel(self, job_id: str) -> JobInfo:
        return calls.read_job(self._send(self._calls.cancel(job_id)))

    def _events(self, job_id: str, last_event_id: str | None) -> Iterator[JobEvent]:
        # A stream cut off before "done" resumes after the last event seen (Last-Event-ID).
        resumes = 0
        while True:
            try:
                for event in self._event_stream(job_id, last_event_id):
                    yield event
                    if event.done:
                        return
                    last_event_id = event.id or last_event_id
            except TransportError:
                if resumes >= calls.STREAM_RESUMES:
                    raise
            resumes += 1
            if resumes > calls.STREAM_RESUMES:
                raise TransportError(f"the event stream of job {job_id} keeps ending before the job")

    def _event_stream(self, job_id: str, last_event_id: str | None) -> Iterator[JobEvent]:
        with translating(self.url):
            response = self._send(self._calls.events(job_id, last_event_id), stream=True)
            try:
                for sse in EventSource(response).iter_sse():
                    yield JobEvent.parse(sse.event, sse.data, sse.id)
            finally:
                response.close()

    # -- sessions ------------------------------------------------------------------------------

    def session(self, name: str) -> Session:
        """A named persistent namespace; as a context manager it is deleted on exit."""
        return Session(self, name)

    def sessions(self) -> list[dict[str, Any]]:
        """The server's sessions."""
        return list(calls.read_json(self._send(self._calls.sessions())).get("sessions", []))

    def delete_session(self, name: str) -> None:
        """Forget a session and its variables (NotFound if there is none)."""
        self._send(self._calls.delete_session(name))

    # -- files ---------------------------------------------------------------------------------

    def upload(self, source: FileSource | IO[bytes], remote_path: str) -> dict[str, Any]:
        """Store a local file (a path, bytes or a binary file object) in the server's work
        folder, streamed. Returns {"path", "size"}."""
        if isinstance(source, bytes):
            return calls.read_json(self._send(self._calls.upload(remote_path, source, len(source))))
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as handle:
                return self.upload(handle, remote_path)
        request = self._calls.upload(remote_path, _chunks(source), _size_of(source))
        return calls.read_json(self._send(request))

    def download(self, remote_path: str, destination: str | os.PathLike[str] | IO[bytes]) -> int:
        """Write a file of the work folder to a local path (atomically) or a binary file
        object, streamed. Returns the number of bytes."""
        response = self._send(self._calls.download(remote_path), stream=True)
        try:
            with translating(self.url):
                if isinstance(destination, (str, os.PathLike)):
                    return _stream_to_path(response.iter_bytes(calls.CHUNK_BYTES), Path(destination))
                size = 0
                for block in response.iter_bytes(calls.CHUNK_BYTES):
                    destination.write(block)
                    size += len(block)
                return size
        finally:
            response.close()

    def read_bytes(self, remote_path: str) -> bytes:
        """A (small) file of the work folder, in memory."""
        return self._send(self._calls.download(remote_path)).content

    def files(self) -> list[dict[str, Any]]:
        """Every file in the work folder: {"path", "size", "modified"}."""
        return list(calls.read_json(self._send(self._calls.files())).get("files", []))

    def delete_file(self, remote_path: str) -> None:
        """Remove a file from the work folder."""
        self._send(self._calls.delete_file(remote_path))

    # -- server --------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's /health: status, mode, Blender version, busy, queued, ..."""
        return calls.read_json(self._send(self._calls.health()))

    # -- scene and render ----------------------------------------------------------------------

    def scene(self, *, limit: int | None = None, offset: int | None = None,
              type: str | None = None) -> dict[str, Any]:
        """The scene: frame range, render settings, camera and a page of its objects."""
        return calls.read_json(self._send(self._calls.scene(limit, offset, type)))

    def object(self, name: str) -> dict[str, Any]:
        """One object in detail (NotFound carries close matches in .body)."""
        return calls.read_object(self._send(self._calls.object(name)))

    def mesh_vertices(self, name: str, space: str = "local") -> numpy.ndarray:
        """A mesh's vertex coordinates as a float32 (N, 3) numpy array; space local or world."""
        return arrays.from_response(self._send(self._calls.mesh_vertices(name, space)))

    def render(self, *, engine: str | None = None, width: int | None = None, height: int | None = None,
               samples: int | None = None, camera: str | None = None, frame: int | None = None,
               **options: Any) -> bytes:
        """Render the scene and return the PNG; the scene's settings are left as they were."""
        body = {"engine": engine, "width": width, "height": height, "samples": samples,
                "camera": camera, "frame": frame, **options}
        return self._send(self._calls.render(body)).content

    def submit_render(self, *, engine: str | None = None, width: int | None = None,
                      height: int | None = None, samples: int | None = None, camera: str | None = None,
                      frame: int | None = None, **options: Any) -> Job:
        """Start a render as a job (progress events on its stream); its result names the PNG
        in the work folder: {"path", "width", "height", "size"}."""
        body = {"engine": engine, "width": width, "height": height, "samples": samples,
                "camera": camera, "frame": frame, **options}
        return Job(self, calls.read_job(self._send(self._calls.render(body, respond_async=True))))

    def screenshot(self, *, width: int | None = None, height: int | None = None) -> bytes:
        """The 3D viewport as PNG in a GUI Blender; a quick render elsewhere."""
        return self._send(self._calls.screenshot(width, height)).content

    def export(self, format: str, objects: Sequence[str] | None = None) -> bytes:
        """The scene (or the named objects) as a glb, gltf, obj, fbx, stl or usd file's bytes."""
        return self._send(self._calls.export(format, objects)).content

    def import_file(self, source: FileSource, format: str | None = None,
                    filename: str | None = None) -> list[str]:
        """Import a model (a local path or its bytes); returns the names of the new objects.
        The format comes from format=, else from the file name."""
        name = calls.import_name(source, filename)
        if isinstance(source, bytes):
            request = self._calls.import_file(source, len(source), format, name)
            return calls.read_imported(self._send(request))
        with open(source, "rb") as handle:
            request = self._calls.import_file(_chunks(handle), _size_of(handle), format, name)
            return calls.read_imported(self._send(request))


class Job:
    """A job on the server: wait for it, stream its output, cancel it, get its result."""

    def __init__(self, blender: Blender, info: JobInfo) -> None:
        self._blender = blender
        self.id = info.id
        self.info = info

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.info.status}>"

    @property
    def status(self) -> str:
        """The status last seen (refresh() asks again)."""
        return self.info.status

    def refresh(self) -> JobInfo:
        """Ask the server for the job's state now."""
        self.info = self._blender._job_info(self.id)
        return self.info

    def wait(self, timeout: float | None = None) -> JobInfo:
        """Long-poll until the job finishes or timeout seconds pass; returns its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.info.finished:
            left = LONG_POLL_SLICE_S if deadline is None else deadline - time.monotonic()
            # Always ask at least once: the status last seen may be stale.
            self.info = self._blender._job_info(self.id, wait=max(0.0, min(left, LONG_POLL_SLICE_S)))
            if left <= 0:
                break
        return self.info

    def result(self, timeout: float | None = None) -> ExecResult:
        """Wait, then the ExecResult; raises ExecError if the job failed, JobNotFinished if
        timeout passed first."""
        info = self.wait(timeout)
        if not info.finished:
            raise JobNotFinished(self.id, info.status)
        return info.to_result()

    def cancel(self) -> JobInfo:
        """Drop the job if queued, interrupt it if running."""
        self.info = self._blender._cancel(self.id)
        return self.info

    def stream(self, last_event_id: str | None = None) -> Iterator[JobEvent]:
        """The job's events as they happen: stdout/stderr chunks, progress, then "done"."""
        for event in self._blender._events(self.id, last_event_id):
            if event.done and isinstance(event.data, dict):
                self.info = self.info.finished_with(event.data)
            yield event


class Session:
    """A named persistent namespace on the server; `with` deletes it at the end."""

    def __init__(self, blender: Blender, name: str) -> None:
        self._blender = blender
        self.name = name

    def exec(self, code: str, *, args: dict[str, Any] | None = None,
             timeout: float | None = None) -> ExecResult:
        """Run code in this session's namespace."""
        return self._blender.exec(code, args=args, session=self.name, timeout=timeout)

    def submit(self, code: str, *, args: dict[str, Any] | None = None,
               timeout: float | None = None) -> Job:
        """Queue code to run in this session's namespace."""
        return self._blender.submit(code, args=args, session=self.name, timeout=timeout)

    def delete(self) -> None:
        """Forget the session's variables (nothing happens if it holds none)."""
        try:
            self._blender.delete_session(self.name)
        except NotFound:
            pass

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.delete()


def _size_of(handle: IO[bytes]) -> int | None:
    """The bytes left to read in a regular file; None for pipes and other streams."""
    try:
        info = os.fstat(handle.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size - handle.tell()


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while block := handle.read(calls.CHUNK_BYTES):
        yield block


def _stream_to_path(blocks: Iterator[bytes], path: Path) -> int:
    # Written beside the target and renamed into place: never a half file under its name.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    size = 0
    try:
        with open(tmp, "xb") as out:
            for block in blocks:
                out.write(block)
                size += len(block)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size
