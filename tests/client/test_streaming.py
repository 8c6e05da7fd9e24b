"""Uploads and downloads are streamed in chunks, never whole in memory, and a download that
breaks off leaves no file behind (httpx.MockTransport stands in for the server)."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from blender_http import AsyncBlender, Blender, ConnectionLost
from blender_http.calls import CHUNK_BYTES

SIZE = 3 * CHUNK_BYTES + 5


class _ChunkRecorder(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Records the size of every chunk of a request body as the client sends it (MockTransport
    would read the whole body first)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.headers: dict[str, str] = {}

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.headers.update(request.headers)
        return httpx.Response(201, json={"path": "big.bin", "size": sum(self.sizes)})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sizes.extend(len(chunk) for chunk in request.stream)  # type: ignore[union-attr]
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async for chunk in request.stream:  # type: ignore[union-attr]
            self.sizes.append(len(chunk))
        return self._answer(request)


def test_upload_of_a_path_is_sent_in_chunks(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * SIZE)
    recorder = _ChunkRecorder()
    with Blender("http://blender.test", transport=recorder) as blender:
        assert blender.upload(source, "big.bin") == {"path": "big.bin", "size": SIZE}
    assert len(recorder.sizes) > 1 and max(recorder.sizes) <= CHUNK_BYTES
    assert recorder.headers["content-length"] == str(SIZE)


@pytest.mark.anyio
async def test_async_upload_of_a_path_is_sent_in_chunks(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * SIZE)
    recorder = _ChunkRecorder()
    async with AsyncBlender("http://blender.test", transport=recorder) as blender:
        assert await blender.upload(source, "big.bin") == {"path": "big.bin", "size": SIZE}
    assert len(recorder.sizes) > 1 and max(recorder.sizes) <= CHUNK_BYTES
    assert recorder.headers["content-length"] == str(SIZE)


class _BreaksOff(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends one chunk, then loses the connection."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"first part"
        raise httpx.ReadError("connection lost")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"first part"
        raise httpx.ReadError("connection lost")


def _breaking(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=_BreaksOff(), headers={"Content-Type": "image/png"})


def test_a_broken_download_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "render.png"
    with Blender("http://blender.test", transport=httpx.MockTransport(_breaking)) as blender:
        with pytest.raises(ConnectionLost):
            blender.download("render.png", target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_a_broken_async_download_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "render.png"
    async with AsyncBlender("http://blender.test", transport=httpx.MockTransport(_breaking)) as blender:
        with pytest.raises(ConnectionLost):
            await blender.download("render.png", target)
    assert list(tmp_path.iterdir()) == []


class _StreamThenBreak(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The events of a job; without `whole`, the connection drops after the first one."""

    def __init__(self, chunks: list[bytes], whole: bool) -> None:
        self.chunks, self.whole = chunks, whole

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if not self.whole:
            raise httpx.ReadError("connection lost")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if not self.whole:
            raise httpx.ReadError("connection lost")


DONE = b'id: 1\nevent: done\ndata: {"ok":true,"result":7,"stdout":"a","stderr":"","job":"j"}\n\n'


def _resumable(asked: list[str | None]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("Last-Event-ID"))
        if len(asked) == 1:
            body = _StreamThenBreak([b'id: 0\nevent: stdout\ndata: {"text":"a"}\n\n'], whole=False)
        else:
            body = _StreamThenBreak([DONE], whole=True)
        return httpx.Response(200, stream=body, headers={"Content-Type": "text/event-stream"})
    return httpx.MockTransport(handler)


def test_a_cut_event_stream_resumes_after_the_last_event() -> None:
    from blender_http import Job, JobInfo

    asked: list[str | None] = []
    with Blender("http://blender.test", transport=_resumable(asked)) as blender:
        job = Job(blender, JobInfo(id="j", status="running"))
        events = list(job.stream())
    assert [(e.kind, e.id) for e in events] == [("stdout", "0"), ("done", "1")]
    assert asked == [None, "0"]
    assert job.status == "succeeded" and job.result().result == 7


@pytest.mark.anyio
async def test_a_cut_async_event_stream_resumes_after_the_last_event() -> None:
    from blender_http import AsyncJob, JobInfo

    asked: list[str | None] = []
    async with AsyncBlender("http://blender.test", transport=_resumable(asked)) as blender:
        job = AsyncJob(blender, JobInfo(id="j", status="running"))
        events = [event async for event in job.stream()]
    assert [(e.kind, e.id) for e in events] == [("stdout", "0"), ("done", "1")]
    assert asked == [None, "0"]
    assert job.status == "succeeded" and (await job.result()).result == 7


def _sources(tmp_path: Path) -> dict[str, Callable[[], Any]]:
    """Each kind of upload source, made fresh for each twin (a handle is read once)."""
    path = tmp_path / "small.bin"
    path.write_bytes(b"x" * 10)

    def pipe() -> IO[bytes]:
        read_end, write_end = os.pipe()
        os.write(write_end, b"x" * 10)
        os.close(write_end)
        return open(read_end, "rb")

    return {"bytes": lambda: b"x" * 10, "path": lambda: path, "file": lambda: open(path, "rb"),
            "memory": lambda: io.BytesIO(b"x" * 10), "pipe": pipe}


def _close(source: object) -> None:
    if isinstance(source, io.IOBase):
        source.close()


def _framing(headers: dict[str, str]) -> tuple[str | None, str | None]:
    return headers.get("content-length"), headers.get("transfer-encoding")


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "framing"), [
    ("bytes", ("10", None)), ("path", ("10", None)), ("file", ("10", None)),
    ("memory", (None, "chunked")), ("pipe", (None, "chunked")),
])
async def test_both_twins_frame_an_upload_the_same_way(tmp_path: Path, kind: str,
                                                       framing: tuple[str | None, str | None]) -> None:
    # Content-Length whenever the size is known up front; chunked only when it is not.
    make = _sources(tmp_path)[kind]
    sync_recorder, async_recorder = _ChunkRecorder(), _ChunkRecorder()
    with Blender("http://blender.test", transport=sync_recorder) as blender:
        source = make()
        blender.upload(source, "small.bin")
        _close(source)
    async with AsyncBlender("http://blender.test", transport=async_recorder) as ablender:
        source = make()
        await ablender.upload(source, "small.bin")
        _close(source)
    assert _framing(sync_recorder.headers) == _framing(async_recorder.headers) == framing
    assert sum(sync_recorder.sizes) == sum(async_recorder.sizes) == 10
