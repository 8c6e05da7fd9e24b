"""The seed corpus (corpus.json): known-bad requests, run on every CI by the pure
differential test and against real servers by test_blackbox.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).with_name("corpus.json")


@dataclasses.dataclass(frozen=True)
class Seed:
    name: str
    pieces: tuple[bytes, ...]
    status: int
    # whole, trickle, trickle body or expect: see corpus.json's "about".
    kind: str

    def for_host(self, host: str) -> tuple[bytes, ...]:
        return tuple(piece.replace(b"{host}", host.encode()) for piece in self.pieces)


def _piece(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("latin-1")
    return b"".join(part.encode("latin-1") if isinstance(part, str) else part[0].encode("latin-1") * part[1]
                    for part in value)


def load() -> list[Seed]:
    document = json.loads(CORPUS.read_text())
    return [Seed(case["name"], tuple(_piece(p) for p in case["send"]), case["status"], case["kind"])
            for case in document["cases"]]
