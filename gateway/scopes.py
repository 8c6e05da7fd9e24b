"""Reading a request's headers straight from its ASGI scope.

Starlette's Headers decode and search the whole list per look-up and raise (and catch) a
KeyError for every name that is missing; the hot path asks for about ten names per request,
most of them absent. The headers become a dict once per request, kept in the scope."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

KEY = "blender_http.headers"
# Set in scope["state"] by the edge on GET /health (open to probes): whether the request
# carries a valid API key (or none is needed), so the route shows the workers only then.
KEY_HOLDER = "key_holder"


def headers_of(scope: MutableMapping[str, Any]) -> dict[bytes, bytes]:
    """The request's headers by name (lower case, as ASGI gives names): the first value of a
    name sent twice, as Starlette's Headers.get gives it."""
    found: dict[bytes, bytes] | None = scope.get(KEY)
    if found is None:
        found = scope[KEY] = dict(reversed(scope["headers"]))
    return found


def raw_header(scope: MutableMapping[str, Any], name: bytes) -> bytes | None:
    """The first value of header `name` (lower case), or None."""
    return headers_of(scope).get(name)


def header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    """raw_header(), decoded."""
    return text(headers_of(scope).get(name))


def text(value: bytes | None) -> str | None:
    """A header's value as text (latin-1, as HTTP has it)."""
    return None if value is None else value.decode("latin-1")


def set_headers(scope: MutableMapping[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    """Replace the request's headers (the edge marking a read-only key's request), and forget
    the ones read before."""
    scope["headers"] = headers
    scope.pop(KEY, None)
