"""Reading a request's headers straight from its ASGI scope.

Starlette's Headers decode the whole list and raise (and catch) a KeyError for every name
that is missing; the hot path asks for a few names per request, most of them absent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def raw_header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    """The first value of header `name` (lower case, as ASGI gives names), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    value = raw_header(scope, name)
    return None if value is None else value.decode("latin-1")
