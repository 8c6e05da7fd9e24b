"""`AsyncJob` and `AsyncSession`: handles on a job and on a named session; the AsyncBlender
they belong to does their I/O.

_sync/handles.py is generated from _async/handles.py by scripts/unasync.py: edit
_async/handles.py, then run the script (`--check` fails when the two differ)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..envelope import ExecResult
from ..errors import JobNotFinished, NotFound
from ..jobs import LONG_POLL_SLICE_S, JobEvent, JobInfo

if TYPE_CHECKING:
    from .client import AsyncBlender


class AsyncJob:
    """A job on the server: wait for it, stream its output, cancel it, get its result."""

    def __init__(self, blender: AsyncBlender, info: JobInfo) -> None:
        self._blender = blender
        self.id = info.id
        self.info = info

    def __repr__(self) -> str:
        return f"<AsyncJob {self.id} {self.info.status}>"

    @property
    def status(self) -> str:
        """The status last seen (refresh() asks again)."""
        return self.info.status

    async def refresh(self) -> JobInfo:
        """Ask the server for the job's state now."""
        self.info = await self._blender._job_info(self.id)
        return self.info

    async def wait(self, timeout: float | None = None) -> JobInfo:
        """Long-poll until the job finishes or timeout seconds pass; returns its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.info.finished:
            left = LONG_POLL_SLICE_S if deadline is None else deadline - time.monotonic()
            # Always ask at least once: the status last seen may be stale.
            self.info = await self._blender._job_info(self.id, wait=max(0.0, min(left, LONG_POLL_SLICE_S)))
            if left <= 0:
                break
        return self.info

    async def result(self, timeout: float | None = None) -> ExecResult:
        """Wait, then the ExecResult; raises ExecError if the job failed, JobNotFinished if
        timeout passed first."""
        info = await self.wait(timeout)
        if not info.finished:
            raise JobNotFinished(self.id, info.status)
        return info.to_result()

    async def cancel(self) -> JobInfo:
        """Drop the job if queued, interrupt it if running."""
        self.info = await self._blender._cancel(self.id)
        return self.info

    async def stream(self, last_event_id: str | None = None) -> AsyncIterator[JobEvent]:
        """The job's events as they happen: stdout/stderr chunks, progress, then "done"."""
        async for event in self._blender._events(self.id, last_event_id):
            if event.done and isinstance(event.data, dict):
                self.info = self.info.finished_with(event.data)
            yield event


class AsyncSession:
    """A named persistent namespace on the server; `async with` deletes it at the end."""

    def __init__(self, blender: AsyncBlender, name: str) -> None:
        self._blender = blender
        self.name = name

    async def exec(self, code: str, *, args: dict[str, Any] | None = None,
                   timeout: float | None = None) -> ExecResult:
        """Run code in this session's namespace."""
        return await self._blender.exec(code, args=args, session=self.name, timeout=timeout)

    async def submit(self, code: str, *, args: dict[str, Any] | None = None,
                     timeout: float | None = None) -> AsyncJob:
        """Queue code to run in this session's namespace."""
        return await self._blender.submit(code, args=args, session=self.name, timeout=timeout)

    async def delete(self) -> None:
        """Forget the session's variables (nothing happens if it holds none)."""
        try:
            await self._blender.delete_session(self.name)
        except NotFound:
            pass

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.delete()
