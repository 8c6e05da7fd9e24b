"""multipart/form-data bodies (RFC 7578): the parts of a form by name, with their bytes.

The body is read once into one buffer sized from Content-Length; each part's data is a
memoryview into that buffer, so a part becomes an array without another copy. The rules
(strict, as for the request head; checked against python-multipart by
tests/addon_http/test_multipart_differential.py):

- the boundary is 1-70 of RFC 2046's bchars, not ending in a space;
- the body starts with "--" boundary (no preamble); an epilogue after the closing
  delimiter is ignored;
- a delimiter is CRLF "--" boundary at the start of a line, then CRLF, or "--" for the
  closing one (RFC 2046's optional padding before the CRLF is refused, as python-multipart,
  FastAPI's parser, refuses it); a form without its closing delimiter is truncated (400),
  and a line that starts with "--" boundary but goes on is malformed;
- each part's header fields go through the request head's parser (head.parse_fields:
  CRLF only, no folding, visible characters), at most MAX_HEAD_BYTES of them, none
  repeated (two Content-Dispositions would name the argument ambiguously);
- each part has `Content-Disposition: form-data; name="..."`, its name unique and not
  empty; parameter values are tokens or quoted strings (backslash escapes one character)
  and hold UTF-8; Content-Transfer-Encoding, deprecated by RFC 7578, may only be 7bit,
  8bit or binary (nothing is decoded);
- Content-Type defaults to text/plain.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from ..errors import HttpError
from .head import MAX_HEAD_BYTES, HeadError, Headers, parse_fields

if TYPE_CHECKING:
    from .request import Request

MULTIPART = "multipart/form-data"
MAX_PARTS = 1000
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(r";[ \t]*(" + _TOKEN + r")[ \t]*=[ \t]*(\"(?:[^\"\\]|\\.)*\"|" + _TOKEN + r")[ \t]*")
_VALUE = re.compile(r"[ \t]*(" + _TOKEN + r"(?:/" + _TOKEN + r")?)[ \t]*")
_ESCAPE = re.compile(r"\\(.)")
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
PLAIN_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


@dataclasses.dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    # The lower-case media type without parameters; text/plain when none was given.
    content_type: str
    headers: Headers
    data: memoryview


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == MULTIPART


def read_form(req: Request, limit: int) -> dict[str, Part]:
    """The parts of a multipart/form-data request body of at most limit bytes (413 past it)."""
    boundary = boundary_of(req.content_type or "")
    return parse_form(read_body(req, limit), boundary)


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart Content-Type, as bytes."""
    try:
        _, params = parse_parameters(content_type)
    except HttpError:
        raise HttpError(400, f"malformed Content-Type {content_type[:200]!r}") from None
    boundary = params.get("boundary")
    if boundary is None or not _BOUNDARY.fullmatch(boundary):
        raise HttpError(400, "multipart/form-data needs a boundary parameter of 1-70 letters, "
                             "digits or '()+_,-./:=? (RFC 2046)")
    return boundary.encode("ascii")


def read_body(req: Request, limit: int) -> bytearray:
    """The whole body in one buffer, grown as blocks arrive: never allocated from the
    claimed Content-Length, so a client that claims a gigabyte and sends five bytes costs
    five bytes (iter_body refuses a claim over the limit with 413 at once)."""
    body = bytearray()
    for block in req.iter_body(limit):
        body += block
    return body


def parse_form(body: bytes | bytearray, boundary: bytes) -> dict[str, Part]:
    """The parts of body by name; 400 for a malformed or truncated form."""
    dash = b"--" + boundary
    delimiter = b"\r\n" + dash
    view = memoryview(body)
    if not body.startswith(dash):
        raise HttpError(400, "the multipart body must start with its boundary line "
                             f"--{boundary.decode()[:70]}")
    at = len(dash)
    parts: dict[str, Part] = {}
    while not body.startswith(b"--", at):
        at = _after_delimiter_line(body, at)
        headers, at = _part_headers(body, at)
        end = body.find(delimiter, at)
        if end < 0:
            raise HttpError(400, "the multipart body ends before its closing boundary (truncated?)")
        part = _part(headers, view[at:end])
        if part.name in parts:
            raise HttpError(400, f"the form part {part.name!r} is given twice")
        if len(parts) >= MAX_PARTS:
            raise HttpError(400, f"the form has more than {MAX_PARTS} parts")
        parts[part.name] = part
        at = end + len(delimiter)
    return parts


def _after_delimiter_line(body: bytes | bytearray, at: int) -> int:
    """Where the part starts after a delimiter: past its CRLF."""
    if body.startswith(b"\r\n", at):
        return at + 2
    if len(body) - at < 2:
        raise HttpError(400, "the multipart body ends before its closing boundary (truncated?)")
    raise HttpError(400, "a multipart boundary line is followed by other text "
                         "(is the boundary also in the data?)")


def _part_headers(body: bytes | bytearray, at: int) -> tuple[Headers, int]:
    """A part's header fields, parsed like the request head's, and where its data starts."""
    if body.startswith(b"\r\n", at):
        return Headers(), at + 2
    end = body.find(b"\r\n\r\n", at, at + MAX_HEAD_BYTES)
    if end < 0:
        raise HttpError(400, "a form part's headers do not end (truncated, or over "
                             f"{MAX_HEAD_BYTES} bytes)")
    region = bytes(body[at:end])
    if region.count(b"\n") != region.count(b"\r") or region.count(b"\n") != region.count(b"\r\n"):
        raise HttpError(400, "a form part's header line ends with a bare CR or LF; end lines with CRLF")
    lines = region.split(b"\r\n")
    try:
        headers = parse_fields(lines)
    except HeadError as exc:
        raise HttpError(400, f"form part headers: {exc.message}") from None
    if len(headers) != len(lines):  # joined by parse_fields: which name or type would count?
        raise HttpError(400, "a form part repeats a header field")
    return headers, end + 4


def _part(headers: Headers, data: memoryview) -> Part:
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise HttpError(400, "a form part has no Content-Disposition header")
    kind, params = parse_parameters(disposition)
    if kind != "form-data":
        raise HttpError(400, f"a form part's Content-Disposition is {kind!r}, not form-data")
    name = _utf8(params.get("name"), "name")
    if not name:
        raise HttpError(400, "a form part has no name (Content-Disposition: form-data; name=\"...\")")
    encoding = headers.get("content-transfer-encoding")
    if encoding is not None and encoding.strip().lower() not in PLAIN_ENCODINGS:
        raise HttpError(400, f"form part {name!r}: Content-Transfer-Encoding {encoding[:40]!r} is "
                             "not supported; send the bytes as they are (binary)")
    content_type = headers.get("content-type")
    media = parse_parameters(content_type)[0] if content_type is not None else "text/plain"
    filename = params.get("filename")
    return Part(name, None if filename is None else _utf8(filename, "filename"), media, headers, data)


def parse_parameters(text: str) -> tuple[str, dict[str, str]]:
    """('lower-case value', params) of a header like `form-data; name="a"`; parameter names are
    lower-cased, values keep their case (a boundary is case-sensitive). 400 if malformed."""
    first = _VALUE.match(text)
    if first is None:
        raise HttpError(400, f"malformed header value {text[:200]!r}")
    params: dict[str, str] = {}
    at = first.end()
    while at < len(text):
        found = _PARAM.match(text, at)
        if found is None:
            raise HttpError(400, f"malformed parameters in {text[:200]!r}")
        key, value = found.group(1).lower(), found.group(2)
        if key in params:
            raise HttpError(400, f"parameter {key!r} is repeated in {text[:200]!r}")
        params[key] = _ESCAPE.sub(r"\1", value[1:-1]) if value.startswith('"') else value
        at = found.end()
    return first.group(1).lower(), params


def _utf8(value: str | None, what: str) -> str:
    # Header values were read as ISO-8859-1; form names and file names travel as UTF-8.
    if value is None:
        return ""
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        raise HttpError(400, f"a form part's {what} is not valid UTF-8") from None
