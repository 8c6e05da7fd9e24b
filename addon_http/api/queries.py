"""Numbers from a request's query string, checked against their bounds (400 otherwise)."""

from __future__ import annotations

from ..errors import HttpError
from ..http.request import Request
from .exec_request import parse_timeout


def int_query(req: Request, name: str, default: int, low: int, high: int) -> int:
    return int(float_query(req, name, default, low, high))


def float_query(req: Request, name: str, default: float, low: float, high: float) -> float:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise HttpError(400, f"?{name}= must be a number") from None
    if not low <= value <= high:
        raise HttpError(400, f"?{name}= must be between {low:g} and {high:g}")
    return value


def timeout_query(req: Request) -> float | None:
    """?timeout= in seconds, for routes whose work runs as a job."""
    return parse_timeout(req.query.get("timeout"))
