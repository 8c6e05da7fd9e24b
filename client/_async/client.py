"""`AsyncBlender`: the client over httpx.AsyncClient. All request building and answer reading
lives in calls.py; this module only sends.

_sync/client.py is generated from _async/client.py by scripts/unasync.py: edit
_async/client.py, then run the script (`--check` fails when the two differ)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import anyio  # unasync: remove
import httpx
from httpx_sse import EventSource

from blender_http_addon.protocol import IDEMPOTENCY_HEADER

from .. import arrays, batching, calls, settings
from ..batching import ItemResult
from ..calls import FileSource
from ..envelope import ExecResult
from ..errors import TransportError, translating
from ..jobs import JobEvent, JobInfo
from . import batch_runner
from .handles import AsyncJob, AsyncSession

if TYPE_CHECKING:
    import numpy


class AsyncBlender:
    """A Blender running blender-http (or a gateway in front of many), over httpx.AsyncClient.

    >>> async with AsyncBlender() as blender:  # $BLENDER_HTTP_URL or http://127.0.0.1:7777
    ...     (await blender.exec("len(D.objects)")).result
    3
    """

    def __init__(self, url: str | None = None, *, token: str | None = None,
                 timeout: float | httpx.Timeout = calls.DEFAULT_TIMEOUT, **httpx_options: Any) -> None:
        """url and token as the CLI picks them (settings.choose): given, else
        $BLENDER_HTTP_URL / $BLENDER_HTTP_TOKEN, else the server `start` or `serve` recorded
        (with its token), else http://127.0.0.1:7777. Other keyword arguments (verify,
        transport, proxy, headers, ...) go to httpx.AsyncClient."""
        chosen, token = settings.choose(url, token)
        self.url = chosen.rstrip("/")
        headers = {**calls.auth_headers(token), **dict(httpx_options.pop("headers", None) or {})}
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, **httpx_options)
        self._calls = calls.Calls(self._http, httpx.Timeout(timeout))

    # -- life ----------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncBlender:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncBlender({self.url!r})"

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        with translating(self.url):
            response = await self._http.send(request, stream=stream)
            if stream and response.is_error:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        return calls.check(response)

    # -- exec and jobs -------------------------------------------------------------------------

    async def exec(self, code: str, *, args: dict[str, Any] | None = None, session: str | None = None,
                   timeout: float | None = None, idempotency_key: str | None = None) -> ExecResult:
        """Run code and wait for it; raises ExecError (type, message, line, traceback, stdout)
        if it fails. timeout (seconds) is enforced by the server, which interrupts the code.
        idempotency_key: a repeat with the same key answers with the first run's result
        (while the server keeps that job) instead of running the code again; the key with
        another request (code, args, session, timeout, or submit()) raises BadRequest (422)."""
        request = _keyed(self._calls.exec(code, args, session, timeout), idempotency_key)
        return calls.read_exec(await self._send(request))

    async def map(self, code: str, items: batching.Items, *, concurrency: int | None = None,
                  retries: int = 0, on_result: batching.OnResult | None = None,
                  ordered: bool = True, timeout: float | None = None,
                  batch_key: str | None = None,
                  indexes: batching.Indexes | None = None,
                  on: str | None = None) -> AsyncIterator[ItemResult]:
        """Run code once per item (a dict item is its `args`, another value is args["item"]),
        up to `concurrency` at a time (default: a quarter of what /health says the server or
        the gateway's workers can queue, re-read every few seconds while the batch runs, so
        workers added meanwhile get items); yields an ItemResult per item, in input order or, with
        ordered=False, as they finish. A failed item never stops the others: its ItemResult
        holds the error. A 503 or a refused connection is sent again (nothing ran); an item
        whose worker died is run again only `retries` times, for code that is safe to repeat.
        Each item carries an Idempotency-Key, so a resend never runs an item twice on a live
        server. on_result is called with each ItemResult as it is yielded. batch_key prefixes
        the items' keys (default: new for each call): the same batch_key over the same items
        answers from the jobs of an earlier run that the server still keeps (with other code
        or another timeout, those items fail with a 422 BadRequest instead). An item's key
        names its index and its args, so an item is only ever answered with its own result.
        indexes numbers the items (default 0, 1, 2…; ItemResult.index and the keys use it):
        a rerun over the items an earlier run left gives their original numbers.
        on="ray://HOST:PORT" (a Ray Client address) or "ray://auto" runs the items on a Ray
        cluster's Blender workers instead of this client's server (the [ray] extra; docs/RAY.md)."""
        pool = None
        capacity = self._capacity
        if on is not None:
            from ..ray.pool import AsyncRayPool  # the [ray] extra: loaded only when asked for

            pool = await AsyncRayPool.connect(on)
            capacity = pool.capacity  # grows as nodes join the cluster
        # Without a fixed concurrency the capacity is re-read while the batch runs.
        reread = capacity if concurrency is None else None
        if concurrency is None:
            concurrency = await capacity()

        async def send(args: dict[str, Any], key: str) -> ExecResult:
            if pool is not None:
                return await pool.exec(code, args, timeout, key)
            return await self.exec(code, args=args, timeout=timeout, idempotency_key=key)

        runner = batch_runner.AsyncRunner(send, concurrency=concurrency, retries=retries, batch=batch_key,
                                          capacity=reread)
        try:
            async for result in runner.run(items, ordered=ordered, indexes=indexes):
                if on_result is not None:
                    on_result(result)
                yield result
        finally:
            if pool is not None:
                await pool.aclose()

    async def _capacity(self) -> int:
        """How many items map keeps in flight: from /health (the gateway's healthy workers)."""
        return batching.default_concurrency(await self.health())

    async def exec_array(self, code: str, *, args: dict[str, Any] | None = None,
                         session: str | None = None, timeout: float | None = None) -> numpy.ndarray:
        """Run code whose result is a numpy array or bytes; get it back raw, as a numpy array."""
        response = await self._send(self._calls.exec_array(code, args, session, timeout))
        if not response.headers.get("content-type", "").startswith(calls.OCTET):
            calls.read_exec(response)  # raises if it failed
            raise TypeError("the result is neither a numpy array nor bytes")
        return arrays.from_response(response)

    async def submit(self, code: str, *, args: dict[str, Any] | None = None, session: str | None = None,
                     timeout: float | None = None, idempotency_key: str | None = None) -> AsyncJob:
        """Queue code to run and return at once with its AsyncJob (a repeat with the same
        idempotency_key returns the first job; the key with another request: BadRequest)."""
        request = _keyed(self._calls.submit(code, args, session, timeout), idempotency_key)
        info = calls.read_job(await self._send(request))
        return AsyncJob(self, info)

    async def job(self, job_id: str) -> AsyncJob:
        """A job submitted earlier, by id."""
        return AsyncJob(self, await self._job_info(job_id))

    async def jobs(self, *, limit: int | None = None, status: str | None = None) -> list[JobInfo]:
        """Recent jobs, newest first."""
        return calls.read_jobs(await self._send(self._calls.jobs(limit, status)))

    async def _job_info(self, job_id: str, wait: float = 0.0) -> JobInfo:
        return calls.read_job(await self._send(self._calls.job(job_id, wait)))

    async def _cancel(self, job_id: str) -> JobInfo:
        return calls.read_job(await self._send(self._calls.cancel(job_id)))

    async def _events(self, job_id: str, last_event_id: str | None) -> AsyncIterator[JobEvent]:
        # A stream cut off before "done" resumes after the last event seen (Last-Event-ID).
        resumes = 0
        while True:
            try:
                async for event in self._event_stream(job_id, last_event_id):
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

    async def _event_stream(self, job_id: str, last_event_id: str | None) -> AsyncIterator[JobEvent]:
        with translating(self.url):
            response = await self._send(self._calls.events(job_id, last_event_id), stream=True)
            try:
                async for sse in EventSource(response).aiter_sse():
                    yield JobEvent.parse(sse.event, sse.data, sse.id)
            finally:
                await response.aclose()

    # -- sessions ------------------------------------------------------------------------------

    def session(self, name: str) -> AsyncSession:
        """A named persistent namespace; `async with` it and it is deleted on exit."""
        return AsyncSession(self, name)

    async def sessions(self) -> list[dict[str, Any]]:
        """The server's sessions."""
        return list(calls.read_json(await self._send(self._calls.sessions())).get("sessions", []))

    async def delete_session(self, name: str) -> None:
        """Forget a session and its variables (NotFound if there is none)."""
        await self._send(self._calls.delete_session(name))

    # -- files ---------------------------------------------------------------------------------

    async def upload(self, source: FileSource | IO[bytes], remote_path: str) -> dict[str, Any]:
        """Store a local file (a path, bytes or a binary file object) in the server's work
        folder, streamed. Returns {"path", "size"}."""
        # One framing for both twins: Content-Length whenever the size is known (bytes, a path,
        # a regular file), chunked only for a pipe or another stream of unknown length.
        if isinstance(source, bytes):
            request = self._calls.upload(remote_path, source, len(source))
        elif isinstance(source, (str, os.PathLike)):
            size = (await anyio.Path(source).stat()).st_size
            request = self._calls.upload(remote_path, _path_chunks(source), size)
        else:
            request = self._calls.upload(remote_path, _handle_chunks(source), calls.size_of(source))
        return calls.read_json(await self._send(request))

    async def download(self, remote_path: str, destination: str | os.PathLike[str] | IO[bytes]) -> int:
        """Write a file of the work folder to a local path (atomically) or a binary file
        object, streamed. Returns the number of bytes."""
        response = await self._send(self._calls.download(remote_path), stream=True)
        try:
            with translating(self.url):
                if isinstance(destination, (str, os.PathLike)):
                    return await _stream_to_path(response, Path(destination))
                size = 0
                async for block in response.aiter_bytes(calls.CHUNK_BYTES):
                    await anyio.to_thread.run_sync(destination.write, block)
                    size += len(block)
                return size
        finally:
            await response.aclose()

    async def read_bytes(self, remote_path: str) -> bytes:
        """A (small) file of the work folder, in memory."""
        return (await self._send(self._calls.download(remote_path))).content

    async def files(self) -> list[dict[str, Any]]:
        """Every file in the work folder: {"path", "size", "modified"}, folder by folder in
        the order of their names (the server answers a page at a time: this asks for each)."""
        found: list[dict[str, Any]] = []
        after = None
        while True:
            page = calls.read_json(await self._send(self._calls.files(after)))
            found += page.get("files", [])
            if not page.get("next") or page["next"] == after:  # the last page (or no progress)
                return found
            after = page["next"]

    async def delete_file(self, remote_path: str) -> None:
        """Remove a file from the work folder."""
        await self._send(self._calls.delete_file(remote_path))

    # -- server --------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """The server's /health: status, mode, Blender version, busy, queued, ..."""
        return calls.read_json(await self._send(self._calls.health()))

    # -- scene and render ----------------------------------------------------------------------

    async def scene(self, *, limit: int | None = None, offset: int | None = None,
                    type: str | None = None) -> dict[str, Any]:
        """The scene: frame range, render settings, camera and a page of its objects."""
        return calls.read_json(await self._send(self._calls.scene(limit, offset, type)))

    async def object(self, name: str) -> dict[str, Any]:
        """One object in detail (NotFound carries close matches in .body)."""
        return calls.read_object(await self._send(self._calls.object(name)))

    async def mesh_vertices(self, name: str, space: str = "local") -> numpy.ndarray:
        """A mesh's vertex coordinates as a float32 (N, 3) numpy array; space local or world."""
        return arrays.from_response(await self._send(self._calls.mesh_vertices(name, space)))

    async def render(self, *, engine: str | None = None, width: int | None = None,
                     height: int | None = None, samples: int | None = None, camera: str | None = None,
                     frame: int | None = None, **options: Any) -> bytes:
        """Render the scene and return the PNG; the scene's settings are left as they were."""
        body = {"engine": engine, "width": width, "height": height, "samples": samples,
                "camera": camera, "frame": frame, **options}
        return (await self._send(self._calls.render(body))).content

    async def submit_render(self, *, engine: str | None = None, width: int | None = None,
                            height: int | None = None, samples: int | None = None,
                            camera: str | None = None, frame: int | None = None,
                            **options: Any) -> AsyncJob:
        """Start a render as a job (progress events on its stream); its result names the PNG
        in the work folder: {"path", "width", "height", "size"}."""
        body = {"engine": engine, "width": width, "height": height, "samples": samples,
                "camera": camera, "frame": frame, **options}
        response = await self._send(self._calls.render(body, respond_async=True))
        return AsyncJob(self, calls.read_job(response))

    async def screenshot(self, *, width: int | None = None, height: int | None = None) -> bytes:
        """The 3D viewport as PNG in a GUI Blender; a quick render elsewhere."""
        return (await self._send(self._calls.screenshot(width, height))).content

    async def export(self, format: str, objects: Sequence[str] | None = None) -> bytes:
        """The scene (or the named objects) as a glb, gltf, obj, fbx, stl or usd file's bytes."""
        return (await self._send(self._calls.export(format, objects))).content

    async def import_file(self, source: FileSource, format: str | None = None,
                          filename: str | None = None) -> list[str]:
        """Import a model (a local path or its bytes); returns the names of the new objects.
        The format comes from format=, else from the file name."""
        name = calls.import_name(source, filename)
        if isinstance(source, bytes):
            request = self._calls.import_file(source, len(source), format, name)
        else:
            size = (await anyio.Path(source).stat()).st_size
            request = self._calls.import_file(_path_chunks(source), size, format, name)
        return calls.read_imported(await self._send(request))


def _keyed(request: httpx.Request, key: str | None) -> httpx.Request:
    if key is not None:
        request.headers[IDEMPOTENCY_HEADER] = key
    return request


async def _path_chunks(path: str | os.PathLike[str]) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while block := await handle.read(calls.CHUNK_BYTES):
            yield block


async def _handle_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    while block := await anyio.to_thread.run_sync(handle.read, calls.CHUNK_BYTES):
        yield block


async def _stream_to_path(response: httpx.Response, path: Path) -> int:
    # Written beside the target and renamed into place: never a half file under its name.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    size = 0
    try:
        async with await anyio.open_file(tmp, "xb") as out:
            async for block in response.aiter_bytes(calls.CHUNK_BYTES):
                await out.write(block)
                size += len(block)
        await anyio.Path(tmp).replace(path)
    except BaseException:
        await anyio.Path(tmp).unlink(missing_ok=True)
        raise
    return size
