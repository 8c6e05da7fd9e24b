"""Parsing the body of POST /exec and POST /jobs into an ExecRequest (or a 4xx): JSON, the
code as text, or a multipart form whose other parts are binary arguments (SPEC 3.7)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import HttpError
from ..http.multipart import Part
from ..protocol import JSON, MAX_TIMEOUT_S, NPY, SESSION_NAME_PATTERN, SESSION_NAME_RULE
from .npy import read_npy

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

    def fingerprint(self, method: str, route: str) -> str:
        """A digest of the request, remembered with its Idempotency-Key: what a retry sends
        again. The method, the route, the code, the args (binary ones by their bytes, an
        array also by its dtype and shape), the session and the timeout: a retry of the same
        call has the same timeout, and another one is another request (it may end otherwise).
        How the body was sent (JSON, text, multipart and its boundary) and the Accept header
        do not count."""
        digest = hashlib.sha256()

        def binary(value: Any) -> Any:
            if isinstance(value, (bytes, bytearray, memoryview)):
                digest.update(value)
                return {"$bytes": len(value)}
            if hasattr(value, "dtype") and hasattr(value, "tobytes"):  # from read_npy
                try:
                    digest.update(value)  # without a copy when contiguous
                except (TypeError, ValueError, BufferError):
                    digest.update(value.tobytes())
                return {"$array": [value.dtype.str, list(value.shape)]}
            raise TypeError(f"{type(value).__name__} is not an argument a request can carry")

        fields = [method, route, self.code, self.args, self.session, self.timeout]
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=binary)
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


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
        raise HttpError(415, f"Content-Type {kind!r} is not supported; send application/json, "
                             "the code as text/plain, or multipart/form-data with binary arguments")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, f"the body is not valid UTF-8 (byte {exc.start})") from None
    fields = _json_fields(text) if kind in JSON_TYPES else _json_body_as_text(text) or {"code": text}
    return _validate(_with_query(fields, query))


def _json_body_as_text(text: str) -> dict[str, Any] | None:
    """The fields of a JSON body sent without its content type (curl -d sends its default
    form type): a JSON object with a string "code" and only the JSON body's fields. As code
    it would run as a dict literal and answer itself: a silent wrong answer."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and isinstance(data.get("code"), str) and set(data) <= FIELDS:
        return data
    return None


def parse_exec_form(parts: dict[str, Part], query: Mapping[str, str]) -> ExecRequest:
    """The exec request of a multipart form: a `request` part (the JSON body) or a `code`
    part (session and timeout in the query); every other part is a binary argument."""
    binaries = dict(parts)
    request, code = binaries.pop("request", None), binaries.pop("code", None)
    if request is not None and code is not None:
        raise HttpError(400, "send either a 'request' part (JSON) or a 'code' part, not both")
    if request is not None:
        _check_text_part(request, (JSON, "text/plain"))
        fields = _json_fields(_part_text(request))
    elif code is not None:
        _check_text_part(code, tuple(CODE_TYPES))
        fields = {"code": _part_text(code)}
    else:
        raise HttpError(400, "a multipart exec needs a part named 'request' (the JSON body) "
                             "or 'code' (the code as text)")
    parsed = _validate(_with_query(fields, query))
    clash = sorted(set(binaries) & set(parsed.args))
    if clash:
        raise HttpError(400, f"argument(s) {', '.join(map(repr, clash))} given both in 'args' and "
                             "as a form part")
    # Validated first, decoded last: a bad request runs nothing and reads no array.
    args = {**parsed.args, **{name: binary_argument(part) for name, part in binaries.items()}}
    return dataclasses.replace(parsed, args=args)


def binary_argument(part: Part) -> Any:
    """A numpy array for an .npy part (sharing the body's buffer), else the part's bytes."""
    if part.content_type == NPY or (part.filename or "").lower().endswith(".npy"):
        return read_npy(part.data, part.name)
    return bytes(part.data)


def _with_query(fields: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    for name in ("session", "timeout"):
        if name in query:
            if name in fields and fields[name] is not None:
                raise HttpError(400, f"{name!r} is given both in the body and in the query")
            fields[name] = query[name]
    return fields


def _check_text_part(part: Part, kinds: tuple[str, ...]) -> None:
    if part.content_type not in kinds:
        raise HttpError(415, f"the {part.name!r} part is {part.content_type!r}; send "
                             f"{' or '.join(k for k in kinds if k) }")


def _part_text(part: Part) -> str:
    try:
        return str(part.data, "utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, f"the {part.name!r} part is not valid UTF-8 (byte {exc.start})") from None


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
