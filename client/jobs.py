"""Jobs as the server describes them (GET /jobs/{id}) and the events of their SSE stream."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from .envelope import ExecResult

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
# Long polls are cut into slices so that no single HTTP wait gets near proxies' idle limits.
LONG_POLL_SLICE_S = 60.0


@dataclasses.dataclass(frozen=True)
class JobInfo:
    """One job's state; `envelope` is set once it finished."""

    id: str
    status: str
    session: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    envelope: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> JobInfo:
        return cls(id=str(view["id"]), status=str(view["status"]), session=view.get("session"),
                   created_at=view.get("created_at"), started_at=view.get("started_at"),
                   finished_at=view.get("finished_at"), envelope=view.get("envelope"))

    def finished_with(self, envelope: dict[str, Any]) -> JobInfo:
        """This job as its "done" event tells it ended (the event carries no finish time)."""
        return dataclasses.replace(self, status=status_of_envelope(envelope), envelope=envelope)

    def to_result(self) -> ExecResult:
        """The ExecResult of a finished job; raises its ExecError if it failed."""
        if self.envelope is None:
            raise ValueError(f"job {self.id} is {self.status}: no result yet")
        return ExecResult.from_envelope(self.envelope)


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """One server-sent event of GET /jobs/{id}/events.

    kind is "stdout" or "stderr" (text holds the chunk), "progress" (data holds
    {"fraction": ...} or {"stage": ...}), or "done" (data is the envelope)."""

    kind: str
    data: Any
    id: str = ""

    @property
    def text(self) -> str:
        """The printed chunk of a stdout/stderr event; empty for other kinds."""
        if isinstance(self.data, dict) and isinstance(self.data.get("text"), str):
            return str(self.data["text"])
        return ""

    @property
    def done(self) -> bool:
        return self.kind == "done"

    @classmethod
    def parse(cls, event: str, data: str, id: str = "") -> JobEvent:
        try:
            decoded: Any = json.loads(data) if data else None
        except ValueError:
            decoded = data
        return cls(kind=event, data=decoded, id=id)

    def to_result(self) -> ExecResult:
        """The ExecResult of the "done" event; raises its ExecError if the job failed."""
        if not self.done or not isinstance(self.data, dict):
            raise ValueError(f"a {self.kind!r} event carries no result")
        return ExecResult.from_envelope(self.data)


def status_of_envelope(envelope: dict[str, Any]) -> str:
    """The status of the job that finished with this envelope."""
    if envelope.get("ok"):
        return "succeeded"
    kind = (envelope.get("error") or {}).get("type")
    return {"Timeout": "timed_out", "Cancelled": "cancelled", "Unavailable": "cancelled"}.get(
        str(kind), "failed")
