"""The one error shape of the API: {"ok": false, "error": {"type": ..., "message": ...}}."""

from __future__ import annotations

from typing import Any

from .protocol import STATUS_TYPES


class HttpError(Exception):
    """A request that ends in an error status; the handler turns it into the JSON shape."""

    def __init__(self, status: int, message: str, *, type: str | None = None,
                 headers: dict[str, str] | None = None, close: bool = False,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or STATUS_TYPES.get(status, "Error")
        self.headers = headers or {}
        # True when the connection cannot be reused (e.g. a body left unread).
        self.close = close
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON document for this error."""
        return error_body(self.type, self.message, **self.extra)


def error_body(type: str, message: str, **extra: Any) -> dict[str, Any]:
    """The error document every failing path answers with."""
    return {"ok": False, "error": {"type": type, "message": message, **extra}}
