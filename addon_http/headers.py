"""Reading a request's head (request line and header fields).

The standard library parses header fields with the email package, which costs about
as much as everything else an exec does; this reader keeps its limits and checks
(line length, header count, no obsolete line folding) at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

MAX_LINE = 65536
MAX_HEADERS = 100
# All header lines together: without it, 100 lines of 64 KiB each would be accepted.
MAX_HEAD_BYTES = 65536
# Fields whose repetition would let two parsers disagree on where a request ends or
# whom it is for (request smuggling, Host confusion).
SINGLE = frozenset({"content-length", "transfer-encoding", "host", "authorization"})


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


def parse_request_line(raw: bytes) -> tuple[str, str, tuple[int, int]]:
    """(method, target, (major, minor)) of a request line."""
    words = raw.decode("iso-8859-1").rstrip("\r\n").split()
    if len(words) != 3:
        raise HeadError(400, f"bad request line {raw[:100]!r}")
    method, target, version = words
    if not version.startswith("HTTP/"):
        raise HeadError(400, f"bad HTTP version {version[:20]!r}")
    try:
        major_text, minor_text = version[5:].split(".")
        major, minor = int(major_text), int(minor_text)
    except ValueError:
        raise HeadError(400, f"bad HTTP version {version[:20]!r}") from None
    if major != 1:
        raise HeadError(505, f"HTTP/{major}.{minor} is not supported; use HTTP/1.1")
    if not target.startswith("/"):
        raise HeadError(400, "the request target must be a path starting with '/'")
    return method, target, (major, minor)


def read_headers(readline: Callable[[int], bytes]) -> Headers:
    """Header fields up to the empty line that ends the head."""
    headers = Headers()
    count = size = 0
    while True:
        line = readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HeadError(431, "a header line is too long")
        size += len(line)
        if size > MAX_HEAD_BYTES:
            raise HeadError(431, f"the header fields are over {MAX_HEAD_BYTES} bytes")
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise HeadError(400, "the connection closed inside the request head")
        count += 1
        if count > MAX_HEADERS:
            raise HeadError(431, f"more than {MAX_HEADERS} header fields")
        if line[:1] in (b" ", b"\t"):
            raise HeadError(400, "obsolete header line folding is not accepted")
        if b"\x00" in line or b"\r" in line.rstrip(b"\r\n"):
            # RFC 9110 5.5: parsers disagree on these (some end the line at a bare CR).
            raise HeadError(400, "a header line holds a NUL or a bare CR")
        name, sep, value = line.decode("iso-8859-1").partition(":")
        if not sep or not name or name != name.strip():
            raise HeadError(400, f"malformed header line {line[:100]!r}")
        key = name.lower()
        if key in headers:
            if key in SINGLE:
                raise HeadError(400, f"the {name} header is repeated")
            headers[key] += ", " + value.strip()
        else:
            headers[key] = value.strip()
