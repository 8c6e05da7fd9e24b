"""Following a tool call while it runs, on the connection's own thread (never Blender's
main thread): notifications/progress for a client that sent a progressToken, on an SSE
answer that ends with the call's response; and, whatever the answer's form, a client that
hangs up cancels the call's Blender jobs (protocol 2026-07-28 cancels that way).

What progress says: the call's jobs as they go (queued, running, a render's stages from
Blender's render handlers: preparing, rendering, writing; the sample count where the engine
reports it, at most every SAMPLES_EVERY_S) and, at least every PROGRESS_EVERY_S, the time
elapsed. `progress` is seconds since the call began, so it
only grows, as the protocol wants; there is no `total`, since neither a Python loop nor
a blocking render tells how much is left."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from .. import json_text
from ..jobs import job as jobs
from .watch import Call

PROGRESS_EVERY_S = 1.0
# A render's sample count comes many times a second: passed on at most this often.
SAMPLES_EVERY_S = 0.25
# How often the connection's thread looks at the call's jobs and at the client's socket.
POLL_S = 0.05
SSE_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}

PeerGone = Callable[[], bool]


def wait(call: Call, peer_gone: PeerGone) -> None:
    """Block until the call answered; cancel its jobs if the client hangs up meanwhile."""
    while not call.wait(POLL_S):
        if call.cancelled is None and peer_gone():
            call.cancel("the client closed the connection")


def sse(call: Call, token: Any, request_id: Any, peer_gone: PeerGone) -> Iterator[bytes]:
    """The SSE answer of a call with a progress token: progress notifications while it runs,
    then its response (none when the client withdrew the call). A write that fails (the
    client left) ends the stream, and the generator's close cancels the call's jobs."""
    notes = _Notes(call, token)
    try:
        yield notes.next("started")
        while not call.wait(POLL_S):
            if call.cancelled is None and peer_gone():
                call.cancel("the client closed the connection")
            yield from notes.changes()
        yield from notes.changes(last=True)  # the end: the jobs' last states
        if not call.withdrawn:
            yield event(call.answer if call.answer is not None else _no_answer(request_id))
    finally:
        if not call.over:
            call.cancel("the client closed the connection")


def event(message: Any) -> bytes:
    """One JSON-RPC message as an SSE event."""
    return b"event: message\ndata: " + json_text.utf8(message, default=str) + b"\n\n"


class _Notes:
    """The progress notifications of one call: what changed in its jobs, and the time."""

    def __init__(self, call: Call, token: Any) -> None:
        self.call = call
        self.token = token
        self.last = -0.001
        self.sent_at = 0.0
        self.seen: dict[str, tuple[str, int]] = {}  # job id -> (status, events read)
        self.sample: tuple[jobs.Job, dict[str, Any]] | None = None  # the newest not yet said
        self.highest: dict[str, int] = {}  # job id -> the highest sample count seen

    def changes(self, *, last: bool = False) -> Iterator[bytes]:
        """Notes for what changed since the last look; last: the call is over, say all."""
        for job in list(self.call.jobs):
            status, read = self.seen.get(job.id, ("", 0))
            now = job.status  # read once: the main thread may change it meanwhile
            fresh = self.call.logs[job.id][read:]
            self.seen[job.id] = (now, read + len(fresh))
            progress = [data for kind, data in fresh if kind == "progress" and isinstance(data, dict)]
            stages = [data["stage"] for data in progress if isinstance(data.get("stage"), str)]
            for stage in stages:
                yield self.next(f"{_what(job)}: {stage}")
            # The highest count: an engine may report sample 0 again as it finishes.
            samples = [data for data in progress if isinstance(data.get("sample"), int)
                       and data["sample"] > self.highest.get(job.id, -1)]
            if samples:
                best = max(samples, key=lambda data: data["sample"])
                self.highest[job.id] = best["sample"]
                self.sample = (job, best)
            if now != status and not (stages and now == jobs.RUNNING):
                yield self.next(f"{_what(job)}: {now}")
        if self.sample is not None and (last or time.monotonic() - self.sent_at >= SAMPLES_EVERY_S):
            job, data = self.sample
            self.sample = None
            yield self.next(f"{_what(job)}: sample {data['sample']}/{data.get('samples')}")
        if time.monotonic() - self.sent_at >= PROGRESS_EVERY_S:
            running = [job for job in self.call.jobs if not job.finished]
            yield self.next(f"{_what(running[-1])}: {running[-1].status}" if running else "working")

    def next(self, message: str) -> bytes:
        """A notification at the time elapsed (a little more than the last one's when no
        time passed: progress must grow)."""
        elapsed = max(round(time.monotonic() - self.call.started, 3), round(self.last + 0.001, 3))
        self.last = elapsed
        self.sent_at = time.monotonic()
        return event({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
            "progressToken": self.token, "progress": elapsed,
            "message": f"{message} ({elapsed:.1f} s)"}})


def _what(job: jobs.Job) -> str:
    return job.task_name or "code"


def _no_answer(request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id,
            "error": {"code": -32603, "message": "the call ended without an answer"}}
