"""exec_request.parse_exec: the body and query of POST /exec and POST /jobs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blender_http_addon.api.exec_request import ExecRequest, media_type, parse_exec
from blender_http_addon.errors import HttpError

JSON = "application/json"


def parse_json(data: Any, query: dict[str, str] | None = None) -> ExecRequest:
    return parse_exec(JSON, json.dumps(data).encode(), query or {})


def refused(content_type: str | None, body: bytes, query: dict[str, str] | None = None) -> HttpError:
    with pytest.raises(HttpError) as info:
        parse_exec(content_type, body, query or {})
    error = info.value
    assert error.body()["ok"] is False
    assert set(error.body()["error"]) >= {"type", "message"}
    return error


def test_json_body_with_every_field() -> None:
    request = parse_json({"code": "x + 1", "args": {"x": 1}, "session": "s-1.a_b", "timeout": 2.5})
    assert request == ExecRequest(code="x + 1", args={"x": 1}, session="s-1.a_b", timeout=2.5)


def test_json_body_with_code_only_has_defaults() -> None:
    assert parse_json({"code": "1"}) == ExecRequest(code="1", args={}, session=None, timeout=None)


def test_json_nulls_mean_not_given() -> None:
    assert parse_json({"code": "1", "args": None, "session": None, "timeout": None}) == ExecRequest("1")


def test_json_content_type_with_utf8_charset() -> None:
    request = parse_exec("Application/JSON; charset=UTF-8", b'{"code": "1"}', {})
    assert request.code == "1"


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain; charset=utf-8", "text/x-python", "application/x-python",
    "application/x-www-form-urlencoded", None, "",
])
def test_raw_code_bodies(content_type: str | None) -> None:
    code = "a = 1+2\nprint('x=%s&y' % a)\n"
    request = parse_exec(content_type, code.encode(), {})
    assert request.code == code  # never form-decoded: '+' and '&' stay as sent
    assert request.args == {} and request.session is None and request.timeout is None


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_json_body_sent_as_text_is_read_as_json(content_type: str | None) -> None:
    # curl -d '{"code": "1+1"}' sends curl's form type: as code it would answer itself.
    body = b' {"code": "x + 1", "args": {"x": 1}, "timeout": 2}\n'
    assert parse_exec(content_type, body, {}) == ExecRequest(code="x + 1", args={"x": 1}, timeout=2.0)
    # Python that only looks like it stays Python: other keys, a code that is not a string.
    for code in (b'{"code": "1", "other": 2}', b'{"code": 1}', b'{"a": 1}', b"{1: 2}", b'{"code": "1"} | {}'):
        assert parse_exec(content_type, code, {}).code == code.decode()


def test_raw_body_takes_session_and_timeout_from_the_query() -> None:
    request = parse_exec("text/plain", b"1", {"session": "s1", "timeout": "1.5"})
    assert (request.session, request.timeout) == ("s1", 1.5)


def test_json_body_takes_session_and_timeout_from_the_query() -> None:
    request = parse_json({"code": "1"}, {"session": "s1", "timeout": "3"})
    assert (request.session, request.timeout) == ("s1", 3.0)


@pytest.mark.parametrize(("body", "why"), [
    (b"{", "bad JSON"),
    (b"", "empty JSON"),
    (b"[1, 2]", "non-object JSON"),
    (b'"print(1)"', "non-object JSON"),
    (b"{}", "missing code"),
    (b'{"args": {}}', "missing code"),
    (b'{"code": 1}', "code not str"),
    (b'{"code": ["1"]}', "code not str"),
    (b'{"code": ""}', "empty code"),
    (b'{"code": "  \\n\\t"}', "blank code"),
    (b'{"code": "1\\u0000"}', "NUL in code"),
    (b'{"code": "1", "cmd": "x"}', "unknown field"),
    (b'{"code": "1", "args": [1]}', "args not object"),
    (b'{"code": "1", "args": "x=1"}', "args not object"),
    (b'{"code": "1", "session": "has space"}', "bad session name"),
    (b'{"code": "1", "session": "../x"}', "bad session name"),
    (b'{"code": "1", "session": ""}', "bad session name"),
    (b'{"code": "1", "session": 5}', "session not str"),
    (b'{"code": "1", "session": "' + b"s" * 65 + b'"}', "session too long"),
    (b'{"code": "1", "timeout": "soon"}', "bad timeout"),
    (b'{"code": "1", "timeout": true}', "bool timeout"),
    (b'{"code": "1", "timeout": [1]}', "list timeout"),
    (b'{"code": "1", "timeout": 0}', "zero timeout"),
    (b'{"code": "1", "timeout": -1}', "negative timeout"),
    (b'{"code": "1", "timeout": NaN}', "NaN timeout"),
    (b'{"code": "1", "timeout": Infinity}', "infinite timeout"),
    (b'{"code": "\xff"}', "invalid UTF-8"),
])
def test_bad_json_bodies_are_400(body: bytes, why: str) -> None:
    assert refused(JSON, body).status == 400, why


@pytest.mark.parametrize("query", [
    {"timeout": "abc"}, {"timeout": "-2"}, {"timeout": "nan"}, {"timeout": "inf"},
    {"timeout": "0"}, {"session": "bad name"}, {"session": ""},
])
def test_bad_query_values_are_400(query: dict[str, str]) -> None:
    assert refused("text/plain", b"1", query).status == 400


@pytest.mark.parametrize("name", ["session", "timeout"])
def test_field_in_body_and_query_is_400(name: str) -> None:
    body = json.dumps({"code": "1", name: "s1" if name == "session" else 1}).encode()
    error = refused(JSON, body, {name: "s1" if name == "session" else "1"})
    assert error.status == 400
    assert name in error.message


def test_raw_invalid_utf8_is_400() -> None:
    assert refused("text/plain", b"print('\xc3\x28')").status == 400


def test_raw_empty_body_is_400() -> None:
    assert refused("text/plain", b"").status == 400


@pytest.mark.parametrize("content_type", [
    "application/xml", "multipart/form-data; boundary=x", "application/octet-stream", "image/png",
    "application/vnd.api+json",
])
def test_other_content_types_are_415(content_type: str) -> None:
    error = refused(content_type, b"1")
    assert (error.status, error.type) == (415, "UnsupportedMediaType")


@pytest.mark.parametrize("content_type", [
    "text/plain; charset=latin-1", "application/json; charset=utf-16", "text/x-python; charset=cp1252",
])
def test_non_utf8_charsets_are_415(content_type: str) -> None:
    assert refused(content_type, b'{"code": "1"}').status == 415


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", '"utf-8"', "us-ascii"])
def test_utf8_and_ascii_charsets_are_accepted(charset: str) -> None:
    assert parse_exec(f"text/plain; charset={charset}", b"1", {}).code == "1"


def test_media_type() -> None:
    assert media_type(None) == ("", {})
    assert media_type('Text/Plain; Charset="UTF-8"; x=1') == ("text/plain", {"charset": "utf-8", "x": "1"})
