"""The body of POST /render (and the query of GET /screenshot), checked for types and
ranges before anything waits on Blender; names (engine, camera) are checked there."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from ..errors import HttpError
from ..protocol import MAX_RENDER_SAMPLES, MAX_RENDER_SIZE

FIELDS = ("engine", "width", "height", "samples", "camera", "frame")


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """What to change for one render; None keeps the scene's own setting."""

    engine: str | None = None
    width: int | None = None
    height: int | None = None
    samples: int | None = None
    camera: str | None = None
    frame: int | None = None


def parse_body(body: bytes) -> RenderOptions:
    """Options from a JSON object body (an empty body means the scene's settings)."""
    if not body.strip():
        return RenderOptions()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise HttpError(400, "the body is not valid JSON; send an object like "
                             '{"width": 640, "height": 360}') from None
    if not isinstance(data, dict):
        raise HttpError(400, 'the body must be a JSON object like {"width": 640, "height": 360}')
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise HttpError(400, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(FIELDS)}")
    return from_mapping(data)


def parse_query(query: Mapping[str, str]) -> RenderOptions:
    """Options from query parameters: numbers arrive as text."""
    data: dict[str, Any] = {}
    for name in FIELDS:
        raw = query.get(name)
        if raw is None or raw == "":
            continue
        if name in ("engine", "camera"):
            data[name] = raw
            continue
        try:
            data[name] = int(raw)
        except ValueError:
            raise HttpError(400, f"?{name}= must be a whole number") from None
    return from_mapping(data)


def from_mapping(data: Mapping[str, Any]) -> RenderOptions:
    return RenderOptions(
        engine=_name(data, "engine", upper=True),
        width=_int(data, "width", 1, MAX_RENDER_SIZE),
        height=_int(data, "height", 1, MAX_RENDER_SIZE),
        samples=_int(data, "samples", 1, MAX_RENDER_SAMPLES),
        camera=_name(data, "camera"),
        frame=_int(data, "frame", -1_048_574, 1_048_574),  # Blender's frame range
    )


def _int(data: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise HttpError(400, f"{name!r} must be a whole number")
    if not low <= value <= high:
        raise HttpError(400, f"{name!r} must be between {low} and {high}")
    return value


def _name(data: Mapping[str, Any], name: str, *, upper: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"{name!r} must be a non-empty string")
    return value.upper() if upper else value
