"""The exec envelope: what /exec answers and a finished job carries, as a result object."""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import exec_error


@dataclasses.dataclass(frozen=True)
class ExecResult:
    """A successful run: the value of the last expression and what the code printed."""

    result: Any
    stdout: str
    stderr: str
    duration_ms: float | None
    job: str | None
    truncated: tuple[str, ...] = ()
    # The whole answer as the server sent it (fields a newer server adds live here).
    envelope: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> ExecResult:
        """The result of a successful envelope; raises the ExecError of a failed one."""
        if not envelope.get("ok"):
            raise exec_error(envelope)
        return cls(result=envelope.get("result"), stdout=envelope.get("stdout") or "",
                   stderr=envelope.get("stderr") or "", duration_ms=envelope.get("duration_ms"),
                   job=envelope.get("job"), truncated=tuple(envelope.get("truncated") or ()),
                   envelope=envelope)


    def _repr_html_(self) -> str:
        from .notebook import result_html  # a notebook's display, loaded only there

        return result_html(self)

    def _repr_markdown_(self) -> str:
        from .notebook import result_markdown

        return result_markdown(self)


def exec_body(code: str, args: dict[str, Any] | None, session: str | None,
              timeout: float | None) -> dict[str, Any]:
    """The JSON body of POST /exec and POST /jobs, without the fields left unset."""
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, not {type(code).__name__}")
    body: dict[str, Any] = {"code": code}
    if args is not None:
        body["args"] = args
    if session is not None:
        body["session"] = session
    if timeout is not None:
        body["timeout"] = timeout
    return body
