"""JSON text of the server's answers: json.dumps, plus text written beforehand (RawJSON)
put in as it is.

A large numpy result is turned into JSON text by numpy (numpy_json.py) when it is
converted, and the envelope around it is serialised later. json.dumps cannot embed text, so
each RawJSON goes in as a placeholder string that names it, and the placeholders are
replaced in the finished text. The placeholder holds a control character and a random
nonce drawn per call, so no string of the caller's can be mistaken for one.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any


class RawJSON:
    """JSON text, already valid, written into an answer as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<JSON text of {len(self.text)} characters>"


def utf8(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON of value as UTF-8 bytes. A string Python can hold but UTF-8 cannot carry
    (a lone surrogate: a file name that is not UTF-8, read through os.fsdecode) is escaped
    as \\udXXXX, which a JSON reader takes back as it was, instead of failing the answer."""
    text = dumps(value, ensure_ascii=False, default=default)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return dumps(value, ensure_ascii=True, default=default).encode("ascii")


def dumps(value: Any, *, ensure_ascii: bool = True,
          default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text of value; a RawJSON inside it is written as its text."""
    text, fragments, marker = _skeleton(value, ensure_ascii, default)
    if not fragments:
        return text
    return _placeholders(marker).sub(lambda match: fragments[int(match.group(1))], text)


def size(value: Any, *, default: Callable[[Any], Any] | None = None) -> int:
    """len(dumps(value)), without building the text a RawJSON holds."""
    text, fragments, marker = _skeleton(value, True, default)
    if not fragments:
        return len(text)
    return len(_placeholders(marker).sub("", text)) + sum(len(fragment) for fragment in fragments)


class _Call(threading.local):
    """What the encoders' default hook needs for the dumps call running on this thread."""

    def __init__(self) -> None:  # once per thread
        self.fragments: list[str] = []
        self.marker = ""
        self.default: Callable[[Any], Any] | None = None


_call = _Call()


def _embed(item: Any) -> Any:
    if isinstance(item, RawJSON):
        _call.marker = _call.marker or f"\x00json-{secrets.token_hex(8)}-"  # drawn when needed
        _call.fragments.append(item.text)
        return f"{_call.marker}{len(_call.fragments) - 1}"
    if _call.default is not None:
        return _call.default(item)
    raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")


# Made once: json.dumps with any option builds an encoder per call (a microsecond an answer).
_ENCODERS = {ascii_only: json.JSONEncoder(separators=(",", ":"), ensure_ascii=ascii_only, default=_embed)
             for ascii_only in (True, False)}


def _skeleton(value: Any, ensure_ascii: bool,
              default: Callable[[Any], Any] | None) -> tuple[str, list[str], str]:
    fragments: list[str] = []
    _call.fragments, _call.marker, _call.default = fragments, "", default
    try:
        return _ENCODERS[ensure_ascii].encode(value), fragments, _call.marker
    finally:
        _call.fragments, _call.default = [], None


def _placeholders(marker: str) -> re.Pattern[str]:
    # json.dumps writes the marker's control character as \u0000, in either mode.
    return re.compile(re.escape(json.dumps(marker)[:-1]) + r'(\d+)"')
