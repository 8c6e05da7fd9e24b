"""The budget of a tool result: its text content fits max_chars characters.

An answer over it is kept whole in a work-folder file (`keep`, see calls.py) and cut to fit,
so that what the model reads is still valid JSON of the same shape:
- a string keeps its head and its tail, cut at a line where there is one near the cut, with
  "[cut here: N characters; ...]" between them;
- a list keeps its first items whole (and maybe the start of the next), then a marker item
  "[cut here: N more items; ...]";
- an object keeps its small members whole and shares what is left among the large ones
  (each cut the same way); members that cannot get even MIN_PIECE are left out and named
  by a "[cut]" member;
- an array already written as JSON text (json_text.RawJSON, numpy's) keeps its first
  elements, cut after a comma, with the marker as the last element of the innermost list.
Every marker names the file. The answer then starts with "cut": {"file", "bytes",
"chars", "read"}: where the whole is, and how read_file pages it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import json_text
from ..json_text import RawJSON

# A value cut to fit gets at least this many characters; with fewer it is left out.
MIN_PIECE = 120
# Of a cut string, the share of its room that goes to its head (the rest to its tail).
HEAD_SHARE = 0.6
# Room set aside for the "cut" note.
NOTE_ROOM = 400
NOTE_KEY = "cut"

# Writes the whole answer's text where read_file finds it; returns its path and bytes.
Keep = Callable[[str], tuple[str, int]]


def dumps(value: Any) -> str:
    """The text of a value as a tool result carries it."""
    return json_text.dumps(value, ensure_ascii=False, default=str)


def fit(value: Any, max_chars: int, keep: Keep, text: str | None = None) -> str:
    """The text of value (text, when it is known), cut to at most max_chars characters when
    it is longer."""
    text = dumps(value) if text is None else text
    if len(text) <= max_chars:
        return text
    path, size = keep(text)
    note = {"file": path, "bytes": size, "chars": len(text),
            "read": f"the whole answer is in the work folder at {path}: read_file pages it "
                    "(offset and limit in bytes; follow next_offset)"}
    target = max_chars - NOTE_ROOM
    while target > 0:
        cut = _Cutter(path).value(value, target)
        answer = {NOTE_KEY: note, **cut} if isinstance(cut, dict) else {NOTE_KEY: note, "value": cut}
        shown = dumps(answer)
        if len(shown) <= max_chars:
            return shown
        target -= len(shown) - max_chars + MIN_PIECE
    return dumps({NOTE_KEY: note})


class _Cutter:
    def __init__(self, path: str) -> None:
        self.path = path

    def marker(self, left: int, what: str) -> str:
        return f"[cut here: {left:,} {what}; the whole answer: read_file {self.path}]"

    def value(self, value: Any, budget: int, size: int | None = None) -> Any:
        """value, cut so that its text takes at most about budget characters."""
        if size is None:
            size = _size(value)
        if size <= budget:
            return value
        if isinstance(value, str):
            return self.text(value, budget)
        if isinstance(value, RawJSON):
            return self.raw(value, budget)
        if isinstance(value, dict):
            return self.mapping(value, budget)
        if isinstance(value, (list, tuple)):
            return self.sequence(value, budget)
        return value  # a number, true, false, null: a few characters

    def text(self, text: str, budget: int) -> str:
        marker = f"\n{self.marker(len(text), 'characters')}\n"
        room = budget - 2 - _escaped(marker)
        if room < MIN_PIECE:
            return self.marker(len(text), "characters")
        head = _fitting_prefix(text, int(room * HEAD_SHARE))
        tail = len(text) - _fitting_suffix(text, room - _escaped(text[:head]))
        line = text.rfind("\n", 0, head)
        if line >= head // 2:
            head = line + 1
        line = text.find("\n", max(tail, head))
        if line != -1 and line - tail < (len(text) - tail) // 2:
            tail = line + 1
        tail = max(tail, head)
        before = "" if text[:head].endswith("\n") or not head else "\n"
        return f"{text[:head]}{before}{self.marker(tail - head, 'characters')}\n{text[tail:]}"

    def sequence(self, items: list[Any] | tuple[Any, ...], budget: int) -> list[Any]:
        room = budget - 2 - _size(self.marker(len(items), "more items")) - 1
        out: list[Any] = []
        used = 0
        for item in items:
            size = _size(item)
            comma = 1 if out else 0
            if used + comma + size <= room:
                out.append(item)
                used += comma + size
                continue
            rest = room - used - comma
            if rest >= MIN_PIECE and isinstance(item, (str, dict, list, tuple, RawJSON)):
                out.append(self.value(item, rest, size))
            break
        left = len(items) - len(out)
        if left:
            out.append(self.marker(left, "more items"))
        return out

    def mapping(self, mapping: dict[Any, Any], budget: int) -> dict[str, Any]:
        # a member takes its key, a colon and a comma besides its value
        members = [(str(key), value, len(dumps(str(key))) + 2, _size(value))
                   for key, value in mapping.items()]
        remaining = budget - 2  # the braces
        kept: dict[int, Any] = {}
        dropped = 0
        order = sorted(range(len(members)), key=lambda i: members[i][2] + members[i][3])
        for rank, index in enumerate(order):
            _, value, key_size, size = members[index]
            share = remaining // (len(members) - rank)
            if share - key_size >= MIN_PIECE or key_size + size <= share:
                # the large ones share what the small ones leave
                room = min(share, key_size + size) - key_size
            else:  # too many to give each a piece: the smallest whole, while they fit
                room = remaining - key_size
                if room < min(size, MIN_PIECE):
                    dropped += 1
                    continue
            kept[index] = self.value(value, room, size)
            remaining -= key_size + _size(kept[index])
        out = {members[i][0]: kept[i] for i in range(len(members)) if i in kept}
        if dropped:
            out["[cut]"] = self.marker(dropped, "members left out")
        return out

    def raw(self, raw: RawJSON, budget: int) -> Any:
        """An array's JSON text (numbers, true, false, null, brackets and commas only)."""
        text = raw.text
        marker = self.marker(len(text), "characters")
        depth_room = min(text[:64].count("["), 32)
        room = budget - _size(marker) - 1 - depth_room
        comma = text.rfind(",", 0, max(room, 0))
        if comma <= 0:
            return marker
        head = text[:comma]
        depth = head.count("[") - head.count("]")
        marker = self.marker(len(text) - comma, "characters")
        return RawJSON(f"{head},{json.dumps(marker, ensure_ascii=False)}{']' * depth}")


def _size(value: Any) -> int:
    if isinstance(value, RawJSON):
        return len(value.text)
    return len(dumps(value))


def _escaped(text: str) -> int:
    """Characters of text inside a JSON string (escapes counted)."""
    return len(json.dumps(text, ensure_ascii=False)) - 2


def _fitting_prefix(text: str, room: int) -> int:
    """The most characters of text's head that take at most room characters escaped."""
    count = min(len(text), max(room, 0))
    while count and (over := _escaped(text[:count]) - room) > 0:
        count = max(0, count - over)  # each character takes one or more: this many go at least
    return count


def _fitting_suffix(text: str, room: int) -> int:
    count = min(len(text), max(room, 0))
    while count and (over := _escaped(text[len(text) - count:]) - room) > 0:
        count = max(0, count - over)
    return count
