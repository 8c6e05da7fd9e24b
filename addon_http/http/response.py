"""What the application answers: status, headers and a body that is bytes or a stream of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import json_text
from ..errors import HttpError


class Response:
    def __init__(self, *, status: int = 200, body: bytes = b"",
                 content_type: str = "application/json",
                 headers: dict[str, str] | None = None,
                 stream: Iterator[bytes] | None = None, length: int | None = None,
                 close: bool = False) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers if headers is not None else {}
        # A stream is sent with Content-Length when length is known, chunked otherwise.
        self.stream = stream
        self.length = length
        self.close = close

    @classmethod
    def json(cls, data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        # ensure_ascii keeps lone surrogates from user strings encodable.
        body = json_text.dumps(data).encode("ascii")
        return cls(status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def error(cls, exc: HttpError) -> Response:
        """The JSON error shape for exc, with its status and headers."""
        return cls.json(exc.body(), status=exc.status, headers=exc.headers)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status=status, content_type="application/json")

    def discard(self) -> None:
        """Release a stream that will not be sent (HEAD)."""
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()
