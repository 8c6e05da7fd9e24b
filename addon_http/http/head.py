"""The one parser of a request's head: request line, header fields, and how the body is framed.

Both paths that serve requests use it: a connection thread once the head has arrived,
and the main loop deciding whether a parked connection holds a whole request. Two
parsers that disagree on where a request ends are how requests get smuggled or a
connection stalls, so there is only this one, and it is strict. The rules (also in
docs/SECURITY.md, and checked against h11 by tests/fuzz):

- lines end with CRLF; a bare LF or a bare CR anywhere in the head is refused (400);
- request line: `METHOD SP target SP HTTP/1.x`, single spaces, a token method, a
  target of visible ASCII starting with '/'; another major version is 505; a method
  this server does not implement is 501; a request line over MAX_LINE bytes is 414;
- header fields: a token name, a colon, a value of visible characters, spaces, tabs
  and obs-text (0x80-0xFF); other control bytes, obsolete line folding and white
  space before the colon are refused (400);
- Content-Length is ASCII digits only; Transfer-Encoding is `chunked` only (else
  501) and only in HTTP/1.1; both together, or either one repeated, is 400;
- `Expect: 100-continue` counts in an HTTP/1.1 request, alone or in a list;
- Host, Authorization, Content-Length and Transfer-Encoding may not repeat, and an
  HTTP/1.1 request must carry a Host (RFC 9112 3.2);
- the head is at most MAX_HEAD_BYTES with at most MAX_HEADERS fields (431).

The standard library parses header fields with the email package, which costs about
as much as everything else an exec does; this parser is a fraction of that.
"""

from __future__ import annotations

import dataclasses
import re
from typing import overload

MAX_HEADERS = 100
MAX_LINE = 65536
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# The whole head, request line included: one bound instead of one per line.
MAX_HEAD_BYTES = 65536
# Fields whose repetition would let two parsers disagree on where a request ends or
# whom it is for (request smuggling, Host confusion).
SINGLE = frozenset({"content-length", "transfer-encoding", "host", "authorization"})
# A longer Content-Length is a number past every limit (413), not one to convert.
MAX_LENGTH_DIGITS = 18
HUGE = 1 << 62

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# A value: visible characters and obs-text, with spaces and tabs only between them.
_VALUE = rb"(?:[\x21-\x7e\x80-\xff]|[ \t]+(?=[^ \t]))*"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
_FIELD = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(" + _VALUE + rb")[ \t]*")
_DIGITS = re.compile(rb"[0-9]+")


class HeadError(Exception):
    """The head cannot be read; carries the status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Headers(dict[str, str]):
    """Header fields by lower-case name; get() takes any case."""

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


@dataclasses.dataclass(frozen=True)
class Head:
    method: str
    target: str
    version: tuple[int, int]
    headers: Headers
    # Bytes of the head, the empty line that ends it included: where the body starts.
    size: int
    # The body's framing: a length (0 for none) or chunked.
    content_length: int
    chunked: bool
    keep_alive: bool
    expect_continue: bool

    def whole_in(self, buffered: int) -> bool:
        """True when buffered bytes hold this head and its whole (non-chunked) body."""
        return not self.chunked and buffered >= self.size + self.content_length


def parse_head(buffer: bytes | bytearray) -> Head | None:
    """The head at the start of buffer; None while it has not all arrived; HeadError for
    a head that can never be valid, as soon as that shows."""
    end = buffer.find(b"\r\n\r\n")
    region = bytes(buffer[:end + 2] if end >= 0 else buffer[:MAX_HEAD_BYTES + 4])
    _check_line_ends(region, complete=end >= 0)
    first = region.find(b"\r\n")
    if first > MAX_LINE or (first < 0 and len(buffer) > MAX_LINE):
        raise HeadError(414, f"the request line is over {MAX_LINE} bytes")
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise HeadError(431, f"the request head is over {MAX_HEAD_BYTES} bytes")
        if first >= 0:  # refuse a bad request line at once, not after the head timeout
            parse_request_line(region[:first])
        return None
    if end + 4 > MAX_HEAD_BYTES:
        raise HeadError(431, f"the request head is over {MAX_HEAD_BYTES} bytes")
    lines = region.split(b"\r\n")[:-1]
    method, target, version = parse_request_line(lines[0])
    headers = parse_fields(lines[1:])
    length, chunked = _framing(headers)
    if chunked and version < (1, 1):
        # RFC 9112 6.1: its framing is faulty; a 1.0 proxy in front would not read it so.
        raise HeadError(400, "Transfer-Encoding needs HTTP/1.1; an HTTP/1.0 request uses Content-Length")
    if version >= (1, 1) and "host" not in headers:
        raise HeadError(400, "an HTTP/1.1 request needs a Host header")
    tokens = _tokens(headers.get("connection", ""))
    keep_alive = "close" not in tokens and (version >= (1, 1) or "keep-alive" in tokens)
    # As h11 reads it: the token anywhere in the list, the field repeated or not. Reading
    # less would leave a client waiting for a 100 that never comes.
    expect = version >= (1, 1) and "100-continue" in _tokens(headers.get("expect", ""))
    return Head(method, target, version, headers, end + 4, length, chunked, keep_alive, expect)


def parse_request_line(line: bytes) -> tuple[str, str, tuple[int, int]]:
    """(method, target, (major, minor)) of a request line without its CRLF."""
    found = _REQUEST_LINE.fullmatch(line)
    if found is None:
        raise HeadError(400, f"bad request line {line[:100]!r}")
    method, target = found.group(1).decode("ascii"), found.group(2).decode("ascii")
    major, minor = int(found.group(3)), int(found.group(4))
    if major != 1:
        raise HeadError(505, f"HTTP/{major}.{minor} is not supported; use HTTP/1.1")
    if not target.startswith("/"):
        raise HeadError(400, "the request target must be a path starting with '/'")
    if method not in METHODS:
        raise HeadError(501, f"method {method[:20]!r} is not implemented; use one of "
                             f"{', '.join(sorted(METHODS))}")
    return method, target, (major, minor)


def parse_fields(lines: list[bytes]) -> Headers:
    """Header (or trailer) field lines, without their CRLF, into Headers."""
    if len(lines) > MAX_HEADERS:
        raise HeadError(431, f"more than {MAX_HEADERS} header fields")
    headers = Headers()
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise HeadError(400, "obsolete header line folding is not accepted")
        found = _FIELD.fullmatch(line)
        if found is None:
            raise HeadError(400, f"malformed header line {line[:100]!r}")
        key = found.group(1).decode("ascii").lower()
        value = found.group(2).decode("iso-8859-1")
        if key in headers:
            if key in SINGLE:
                raise HeadError(400, f"the {key} header is repeated")
            headers[key] += ", " + value
        else:
            headers[key] = value
    return headers


def _tokens(value: str) -> set[str]:
    """The items of a comma-separated list field, lower case."""
    return {item.strip() for item in value.lower().split(",")}


def _check_line_ends(region: bytes, *, complete: bool) -> None:
    # RFC 9112 2.2: parsers disagree on a bare LF or CR (some end the line there), so a
    # head holding one is refused, before the rest of it has even arrived.
    if not complete and region.endswith(b"\r"):
        region = region[:-1]  # its LF may still be on the way
    crlf = region.count(b"\r\n")
    if region.count(b"\n") != crlf:
        raise HeadError(400, "a line of the request head ends with a bare LF; end lines with CRLF")
    if region.count(b"\r") != crlf:
        raise HeadError(400, "the request head holds a bare CR")


def _framing(headers: Headers) -> tuple[int, bool]:
    encoding = headers.get("transfer-encoding")
    raw = headers.get("content-length")
    if encoding is not None and raw is not None:
        # Two framings: a proxy in front may have used the other one (request smuggling).
        raise HeadError(400, "both Transfer-Encoding and Content-Length are set")
    if encoding is not None:
        if encoding.lower() != "chunked":
            raise HeadError(501, f"Transfer-Encoding {encoding[:40]!r} is not supported; use chunked")
        return 0, True
    if raw is None:
        return 0, False
    if not _DIGITS.fullmatch(raw.encode("iso-8859-1")):
        raise HeadError(400, "Content-Length must be ASCII digits only")
    return (int(raw) if len(raw) <= MAX_LENGTH_DIGITS else HUGE), False
