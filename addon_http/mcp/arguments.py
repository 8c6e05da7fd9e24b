"""Reading a tool call's arguments: each getter checks one value against what the tool's
input schema promises and raises a 400 HttpError (a tool error the model can fix) if not."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import HttpError
from ..protocol import SESSION_NAME_PATTERN, SESSION_NAME_RULE
from . import tools

if TYPE_CHECKING:
    from ..jobs.job import Job
    from .watch import Call


class Arguments:
    """A call's arguments, and whether the call is served on Blender's main thread itself
    (`inline`, pumps/main_loop.py): its work then runs right there, never in the queue."""

    def __init__(self, tool: str, values: Mapping[str, Any], schema: Mapping[str, Any], *,
                 inline: bool = False, call: Call | None = None,
                 cancel: Callable[[Job], None] | None = None) -> None:
        unknown = sorted(set(values) - set(schema.get("properties", {})))
        if unknown:
            known = ", ".join(schema.get("properties", {})) or "none"
            raise HttpError(400, f"{tool} takes no argument {', '.join(unknown)} (it takes: {known})")
        self.tool = tool
        self.values = values
        self.inline = inline
        # The running call (mcp/watch.py) that follows the jobs this call submits, and how
        # to stop one: a client's cancel reaches them, its progress stream reads them.
        self._call = call
        self._cancel = cancel

    def submitted(self, job: Job) -> None:
        """The call submitted job (a client's cancel stops it)."""
        if self._call is not None:
            self._call.add(job, self._cancel)

    def waiting_for(self, job: Job) -> None:
        """The call waits for job, which it did not submit (its progress is followed; a
        cancel stops the wait, not the job)."""
        if self._call is not None:
            self._call.add(job, None)

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string argument (None when absent and not required)."""
        value = self._get(name, required)
        if value is not None and not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def required_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        """An integer within [low, high], or default."""
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._bad(name, f"an integer from {low} to {high}")
        return value

    def number(self, name: str, default: float | None, low: float, high: float) -> float | None:
        """A finite number within [low, high], or default."""
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low <= value <= high:
            raise self._bad(name, f"a number from {low:g} to {high:g}")
        return float(value)

    def flag(self, name: str) -> bool:
        """A boolean argument, False when absent."""
        value = self._get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def budget(self) -> int:
        """max_chars: the most characters of text the call answers."""
        value = self.integer("max_chars", tools.DEFAULT_MAX_CHARS, tools.MIN_MAX_CHARS, tools.MAX_MAX_CHARS)
        return tools.DEFAULT_MAX_CHARS if value is None else value

    def mapping(self, name: str) -> dict[str, Any]:
        value = self._get(name, False)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._bad(name, "a JSON object")
        return value

    def names(self, name: str) -> list[str] | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings")
        return value

    def session(self) -> str | None:
        value = self.text("session")
        if value is not None and not SESSION_NAME_PATTERN.fullmatch(value):
            raise self._bad("session", SESSION_NAME_RULE)
        return value

    def _get(self, name: str, required: bool) -> Any:
        value = self.values.get(name)
        if value is None and required:
            raise HttpError(400, f"{self.tool} needs the argument {name!r}")
        return value

    def _bad(self, name: str, what: str) -> HttpError:
        return HttpError(400, f"{self.tool}: {name!r} must be {what}")
