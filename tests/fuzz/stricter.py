"""Where our parser is stricter than h11, on purpose: each rule names a request h11
takes and we refuse, and why (docs/SECURITY.md, "What the parsers accept and refuse").

A refusal of ours for a request h11 accepts must match at least one rule here, or the
differential test fails: a refusal no rule explains is a valid request turned away.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from blender_http_addon.http.head import MAX_HEAD_BYTES, MAX_HEADERS, MAX_LENGTH_DIGITS, METHODS, SINGLE

from .parsers import Outcome

_HEAD_END = re.compile(rb"\n\r?\n")
_BARE = re.compile(rb"(?<!\r)\n|\r(?!\n)")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _head(data: bytes) -> bytes:
    found = _HEAD_END.search(data)
    return data[:found.end()] if found else data


def _lines(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in _head(data).split(b"\n")[1:] if line.rstrip(b"\r")]


def _names(data: bytes) -> list[str]:
    return [line.split(b":", 1)[0].strip().lower().decode("latin-1") for line in _lines(data)]


def _length(data: bytes) -> bytes | None:
    for line in _lines(data):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return value.strip(b" \t")
    return None


def _chunked_parts(data: bytes) -> tuple[list[bytes], bytes]:
    """The chunk lines (without CRLF) and the trailer section of a chunked body h11 has
    accepted, found as h11 finds them."""
    body, lines = data[len(_head(data)):], []
    while True:
        end = body.find(b"\r\n")
        line, body = body[:end], body[end + 2:]
        lines.append(line)
        digits = re.match(rb"[0-9A-Fa-f]+", line)
        assert digits is not None, "h11 accepted this body"
        size = int(digits.group(), 16)
        if size == 0:
            found = _HEAD_END.search(body) if not body.startswith((b"\r\n", b"\n")) else None
            return lines, body[:found.end()] if found else b""
        body = body[size + 2:]


def _chunk_rule(data: bytes, ref: Outcome) -> bool:
    if not ref.chunked:
        return False
    lines, trailers = _chunked_parts(data)
    for line in lines:
        size, semicolon, extension = line.partition(b";")
        if (len(line) > 1024 or len(size.rstrip(b" \t")) > 16 or (semicolon and size != size.rstrip(b" \t"))
                or _BARE.search(extension) or _CONTROL.search(extension)):
            return True
    names = [t.split(b":", 1)[0].strip().lower().decode("latin-1") for t in re.split(rb"\r?\n", trailers)]
    return (_BARE.search(trailers) is not None or re.search(rb"\n[ \t]", b"\n" + trailers) is not None
            or _CONTROL.search(trailers.replace(b"\r\n", b"")) is not None
            or any(names.count(name) > 1 for name in SINGLE))


# (rule, applies(data, what h11 read)); the rule names are the ones docs/SECURITY.md lists.
RULES: list[tuple[str, Callable[[bytes, Outcome], bool]]] = [
    ("a line of the head ends with a bare LF, or holds a bare CR",
     lambda data, ref: _BARE.search(_head(data)) is not None),
    ("a head over 64 KiB (431; h11 bounds only a head still arriving)",
     lambda data, ref: len(_head(data)) > MAX_HEAD_BYTES),
    ("more than 100 header fields (431)", lambda data, ref: len(_lines(data)) > MAX_HEADERS),
    ("obsolete line folding", lambda data, ref: any(line[:1] in (b" ", b"\t") for line in _lines(data))),
    ("a control byte or DEL in a field value",
     lambda data, ref: any(_CONTROL.search(line) for line in _lines(data))),
    ("a method this server does not implement (501)", lambda data, ref: ref.method not in METHODS),
    ("a target that is not a path starting with '/'", lambda data, ref: not ref.target.startswith("/")),
    ("an HTTP version other than 1.x (505)", lambda data, ref: not ref.version.startswith("1.")),
    ("no Host in a request of HTTP/1.1 or above (h11 asks it of 1.1 exactly)",
     lambda data, ref: ref.version not in ("1.0", "1.1") and "host" not in _names(data)),
    ("Content-Length, Transfer-Encoding, Host or Authorization repeated",
     lambda data, ref: any(_names(data).count(name) > 1 for name in SINGLE)),
    ("both Content-Length and Transfer-Encoding",
     lambda data, ref: {"content-length", "transfer-encoding"} <= set(_names(data))),
    ("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1: its framing is faulty)",
     lambda data, ref: ref.chunked and ref.version == "1.0"),
    ("Content-Length other than one run of ASCII digits (h11 takes a list of equal values)",
     lambda data, ref: (length := _length(data)) is not None and not length.isdigit()),
    ("Content-Length over 18 digits (413)",
     lambda data, ref: (length := _length(data)) is not None and len(length) > MAX_LENGTH_DIGITS),
    # h11 takes a bare CR, control bytes and anything after ';' in a chunk line, 20 hex
    # digits, bare LFs and folding in trailers, and repeated framing fields in trailers.
    ("in a chunked body: a chunk size over 16 hex digits, white space before ';', a bare CR, a "
     "control byte or over 1 KiB in a chunk line; in the trailers a bare LF or CR, a control byte, "
     "folding, or a repeated Content-Length, Transfer-Encoding, Host or Authorization", _chunk_rule),
]


def why_refused(data: bytes, reference: Outcome) -> list[str]:
    """The rules of ours that refuse data, which h11 accepted as reference."""
    return [rule for rule, applies in RULES if applies(data, reference)]
