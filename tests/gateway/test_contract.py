"""The gateway repeats no part of the add-on's contract by hand: the limits, patterns, error
types and route names of its OpenAPI document are those of blender_http_addon.protocol."""

from __future__ import annotations

import re
from typing import Any

import pytest

from blender_http_addon import protocol
from blender_http_gateway.app import create_app
from blender_http_gateway.errors import GatewayError
from blender_http_gateway.settings import GatewaySettings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The OpenAPI document, built in process (no backend is started or reached)."""
    return create_app(GatewaySettings(backends=["http://127.0.0.1:9"])).openapi()


def _string(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional field's schema."""
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


def _parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    parameters = document["paths"][path][method]["parameters"]
    return _string(next(p["schema"] for p in parameters if p["name"] == name))


def _body(document: dict[str, Any], path: str, media: str = protocol.JSON) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"][media]["schema"]
    return schema


def test_session_and_code_patterns_are_the_protocols(document: dict[str, Any]) -> None:
    exec_body = _body(document, protocol.EXEC)["properties"]
    session = _string(exec_body["session"])["pattern"]
    assert session == _parameter(document, "/sessions/{name}", "delete", "name")["pattern"]
    assert session == f"^(?:{protocol.SESSION_NAME})$"
    for name in ("demo", "a.b-c_1", "x" * 64, "", "x" * 65, "a b", "a/b"):
        assert bool(re.search(session, name)) == bool(protocol.SESSION_NAME_PATTERN.fullmatch(name)), name
    code = exec_body["code"]["pattern"]
    assert code == _body(document, protocol.EXEC, "text/plain")["pattern"]
    assert code == f"^(?:{protocol.CODE})$"
    for text in ("1", " x ", "", "   ", "a\x00b"):
        assert bool(re.search(code, text)) == bool(re.fullmatch(protocol.CODE, text)), text


def test_limits_are_the_protocols(document: dict[str, Any]) -> None:
    render = _body(document, protocol.RENDER)["properties"]
    assert _string(render["width"])["maximum"] == protocol.MAX_RENDER_SIZE
    assert _string(render["height"])["maximum"] == protocol.MAX_RENDER_SIZE
    assert _string(render["samples"])["maximum"] == protocol.MAX_RENDER_SAMPLES
    for side in ("width", "height"):
        assert _parameter(document, protocol.SCREENSHOT, "get", side)["maximum"] == protocol.MAX_RENDER_SIZE
    assert _parameter(document, protocol.SCENE, "get", "limit")["maximum"] == protocol.MAX_SCENE_PAGE
    assert _parameter(document, "/jobs/{job_id}", "get", "wait")["maximum"] == protocol.MAX_LONG_POLL_S
    timeout = _string(_body(document, protocol.EXEC)["properties"]["timeout"])
    assert (timeout["exclusiveMinimum"], timeout["maximum"]) == (0, protocol.MAX_TIMEOUT_S)
    assert _string(_body(document, protocol.JOBS)["properties"]["timeout"]) == timeout


def test_routes_are_the_protocols(document: dict[str, Any]) -> None:
    # OpenAPI writes a path template without Starlette's converters ({path:path} is {path}).
    paths = {re.sub(r":\w+}", "}", route) for route in (
        protocol.HEALTH, protocol.EXEC, protocol.JOBS, protocol.SESSIONS, protocol.SESSION,
        protocol.FILES, protocol.FILE, protocol.SCENE, protocol.OBJECT, protocol.VERTICES,
        protocol.RENDER, protocol.SCREENSHOT, protocol.EXPORT, protocol.IMPORT)}
    assert paths <= set(document["paths"]), paths - set(document["paths"])


def test_error_types_are_the_protocols() -> None:
    for status, type in protocol.STATUS_TYPES.items():
        assert GatewayError(status, "message").type == type
    assert GatewayError(502, "message").type == "BadGateway"
