"""The one error shape, as the add-on answers it: {"ok": false, "error": {"type", "message"}}."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from blender_http_addon.errors import error_body
from blender_http_addon.protocol import STATUS_TYPES


class GatewayError(Exception):
    """A request that ends in an error status in the gateway itself."""

    def __init__(self, status: int, message: str, *, type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or STATUS_TYPES.get(status, "Error")
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.type, self.message, headers=self.headers)


def error_response(status: int, type: str, message: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(type, message, **extra), status_code=status, headers=headers)
