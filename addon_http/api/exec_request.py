"""Parsing the body of POST /exec and POST /jobs into an ExecRequest (or a 4xx)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import HttpError
from ..protocol import MAX_TIMEOUT_S, SESSION_NAME_PATTERN, SESSION_NAME_RULE

# Bodies that are the code itself. x-www-form-urlencoded is curl's default for
# --data-binary: the body is taken as it is, never form-decoded.
CODE_TYPES = frozenset({
    "text/plain", "text/x-python", "application/x-python", "text/x-script.python",
    "application/x-www-form-urlencoded", "",
})
JSON_TYPES = frozenset({"application/json"})
FIELDS = frozenset({"code", "args", "session", "timeout"})


@dataclasses.dataclass(frozen=True)
class ExecRequest:
    code: str
    args: dict[str, Any] = dataclasses.field(default_factory=dict)
    session: str | None = None
    timeout: float | None = None


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """('type/subtype', params) of a Content-Type header, lower-cased."""
    if not content_type:
        return "", {}
    head, *rest = content_type.split(";")
    params = {}
    for item in rest:
        key, _, value = item.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    return head.strip().lower(), params


def parse_exec(content_type: str | None, body: bytes, query: Mapping[str, str]) -> ExecRequest:
    """The exec request in a JSON or raw-code body; query parameters fill in session and
    timeout for raw bodies (and may not contradict a JSON body)."""
    kind, params = media_type(content_type)
    charset = params.get("charset", "utf-8")
    if charset not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise HttpError(415, f"charset {charset!r} is not supported; send UTF-8")
    if kind not in JSON_TYPES and kind not in CODE_TYPES:
        raise HttpError(415, f"Content-Type {kind!r} is not supported; send application/json "
                             "or the code as text/plain")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, f"the body is not valid UTF-8 (byte {exc.start})") from None
    if kind in JSON_TYPES:
        fields = _json_fields(text)
    else:
        fields = {"code": text}
    for name in ("session", "timeout"):
        if name in query:
            if name in fields and fields[name] is not None:
                raise HttpError(400, f"{name!r} is given both in the body and in the query")
            fields[name] = query[name]
    return _validate(fields)


def _json_fields(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HttpError(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise HttpError(400, "the JSON body is nested too deeply") from None
    if not isinstance(data, dict):
        raise HttpError(400, "the JSON body must be an object like {\"code\": \"...\"}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise HttpError(400, f"unknown field(s) {', '.join(unknown)}; expected code, args, "
                             "session, timeout")
    return data


def _validate(fields: dict[str, Any]) -> ExecRequest:
    code = fields.get("code")
    if code is None:
        raise HttpError(400, "missing 'code'")
    if not isinstance(code, str):
        raise HttpError(400, "'code' must be a string")
    if "\x00" in code:
        raise HttpError(400, "'code' contains a NUL character")
    if not code.strip():
        raise HttpError(400, "'code' is empty")
    args = fields.get("args")
    if args is None:
        args = {}
    elif not isinstance(args, dict):
        raise HttpError(400, "'args' must be a JSON object")
    session = fields.get("session")
    if session is not None and (not isinstance(session, str) or not SESSION_NAME_PATTERN.fullmatch(session)):
        raise HttpError(400, f"'session' must be {SESSION_NAME_RULE}")
    return ExecRequest(code=code, args=args, session=session, timeout=parse_timeout(fields.get("timeout")))


def parse_timeout(value: Any) -> float | None:
    """A positive number of seconds up to MAX_TIMEOUT_S, from JSON or a query string; None
    for none given. Checked before anything runs: a huge one would overflow the clocks it
    is added to only after the code had run."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise HttpError(400, "'timeout' must be a number of seconds")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise HttpError(400, "'timeout' must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise HttpError(400, "'timeout' must be a positive number of seconds")
    if seconds > MAX_TIMEOUT_S:
        raise HttpError(400, f"'timeout' must be at most {MAX_TIMEOUT_S:g} seconds (7 days)")
    return seconds
