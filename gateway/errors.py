"""The one error shape, as the add-on answers it: {"ok": false, "error": {"type", "message"}}."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

STATUS_TYPES = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 413: "PayloadTooLarge", 415: "UnsupportedMediaType",
    422: "ValidationError", 500: "InternalError", 502: "BadGateway", 503: "Unavailable",
    504: "Timeout",
}


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


def error_body(type: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": {"type": type, "message": message, **extra}}


def error_response(status: int, type: str, message: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(type, message, **extra), status_code=status, headers=headers)
