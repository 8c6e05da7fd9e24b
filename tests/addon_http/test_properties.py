"""Property-based tests: result conversion and request parsing hold for any input.

Conversion never fails and always yields strict JSON; parsing a request head, an exec
body or a framed body either succeeds with exactly what was sent or fails with the
caller's 4xx, never with another exception (which would cost the connection its answer).
"""

from __future__ import annotations

import base64
import json
import math
import socket
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blender_http_addon.api.exec_request import ExecRequest, media_type, parse_exec, parse_timeout
from blender_http_addon.convert import to_json
from blender_http_addon.errors import HttpError
from blender_http_addon.http.head import (
    MAX_HEADERS,
    HeadError,
    Headers,
    parse_fields,
    parse_head,
    parse_request_line,
)
from blender_http_addon.http.request import BodyLimits, Request
from blender_http_addon.http.response import Response
from blender_http_addon.http.socket_io import SocketReader
from blender_http_addon.protocol import MAX_TIMEOUT_S
from blender_http_addon.protocol import SESSION_NAME_PATTERN as NAME_PATTERN

# No deadline on a shared machine; no example database: CI starts from a fresh clone,
# and the work tree stays clean.
relaxed = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# -- result conversion ---------------------------------------------------------------------

# Every text, lone surrogates included: user code can make those.
any_text = st.text(st.characters(blacklist_categories=()), max_size=20)
huge_ints = st.integers(0, 6000).map(lambda digits: -(10 ** digits))


class Opaque:
    """A user object with nothing JSON knows about."""

    def __repr__(self) -> str:
        return "<Opaque>"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


hashable_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), huge_ints, st.floats(), any_text, st.binary(max_size=16),
    st.complex_numbers(), st.builds(Opaque), st.builds(BrokenRepr),
)
hashables = st.recursive(hashable_scalars, lambda inner: st.one_of(
    st.tuples(inner, inner), st.frozensets(inner, max_size=3)), max_leaves=6)
values = st.recursive(
    st.one_of(hashables, st.binary(max_size=32).map(bytearray), st.builds(object)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(inner),
        st.sets(hashables, max_size=5),
        st.dictionaries(hashables, inner, max_size=5),
    ),
    max_leaves=25,
)
json_native = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**200), 2**200),
              st.floats(allow_nan=False, allow_infinity=False), any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(any_text, inner, max_size=5)),
    max_leaves=25,
)


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            yield from _walk(item)


@relaxed
@given(values)
def test_conversion_never_fails_and_is_strict_json(value: Any) -> None:
    converted = to_json(value)
    text = json.dumps(converted, allow_nan=False)
    assert json.loads(text) == json.loads(text)  # parses back (NaN would not equal itself)
    Response.json({"ok": True, "result": converted})  # the answer's own encoding works too
    for node in _walk(converted):
        assert node is None or type(node) in (bool, int, float, str, list, dict)
        if type(node) is float:
            assert math.isfinite(node)


@relaxed
@given(values)
def test_conversion_is_idempotent(value: Any) -> None:
    once = to_json(value)
    assert to_json(once) == once


@relaxed
@given(json_native)
def test_json_native_values_come_back_unchanged(value: Any) -> None:
    converted = to_json(value)
    assert converted == value
    assert json.loads(json.dumps(converted)) == value


@relaxed
@given(st.floats(), st.lists(st.floats(), max_size=5))
def test_floats_are_themselves_or_null_when_not_finite(single: float, many: list[float]) -> None:
    for given_value, converted in zip([single, *many], to_json([single, *many]), strict=True):
        assert converted == (given_value if math.isfinite(given_value) else None)


@relaxed
@given(st.binary(max_size=256))
def test_bytes_come_back_through_base64(data: bytes) -> None:
    for kind in (bytes, bytearray, memoryview):
        assert base64.b64decode(to_json(kind(data))["$bytes"]) == data


@relaxed
@given(st.sets(st.integers(), max_size=20) | st.frozensets(any_text, max_size=20))
def test_sets_become_sorted_lists_of_their_items(items: set[Any] | frozenset[Any]) -> None:
    assert to_json(items) == sorted(items)


# -- request line and header fields --------------------------------------------------------

methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"])
targets = st.text(string.ascii_letters + string.digits + "/?=&%._-~", max_size=40).map(lambda t: "/" + t)
field_names = st.text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=20)
field_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF, blacklist_characters="\x7f"),
                       max_size=40).map(lambda v: v.replace(",", ""))


@relaxed
@given(st.binary(max_size=200))
def test_any_request_line_parses_or_is_refused_with_4xx_or_505(raw: bytes) -> None:
    try:
        method, target, version = parse_request_line(raw)
    except HeadError as exc:
        assert exc.status in (400, 414, 501, 505)
        return
    assert target.startswith("/") and version[0] == 1
    assert method and " " not in method


@relaxed
@given(methods, targets, st.integers(0, 9))
def test_well_formed_request_lines_parse_back(method: str, target: str, minor: int) -> None:
    line = f"{method} {target} HTTP/1.{minor}".encode()
    assert parse_request_line(line) == (method, target, (1, minor))


@relaxed
@given(st.lists(st.binary(max_size=80), max_size=MAX_HEADERS + 5), st.booleans())
def test_any_header_bytes_parse_or_are_refused_with_4xx(lines: list[bytes], end_head: bool) -> None:
    data = b"GET / HTTP/1.0\r\n" + b"\r\n".join(line.replace(b"\n", b"") for line in lines)
    data += b"\r\n\r\n" if end_head else b""
    try:
        head = parse_head(data)
    except HeadError as exc:
        assert exc.status in (400, 431, 501)
        return
    if head is None:
        assert not end_head
        return
    headers = head.headers
    assert isinstance(headers, Headers)
    assert all(name == name.lower() and name.strip() == name for name in headers)


@relaxed
@given(st.lists(st.tuples(field_names, field_values), max_size=MAX_HEADERS))
def test_well_formed_header_fields_read_back(fields: list[tuple[str, str]]) -> None:
    single = {"content-length", "transfer-encoding", "host", "authorization"}
    names = [name.lower() for name, _ in fields]
    lines = [f"{name}: {value}".encode("latin-1") for name, value in fields]
    repeated_single = any(names.count(n) > 1 for n in single)
    try:
        headers = parse_fields(lines)
    except HeadError as exc:
        assert repeated_single and exc.status == 400
        return
    assert not repeated_single
    expected: dict[str, list[str]] = {}
    for name, value in fields:
        expected.setdefault(name.lower(), []).append(value.strip(" \t"))  # OWS is SP and HTAB only
    assert dict(headers) == {name: ", ".join(parts) for name, parts in expected.items()}
    for name, _ in fields:
        assert headers.get(name.upper()) == headers[name.lower()]


# -- exec bodies ---------------------------------------------------------------------------

content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "text/plain", "text/x-python", "application/x-python",
                     "application/x-www-form-urlencoded", "text/plain; charset=utf-8",
                     "application/json; charset=UTF-8", "text/plain; charset=latin-1",
                     "application/xml", "multipart/form-data; boundary=x"]),
    st.text(st.characters(max_codepoint=0xFF), max_size=40),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=10,
)
queries = st.dictionaries(st.sampled_from(["session", "timeout", "other"]), any_text, max_size=3)
codes = any_text.filter(lambda code: code.strip() and "\x00" not in code)
sessions = st.from_regex(NAME_PATTERN, fullmatch=True)


@relaxed
@given(content_types, st.binary(max_size=200), queries)
def test_any_exec_body_parses_or_is_refused_with_400_or_415(content_type: str | None, body: bytes,
                                                            query: dict[str, str]) -> None:
    try:
        request = parse_exec(content_type, body, query)
    except HttpError as exc:
        assert exc.status in (400, 415)
        assert exc.body()["ok"] is False
        return
    assert isinstance(request, ExecRequest)
    assert request.code.strip() and "\x00" not in request.code
    assert request.timeout is None or (math.isfinite(request.timeout) and request.timeout > 0)


@relaxed
@given(content_types, json_values, queries)
def test_any_json_document_parses_or_is_refused_with_400_or_415(content_type: str | None, document: Any,
                                                                query: dict[str, str]) -> None:
    body = json.dumps(document).encode()
    try:
        parse_exec("application/json", body, query)
    except HttpError as exc:
        assert exc.status == 400
    try:
        parse_exec(content_type, body, query)
    except HttpError as exc:
        assert exc.status in (400, 415)


@relaxed
@given(codes, st.dictionaries(any_text, json_values, max_size=4), st.none() | sessions,
       st.none() | st.floats(min_value=1e-3, max_value=MAX_TIMEOUT_S))
def test_valid_json_exec_requests_parse_to_what_was_sent(code: str, args: dict[str, Any],
                                                         session: str | None, timeout: float | None) -> None:
    body = json.dumps({"code": code, "args": args, "session": session, "timeout": timeout}).encode()
    assert parse_exec("application/json", body, {}) == ExecRequest(code, args, session, timeout)


@relaxed
@given(codes, st.none() | sessions,
       st.none() | st.floats(min_value=1e-3, max_value=MAX_TIMEOUT_S))
def test_raw_code_bodies_are_the_code_itself(code: str, session: str | None, timeout: float | None) -> None:
    try:
        body = code.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot travel as UTF-8 at all
        return
    query = {k: str(v) for k, v in (("session", session), ("timeout", timeout)) if v is not None}
    parsed = parse_exec("text/plain", body, query)
    assert (parsed.code, parsed.session, parsed.timeout) == (code, session, timeout)


@relaxed
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text,
                 st.lists(st.integers(), max_size=2), st.dictionaries(any_text, st.integers(), max_size=2)))
def test_timeouts_are_positive_finite_seconds_or_400(value: Any) -> None:
    try:
        seconds = parse_timeout(value)
    except HttpError as exc:
        assert exc.status == 400
        return
    assert seconds is None or (math.isfinite(seconds) and seconds > 0)


@relaxed
@given(st.none() | st.text(st.characters(max_codepoint=0xFF), max_size=60))
def test_media_type_never_fails(content_type: str | None) -> None:
    kind, params = media_type(content_type)
    assert kind == kind.lower() and kind == kind.strip()
    assert all(key == key.strip().lower() for key in params)


# -- framed bodies (Content-Length and chunked) ----------------------------------------------

LIMITS = BodyLimits(max_bytes=4096, timeout=5.0, idle_timeout=5.0)


def _request(headers: dict[str, str], body: bytes, limit: int | None = None) -> bytes:
    """Read the body of a request whose head held headers and whose socket then held body;
    a head the parser refuses raises HttpError with its status, as the connection answers."""
    fields = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw = f"POST /exec HTTP/1.1\r\nHost: x\r\n{fields}\r\n".encode("latin-1")
    try:
        head = parse_head(raw)
    except HeadError as exc:
        raise HttpError(exc.status, exc.message, close=True) from None
    assert head is not None
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(body)
        theirs.shutdown(socket.SHUT_WR)  # what is not sent by now never comes: no waiting
        ours.settimeout(5.0)
        request = Request(head, SocketReader(ours), LIMITS, send_continue=lambda: None)
        data = request.body(limit)
        assert request.body_done
        return data


def _chunked(chunks: list[bytes], extension: bool, trailer: bool) -> bytes:
    encoded = b"".join(b"%x%s\r\n%s\r\n" % (len(c), b";ext=1" if extension else b"", c) for c in chunks if c)
    return encoded + b"0\r\n" + (b"X-Trailer: 1\r\n" if trailer else b"") + b"\r\n"


@relaxed
@given(st.lists(st.binary(min_size=1, max_size=300), max_size=8), st.booleans(), st.booleans())
def test_chunked_bodies_decode_to_what_was_sent(chunks: list[bytes], extension: bool, trailer: bool) -> None:
    framed = _chunked(chunks, extension, trailer)
    assert _request({"Transfer-Encoding": "chunked"}, framed) == b"".join(chunks)


@relaxed
@given(st.binary(max_size=3000))
def test_content_length_bodies_read_back(body: bytes) -> None:
    assert _request({"Content-Length": str(len(body))}, body) == body


@relaxed
@given(st.binary(max_size=300))
def test_any_chunked_bytes_decode_or_are_refused_with_4xx(data: bytes) -> None:
    try:
        _request({"Transfer-Encoding": "chunked"}, data)
    except HttpError as exc:
        assert exc.status in (400, 413) and exc.close


@relaxed
@given(st.text(st.characters(max_codepoint=0xFF), max_size=12), st.binary(max_size=64))
def test_any_content_length_value_frames_or_is_refused_with_4xx(value: str, body: bytes) -> None:
    try:
        data = _request({"Content-Length": value}, body)
    except HttpError as exc:
        assert exc.status in (400, 413)
        return
    # Only plain decimal digits (around them spaces and tabs only) frame a body, and
    # exactly that many bytes of it.
    assert value.strip(" \t").isascii() and value.strip(" \t").isdigit()
    assert data == body[:int(value)]


@relaxed
@given(st.sampled_from(["f_f", "+f", "0x10", "-0", "1_0", "\uff11"]))
def test_chunk_sizes_are_plain_hex_digits(size: str) -> None:
    # Each is a number to int(text, 16); a body framed by that number is still refused.
    encoded = size.encode()
    try:
        framed = int(encoded, 16)
    except ValueError:
        framed = 1
    with pytest.raises(HttpError) as info:
        _request({"Transfer-Encoding": "chunked"}, encoded + b"\r\n" + b"x" * framed + b"\r\n0\r\n\r\n")
    assert info.value.status == 400


@relaxed
@given(st.integers(1, 64), st.integers(0, 64))
def test_bodies_over_the_limit_are_413(limit: int, extra: int) -> None:
    body = b"x" * (limit + 1 + extra)
    for headers, framed in (({"Content-Length": str(len(body))}, body),
                            ({"Transfer-Encoding": "chunked"}, _chunked([body], False, False))):
        with pytest.raises(HttpError) as info:
            _request(headers, framed, limit)
        assert info.value.status == 413
