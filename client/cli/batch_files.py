"""The files of `blender-http batch`: the items (JSON lines in), and the results (JSON lines
out, one per item, appended as each arrives, so that a rerun knows what is already done)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..batching import ItemResult
from ..errors import BlenderError
from .support import error_document


class BadItems(ValueError):
    """The items file is not JSON lines."""


def read_items(path: Path) -> list[Any]:
    """Every item, one JSON value per non-blank line."""
    items = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise BadItems(f"{path}:{number}: not JSON ({exc})") from None
    return items


def finished_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The result lines an earlier run wrote (a torn last line, cut off by a crash, is none)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("index"), int):
                yield record


def done_items(path: Path, items: list[Any]) -> tuple[dict[int, bool], int]:
    """Which items an earlier run finished ({index: ok}), and how many result lines name an
    item that is not the one at their index in `items` now (the items file was edited):
    those items are not done, they run again."""
    done: dict[int, bool] = {}
    stale = 0
    for record in finished_lines(path):
        index = record["index"]
        if 0 <= index < len(items) and record.get("item") == items[index]:
            done[index] = bool(record.get("ok"))
        else:
            stale += 1
    return done, stale


def drop_failed(path: Path) -> None:
    """Rewrite the results without their failed lines (atomically), so those items run again."""
    kept = [json.dumps(r, separators=(",", ":")) + "\n" for r in finished_lines(path) if r.get("ok")]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, path)


def batch_key(script: str, items_path: Path, out: Path, timeout: float | None = None) -> str:
    """The same for a rerun of one batch into one results file: items that were running when
    the first run was interrupted are answered from the server's memory, not run again. A
    rerun with another --timeout sends other requests, so it gets other keys (the server
    would refuse a key sent again with another timeout: 422)."""
    digest = hashlib.sha256()
    for part in (script.encode(), items_path.read_bytes(), str(out.resolve()).encode(),
                 str(out.stat().st_ino).encode(), repr(timeout).encode()):
        digest.update(part + b"\0")
    return digest.hexdigest()[:24]


class ResultsFile:
    """The results, opened for appending: each line goes out in one write() of its own, so
    lines never interleave and a crash leaves at most the last one torn."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._mend_torn_tail()

    def _mend_torn_tail(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with self.path.open("rb") as existing:
            existing.seek(size - 1)
            if existing.read(1) != b"\n":
                os.write(self._fd, b"\n")  # the torn line stays unreadable; the next starts clean

    def write(self, outcome: ItemResult) -> None:
        os.write(self._fd, (json.dumps(record(outcome), separators=(",", ":"), default=repr)
                            + "\n").encode("utf-8"))

    def close(self) -> None:
        os.close(self._fd)


def record(outcome: ItemResult) -> dict[str, Any]:
    """One result line: the item, and its result and output, or its error."""
    line: dict[str, Any] = {"index": outcome.index, "item": outcome.item, "ok": outcome.ok}
    if outcome.result is not None:
        line.update(result=outcome.result.result, stdout=outcome.result.stdout,
                    job=outcome.result.job)
    else:
        error = outcome.error
        document = (error_document(error) if isinstance(error, BlenderError)
                    else {"error": {"type": type(error).__name__, "message": str(error)}})
        line["error"] = document.get("error")
        if isinstance(document.get("stdout"), str):
            line["stdout"] = document["stdout"]
    line["attempts"] = outcome.attempts
    return line
