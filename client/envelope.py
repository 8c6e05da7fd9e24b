"""The exec envelope: what /exec answers and a finished job carries, as a result object."""

from __future__ import annotations

import dataclasses
import io
import sys
from typing import Any

from . import display
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
        return display.result_html(self)

    def _repr_markdown_(self) -> str:
        return display.result_markdown(self)


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


def is_binary(value: Any) -> bool:
    """An argument sent as its own multipart part: a numpy array, bytes-like, or a file
    opened in binary mode."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True
    numpy = sys.modules.get("numpy")  # an array means numpy is imported already
    if numpy is not None and isinstance(value, numpy.ndarray):
        return True
    return callable(getattr(value, "read", None)) and not isinstance(value, io.TextIOBase)


def split_args(args: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the JSON args, the binary ones) of an exec's args."""
    if not args:
        return args, {}
    binary = {name: value for name, value in args.items() if is_binary(value)}
    if not binary:
        return args, {}
    plain = {name: value for name, value in args.items() if name not in binary}
    return plain or None, binary
